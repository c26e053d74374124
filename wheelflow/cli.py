"""The ``wheelflow`` command (also ``python -m wheelflow``).

Sub-commands live in ``wheelflow/commands/<name>.py``; each module defines
``register(subparsers)`` and sets ``func`` (taking the parsed args, returning an exit code) on
the parsers it adds. Errors that wheelflow raises on purpose print one clear line and exit 2;
so does an unreachable database, checked before the command runs (``needs_database=False`` on
a parser skips the check for commands that do not use the configured database).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

import wheelflow.commands
from wheelflow import __version__
from wheelflow.errors import WheelflowError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wheelflow",
        description="The options wheel strategy as observable, retryable data pipelines.",
    )
    parser.add_argument("--version", action="version", version=f"wheelflow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(wheelflow.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"wheelflow.commands.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 1
    try:
        if getattr(args, "needs_database", True):
            _check_database()
        return int(func(args) or 0)
    except WheelflowError as exc:
        print(f"wheelflow: error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:  # a database lost mid-command: where, not a traceback
        from wheelflow.dbcheck import describe_failure
        from wheelflow.settings import get_settings

        print(
            f"wheelflow: error: {describe_failure(get_settings().resolved_database_url, exc)}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("wheelflow: interrupted", file=sys.stderr)
        return 130


def _check_database() -> None:
    """Fail fast, in one line, when the configured database is unreachable (before Prefect,
    pandas or Alembic start). Commands that do not use it set ``needs_database=False``."""
    from wheelflow.dbcheck import check
    from wheelflow.settings import get_settings

    check(get_settings().resolved_database_url)
