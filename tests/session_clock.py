"""`pytest --clock=INSTANT`: the whole test session runs as if it were INSTANT, ticking on from there.

CI runs the date-sensitive suites at fixed instants (an evening after the close, a weekend, a holiday,
a DST switch, an early close), so a test that quietly reads the real clock fails on any day, not only
on the evening it happens to run. Tests that need a particular instant pin it themselves with
`@pytest.mark.time_machine(...)`, which nests inside this one.

The database's `now()` must agree with ours, so the embedded Postgres travels too: it is started under
libfaketime (Debian's `faketime`) with the same offset. A server Postgres (DATABASE_URL) cannot travel,
and neither do the Python subprocesses a few tests start: tests that need either are marked
`real_clock` and skipped under `--clock`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

_TRAVEL = pytest.StashKey[time_machine.travel]()
_OFFSET_S = pytest.StashKey[int]()
_LIBFAKETIME = "*/faketime/libfaketime.so.1"  # under /usr/lib, by architecture


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        metavar="INSTANT",
        help="run the session as if it were INSTANT (ISO 8601 with an offset, e.g. 2026-12-03T18:30:00-05:00)",
    )


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise pytest.UsageError(f"--clock {text!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise pytest.UsageError(f"--clock {text!r} needs an offset (Z or ±HH:MM): an instant, not a wall time")
    return instant


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_clock: needs a process or database that cannot travel; skipped under --clock"
    )
    text = config.getoption("--clock")
    if text:
        if os.environ.get("DATABASE_URL"):
            raise pytest.UsageError(
                "--clock runs on the embedded Postgres only: a server's clock cannot travel (unset DATABASE_URL)"
            )
        # Whole seconds, the unit libfaketime's offset takes, so the database and this process agree to
        # within a millisecond. This process runs that millisecond ahead, as without travel: a row the
        # database stamped `now()` is never in this process's future (a retry made due would not be).
        offset = round((_instant(text) - datetime.now(UTC)).total_seconds())
        config.stash[_OFFSET_S] = offset
        travel = time_machine.travel(datetime.now(UTC) + timedelta(seconds=offset, milliseconds=1), tick=True)
        travel.start()
        config.stash[_TRAVEL] = travel


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--clock"):
        skip = pytest.mark.skip(reason="real_clock: runs a process or database that keeps the real time")
        for item in items:
            if item.get_closest_marker("real_clock"):
                item.add_marker(skip)


@contextmanager
def database_clock(config: pytest.Config) -> Iterator[Path | None]:
    """While starting the embedded Postgres, give it the session's clock; yields the data folder it must use.

    Without --clock this yields None (the usual folder). A traveling session gets a throwaway folder of
    its own, since pgserver would reuse a server already running in a shared one, on another clock.
    """
    offset = config.stash.get(_OFFSET_S, None)
    if offset is None:
        yield None
        return
    libraries = sorted(Path("/usr/lib").glob(_LIBFAKETIME))
    if not libraries:
        raise pytest.UsageError("--clock needs libfaketime for the embedded Postgres: apt-get install faketime")
    folder = Path(tempfile.mkdtemp(prefix="honeydrip-pg-clock-"))
    # Registered before pgserver registers its own stop, so it runs after the server has stopped.
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    saved = {name: os.environ.get(name) for name in ("LD_PRELOAD", "FAKETIME")}
    os.environ["LD_PRELOAD"] = str(libraries[0])
    os.environ["FAKETIME"] = f"{offset:+d}"
    try:
        yield folder / "pgdata"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    travel = config.stash.get(_TRAVEL, None)
    if travel is not None:
        travel.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    text = config.getoption("--clock")
    return f"clock: the session runs at {text} (time-machine)" if text else None
