"""`python -m functions serve|token|run`: the API on one port for local use, local admin tokens, and scheduled jobs."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import uuid
from collections.abc import Callable
from datetime import date
from types import FrameType

from werkzeug.serving import make_server

from shared.auth import mint_token
from shared.config import settings_or_exit
from shared.logs import configure_logging

log = logging.getLogger("functions")
# The scheduled jobs that read Massive's REST API (all of them, today).
MASSIVE_JOBS = frozenset({"ingest", "prewarm", "scanner", "gamma"})
# The seed's worker names (its deployment checklist: `pnpm start:composite`, `start:ingestion`), accepted for ours.
JOB_ALIASES = {"composite": "scanner", "ingestion": "ingest"}


def start_scheduler() -> Callable[[], None]:
    """The scheduled jobs in this process (make dev); returns `stop()`."""
    from functions.jobs import run_scheduled
    from shared.local.massive_simulator import use_running_simulator
    from shared.local.scheduler import Scheduler

    problem = use_running_simulator()
    if problem is not None:
        log.warning("the scheduled jobs are not scheduled: %s", problem)
        return lambda: None
    return Scheduler(runner=run_scheduled).start().stop


def serve(host: str, port: int, *, jobs: bool = False) -> int:
    """Serve every area until SIGINT/SIGTERM, then stop cleanly; with `jobs`, run the schedule too."""
    from functions.api import all_blueprints
    from functions.web.app import create_app
    from shared.db import database_url

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    database_url(settings)  # start (and migrate) the embedded database now, not on the first request
    server = make_server(host, port, create_app(all_blueprints()), threaded=True)
    stop_discord_worker = None
    if not settings.alert_queue_url:
        # No SQS locally: the Discord sender and its sweeper run in this process instead.
        from shared.local.delivery_worker import start_local_worker

        stop_discord_worker = start_local_worker()
    stop_scheduler = start_scheduler() if jobs else None

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    log.info("api listening", extra={"url": f"http://{host}:{server.server_port}"})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # One signal stops us; a second one must not interrupt the clean-up (the embedded Postgres
        # is stopped at exit, and an interrupted exit leaves it running with no parent).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.server_close()
        if stop_scheduler is not None:
            stop_scheduler()
        if stop_discord_worker is not None:
            stop_discord_worker()
        log.info("api stopped")
    return 0


def token(user: uuid.UUID, email: str | None, ttl: int, *, member: bool = False) -> int:
    """Print an access token signed with SUPABASE_JWT_SECRET: an admin's, or a member's with `member`."""
    settings = settings_or_exit()
    if settings.supabase_jwt_secret is None and settings.supabase_url is None:
        # Local use: the same secret make dev generates (.local/dev.env), made now if it is not there yet.
        from shared.local.devstack import ensure_local_secret

        ensure_local_secret()
        settings = settings_or_exit()
    if settings.supabase_jwt_secret is None:
        print("SUPABASE_JWT_SECRET is not set: copy it from Supabase (Project Settings → API → JWT secret) into .env",
              file=sys.stderr)
        return 2
    role = None if member else min(settings.admin_role_set)
    secret = settings.supabase_jwt_secret.get_secret_value()
    print(mint_token(secret, user, email=email, ttl_s=ttl, app_role=role))
    return 0


def run_job_now(job: str, *, force: bool, after_close: bool, symbols: list[str] | None) -> int:
    """Run one scheduled job in this process, as its schedule would; 1 when it failed."""
    import json

    from functions.jobs import job_module
    from shared.jobs.progress import TerminalProgress
    from shared.local.massive_simulator import use_running_simulator

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    problem = use_running_simulator() if job in MASSIVE_JOBS else None
    if problem is not None:
        print(f"run {job}: {problem}", file=sys.stderr)
        return 2
    progress = TerminalProgress(job)
    try:
        result = job_module(job).run(
            force=force, after_close=after_close, symbols=symbols, progress=progress
        )
    finally:
        progress.close()
    summary = {"job": job, "status": result.status, "duration_ms": result.duration_ms, "counts": result.counts}
    if result.error:
        summary["error"] = result.error
    print(json.dumps(summary))
    why = nothing_found(job, result.status, result.error, result.counts)
    if why:
        print(f"run {job}: {why}", file=sys.stderr)
    return 1 if result.status == "failed" else 0


def nothing_found(job: str, status: str, error: str | None, counts: dict[str, int]) -> str | None:
    """One line saying why a run produced nothing, or None when it did (or failed, which says why itself)."""
    if status == "skipped":
        hint = " (--force runs it anyway)" if error == "market closed" else ""
        return f"skipped: {error}{hint}"
    if status != "ok" or (counts.get("symbols", 1) > 0 and job != "scanner"):
        return None
    if counts.get("symbols", 0) == 0:
        return "no symbol to work on: the watchlists are empty (POST /api/watchlist, or --symbols SPY)"
    if job == "scanner" and counts.get("signals", 0) == 0:
        if counts.get("stale", 0) == counts["symbols"]:
            return ("0 signals: every symbol's newest bar is minutes old (market closed, or ingest behind);"
                    " `run scanner --replay YYYY-MM-DD --store` stores a past session's signals")
        return "0 signals: no detector fired on the latest bars"
    return None


def replay_now(day: date, symbols: list[str] | None, *, as_json: bool, keep: bool = False) -> int:
    """Replay a stored session through the scanner; prints the signals, and stores them with `keep`."""
    from functions.jobs.scanner import replay_session
    from shared.symbols import SymbolError

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    try:
        count = replay_session(day, symbols, as_json=as_json, out=sys.stdout, keep=keep)
    except SymbolError as error:
        print(f"--symbols: {error}", file=sys.stderr)
        return 2
    if not as_json:
        stored = "; stored for the symbols' watchers (GET /api/signals)" if keep and count else ""
        print(f"{count} signal(s) on {day.isoformat()}{stored}", file=sys.stderr)
        if count == 0:
            print("no signal: are that day's bars stored? (run ingest --force first; `run scanner --replay` reads"
                  " stored bars only)", file=sys.stderr)
    return 0


def _session_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a date like 2026-11-25") from None


def _symbol_list(text: str) -> list[str]:
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    if not symbols:
        raise argparse.ArgumentTypeError("expected symbols like SPY,QQQ")
    return symbols


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve every area over HTTP")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=None, help="default: PORT or 8000")
    serve_cmd.add_argument("--jobs", action="store_true", help="also run the scheduled jobs on their intervals")
    token_cmd = commands.add_parser("token", help="print a local admin token (--member: a non-admin's)")
    token_cmd.add_argument("--user", type=uuid.UUID, default=None, help="user id (default: a new one)")
    token_cmd.add_argument("--email", default=None)
    token_cmd.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    token_cmd.add_argument("--member", action="store_true", help="a signed-in non-admin (no admin app_metadata.role)")
    from shared.jobs.specs import JOBS

    run_cmd = commands.add_parser("run", help="run a scheduled job now")
    run_cmd.add_argument("job", choices=sorted([*JOBS, *JOB_ALIASES]))
    run_cmd.add_argument("--force", action="store_true", help="run even outside market hours")
    run_cmd.add_argument("--after-close", action="store_true", help="as the schedule's run after the close")
    run_cmd.add_argument("--symbols", type=_symbol_list, default=None, help="only these, e.g. SPY,QQQ")
    run_cmd.add_argument(
        "--replay", type=_session_day, default=None, metavar="YYYY-MM-DD",
        help="scanner only: replay that stored session and print the signals that would have fired (writes nothing)",
    )
    run_cmd.add_argument("--json", action="store_true", help="with --replay: one JSON object per signal per line")
    run_cmd.add_argument(
        "--store", action="store_true",
        help="with --replay: also store the signals (and alert the signals channels) as a live scan would",
    )
    args = parser.parse_args(argv)
    if args.command == "run":
        args.job = JOB_ALIASES.get(args.job, args.job)
    if args.command == "run" and (args.replay is not None or args.json or args.store):
        if args.job != "scanner" or args.replay is None:
            parser.error("--replay YYYY-MM-DD (and --json, --store) go with `run scanner` only")
        return replay_now(args.replay, args.symbols, as_json=args.json, keep=args.store)
    if args.command == "run":
        return run_job_now(args.job, force=args.force, after_close=args.after_close, symbols=args.symbols)
    if args.command == "serve":
        return serve(args.host, args.port or settings_or_exit().port, jobs=args.jobs)
    return token(args.user or uuid.uuid4(), args.email, args.ttl, member=args.member)


if __name__ == "__main__":
    raise SystemExit(main())
