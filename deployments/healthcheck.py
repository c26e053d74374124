"""Container healthcheck: exit 0 when the URL answers 2xx within the timeout, else 1.

Usage: python deployments/healthcheck.py URL [TIMEOUT_SECONDS]. Standard library only, so it
runs in any of the wheelflow containers without curl.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def healthy(url: str, timeout: float = 4.0) -> bool:
    """True when ``url`` answers with a 2xx status within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: healthcheck.py URL [TIMEOUT_SECONDS]", file=sys.stderr)
        return 2
    return 0 if healthy(argv[1], float(argv[2]) if len(argv) == 3 else 4.0) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
