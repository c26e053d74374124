"""The web app's component tests (Vitest + Testing Library, web/src/**/*.test.ts[x]) run as
part of the pytest suite (its type check runs in ``npm run build``, which .ci/run does first)."""

from __future__ import annotations

import subprocess

from tests.web_tools import NPM_ENV, WEB, node_modules


def test_vitest_component_tests_pass():
    node_modules()
    done = subprocess.run(
        ["npx", "--no-install", "vitest", "run", "--reporter=dot"],
        cwd=WEB,
        env={**NPM_ENV, "CI": "true"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
