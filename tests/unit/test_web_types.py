"""The web app's API types are generated from the API itself and must not go stale.

After changing an endpoint or schema, run ``make web-types`` (rewrites web/openapi.json and
web/src/api/schema.d.ts) and commit both.
"""

from __future__ import annotations

import subprocess

from api.schema_dump import openapi_text
from tests.web_tools import WEB, node_modules

STALE = "stale: run `make web-types` and commit web/openapi.json and web/src/api/schema.d.ts"


def test_checked_in_openapi_document_matches_the_app():
    assert (WEB / "openapi.json").read_text(encoding="utf-8") == openapi_text(), STALE


def test_checked_in_typescript_types_match_the_openapi_document(tmp_path):
    node_modules()
    generated = tmp_path / "schema.d.ts"
    subprocess.run(
        ["npx", "--no-install", "openapi-typescript", "openapi.json", "-o", str(generated)],
        cwd=WEB,
        check=True,
        capture_output=True,
    )
    checked_in = (WEB / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    assert generated.read_text(encoding="utf-8") == checked_in, STALE
