"""``wheelflow run``: the whole pipeline once, with progress, then the top opportunities."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run", help="run the whole wheel pipeline once and print the top opportunities"
    )
    p.add_argument("--date", type=dt.date.fromisoformat, help="synthetic market date (YYYY-MM-DD)")
    p.add_argument("--symbols", help="comma-separated underlyings (default: the watchlist)")
    p.add_argument("--strategy-file", help="strategy TOML (default: WHEELFLOW_STRATEGY_FILE)")
    p.add_argument("--top", type=int, default=10, help="rows per strategy to print")
    p.add_argument("--quiet", action="store_true", help="no progress display, Prefect logs shown")
    p.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="also write the chains, bars and feeds fetched to DIR/<date>/*.parquet",
    )
    p.add_argument(
        "--as-of",
        metavar="TIME",
        help="replay the snapshot recorded at TIME (UTC, as in the recording) instead of fetching",
    )
    p.add_argument(
        "--replay",
        type=Path,
        metavar="DIR",
        help="the recording --as-of reads (default: WHEELFLOW_FILES_PATH)",
    )
    p.set_defaults(func=_run)


_NOISY_LOGGERS = ("httpx", "great_expectations", "validations", "wheelflow", "py.warnings")


class _RunLogsOffConsole(logging.Filter):
    """Drops Prefect's flow- and task-run records (state changes, tracebacks) from a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(("prefect.flow_runs", "prefect.task_runs"))


def _run(args: argparse.Namespace) -> int:
    import os
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from wheelflow import progress
    from wheelflow.runtime import engine_for, provider_from_settings
    from wheelflow.settings import configure_prefect_home, get_settings

    if not args.quiet and "prefect" not in sys.modules:
        # The progress bar tells the story; Prefect's INFO lines would garble it. Only before
        # Prefect is imported (a fresh process): then it reads this once.
        # Only the console handler is quieted: INFO records still reach the Prefect server.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    console = Console(width=None if Console().is_terminal else 120)
    settings = get_settings()
    engine_for(settings.resolved_database_url)  # an unreachable database: one line, before Prefect
    configure_prefect_home(settings)
    provider = provider_from_settings(settings)
    if args.date is not None:
        if provider.name != "synthetic":
            console.print("[red]--date only applies to the synthetic market[/red]")
            return 2
        from wheelflow.providers.synthetic import SyntheticMarket

        provider = SyntheticMarket(
            seed=settings.synthetic_seed,
            as_of=args.date,
            universe_size=settings.synthetic_universe_size,
        )
    if args.as_of is not None:
        provider = _replay(args, settings)
    if args.record is not None:
        from wheelflow.providers.recording import recording

        provider = recording(provider, args.record)
    symbols = [s.strip().upper() for s in args.symbols.split(",")] if args.symbols else None

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=args.quiet,
    ) as bar:
        job = bar.add_task("starting Prefect (local ephemeral mode)", total=None)

        def on_stage(stage: str, done: int, total: int) -> None:
            bar.update(job, description=stage, completed=done, total=total or None)

        from flows.pipeline import wheel_pipeline

        # After Prefect has configured logging (or it resets the levels); restored afterwards.
        muted = () if args.quiet else _NOISY_LOGGERS
        saved = {name: logging.getLogger(name).level for name in muted}
        for name in muted:
            logging.getLogger(name).setLevel(logging.ERROR)
        # The run's outcome is printed below in one line per problem: the flow and task runs'
        # own tracebacks stay in the Prefect UI (API log handler), off this console.
        console_filter = _RunLogsOffConsole()
        handlers = [] if args.quiet else logging.getLogger().handlers
        for handler in handlers:
            handler.addFilter(console_filter)
        try:
            with progress.listening(on_stage):
                summary = wheel_pipeline(
                    provider=provider, strategy_file=args.strategy_file, symbols=symbols
                )
        finally:
            for name, level in saved.items():
                logging.getLogger(name).setLevel(level)
            for handler in handlers:
                handler.removeFilter(console_filter)
    engine = engine_for(settings.resolved_database_url)
    _print_summary(console, summary, engine, args.top)
    if summary.get("delivery"):  # the run delivered its alerts (or queued them for workers)
        console.print(summary["delivery"])
    return 0


def _replay(args: argparse.Namespace, settings: Any) -> Any:
    """The ``files`` provider over the recording, at the snapshot ``--as-of`` names."""
    from wheelflow.errors import ConfigError
    from wheelflow.providers.recording import open_recording

    directory = args.replay or settings.files_path
    if directory is None:
        raise ConfigError("--as-of needs a recording: --replay DIR or WHEELFLOW_FILES_PATH")
    return open_recording(directory, settings.exercise_style, snapshot=args.as_of)


def _print_summary(console: Any, summary: dict[str, Any], engine: Any, top: int) -> None:
    from rich.table import Table
    from rich.text import Text

    from wheelflow.queries_cli import run_rankings
    from wheelflow.reports import CLI_COLUMNS, TOP_COLUMNS, top_rows

    rankings = run_rankings(engine, summary["run_id"])
    console.print(
        f"[bold]wheel_pipeline[/bold] run {summary['run_id']}: {summary['underlyings']} "
        f"underlyings, {summary['contracts']:,} contracts, {summary['rankings']} candidates, "
        f"{summary['new_alerts']} new alerts"
    )
    failures: dict[str, str] = summary.get("fetch_failures") or {}
    if failures:
        console.print(Text(fetch_failure_line(failures), style="yellow"), soft_wrap=True)
    for strategy, title in (("csp", "Cash-secured puts"), ("cc", "Covered calls")):
        table = Table(title=f"Top {title}", title_justify="left")
        keep = [i for i, (col, _, _) in enumerate(TOP_COLUMNS) if col in CLI_COLUMNS]
        for i in keep:
            header = TOP_COLUMNS[i][1]
            table.add_column(header, justify="left" if header == "Symbol" else "right")
        rows = top_rows(rankings, strategy, top)
        for row in rows:
            table.add_row(*(row[i] for i in keep))
        if rows:
            console.print(table)
        else:
            console.print(f"[dim]No {title.lower()} passed the screen.[/dim]")


def fetch_failure_line(failures: dict[str, str]) -> str:
    """One line for the symbols whose chains could not be fetched, with the first one's cause."""
    names = sorted(failures)
    more = names[1:]
    shown = ", ".join(more[:5]) + (", ..." if len(more) > 5 else "")
    also = f" (and {len(more)} more: {shown})" if more else ""
    return f"chains unavailable for {names[0]}{also}: {failures[names[0]]}"
