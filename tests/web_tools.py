"""What the web-app tests need from the machine: npm (and Chromium for the browser test).

Outside CI a missing tool skips the test; with CI=true it fails (.ci/run installs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[1] / "web"
IN_CI = os.environ.get("CI") == "true"
NPM_ENV = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}


def need(tool: str) -> str:
    """The path of ``tool``, or skip (fail in CI) naming how to install it."""
    found = shutil.which(tool)
    if found is None:
        message = f"{tool} is not installed (apt-get install -y chromium; Node.js 20 with npm)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def node_modules() -> Path:
    """web/node_modules, installed from package-lock.json (``npm ci``) when missing."""
    need("npm")
    if not (WEB / "node_modules" / ".bin").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, env=NPM_ENV, check=True)
    return WEB / "node_modules"


def web_build() -> Path:
    """web/dist, built (``npm run build``) when missing."""
    node_modules()
    if not (WEB / "dist" / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=WEB, env=NPM_ENV, check=True)
    return WEB / "dist"
