"""Write the API's OpenAPI document without starting a server: ``python -m api.schema_dump PATH``.

The web app's TypeScript types are generated from this file (``make web-types``), and a test
fails when the checked-in copy (``web/openapi.json``) differs from what the app produces.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from api.app import create_app
from wheelflow.settings import load_settings


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of ``create_app`` (a throwaway engine; nothing is connected)."""
    settings = load_settings(
        jwt_secret="schema-dump-only-never-signs-anything-0123", live_poll_seconds=0
    )
    app = create_app(settings, engine=create_engine("sqlite://"))
    return app.openapi_schema.to_schema()


def openapi_text() -> str:
    """The document as stable text (sorted keys, one trailing newline)."""
    return json.dumps(openapi_document(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    target = Path(argv[1] if len(argv) > 1 else "web/openapi.json")
    target.write_text(openapi_text(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
