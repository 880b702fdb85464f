"""The market cache behind a transaction pooler, as Supabase deploys it (Supavisor; here PgBouncer).

Each transaction may land on another server connection, so coalescing must live inside one
transaction (`pg_advisory_xact_lock`, `set local`) and the fair-use counter in one statement.
PgBouncer in `pool_mode = transaction` in front of this machine's server Postgres shows it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.config import get_settings
from shared.db import reset_for_tests
from shared.db.migrations import migrate
from shared.massive.errors import RateLimitedError
from tests.scratch_database import scratch_database

SERVER = os.environ.get("SERVER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

pytestmark = pytest.mark.real_clock  # a server Postgres does not travel with the session's clock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pooled_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL through PgBouncer (transaction mode) to a fresh, migrated database on the server."""
    binary = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
    if binary is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)")
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip(f"no server Postgres at {SERVER}")
    with scratch_database(SERVER, "hd_pooler") as direct:
        with psycopg.connect(direct) as conn:
            migrate(conn)
        info = psycopg.conninfo.conninfo_to_dict(direct)
        folder = Path(tempfile.mkdtemp(prefix="pgbouncer-", dir="/tmp"))
        folder.chmod(0o777)  # PgBouncer refuses to run as root: it runs as `postgres` and reads this
        port = _free_port()
        (folder / "users.txt").write_text(f'"{info.get("user", "postgres")}" ""\n')
        (folder / "pgbouncer.ini").write_text(
            f"[databases]\n{info['dbname']} = host={info.get('host', '127.0.0.1')} port={info.get('port', 5432)}"
            f" dbname={info['dbname']} user={info.get('user', 'postgres')}\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nauth_type = trust\n"
            f"auth_file = {folder}/users.txt\npool_mode = transaction\ndefault_pool_size = 4\n"
            f"max_client_conn = 100\nunix_socket_dir =\nlogfile = {folder}/log\n"
        )
        command = [binary, str(folder / "pgbouncer.ini")]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "postgres"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"postgresql://{info.get('user', 'postgres')}@127.0.0.1:{port}/{info['dbname']}"
        try:
            for _ in range(50):
                try:
                    psycopg.connect(url, connect_timeout=1).close()
                    break
                except psycopg.OperationalError:
                    time.sleep(0.1)
            monkeypatch.setenv("DATABASE_URL", url)
            monkeypatch.setenv("DB_POOL_MAX_SIZE", "20")
            get_settings.cache_clear()
            reset_for_tests()
            yield url
        finally:
            reset_for_tests()
            get_settings.cache_clear()
            process.terminate()
            process.wait(timeout=10)
            shutil.rmtree(folder, ignore_errors=True)


def _at_once(count: int, work: Any) -> None:
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        work()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def test_twenty_simultaneous_misses_cost_one_fetch_behind_the_pooler(pooled_url: str) -> None:
    from shared.market_data.cache import fetch_through

    fetched: list[int] = []
    answers: list[bool] = []

    def fetch() -> dict[str, float]:
        fetched.append(1)
        time.sleep(0.3)
        return {"spot": 601.2}

    _at_once(20, lambda: answers.append(fetch_through("chain:SPY:2026-12-18", 2.0, fetch, wait_s=5).hit))
    assert (len(fetched), len(answers), answers.count(False)) == (1, 20, 1)


def test_a_refusal_is_fetched_once_and_told_to_everyone_behind_the_pooler(pooled_url: str) -> None:
    from shared.market_data.cache import fetch_through

    fetched: list[int] = []
    refused: list[int] = []

    def fetch() -> None:
        fetched.append(1)
        time.sleep(0.2)
        raise RateLimitedError("HTTP 429")

    def ask() -> None:
        try:
            fetch_through("chain:QQQ:2026-12-18", 2.0, fetch, wait_s=5)
        except RateLimitedError:
            refused.append(1)

    _at_once(10, ask)
    assert (len(fetched), len(refused)) == (1, 10)


def test_the_fair_use_count_holds_behind_the_pooler(pooled_url: str) -> None:
    from shared.db import service_tx
    from shared.market_data.fair_use import take

    admin = uuid.uuid4()
    allowed: list[bool] = []
    while time.time() % 60 > 57:  # all fifteen in one clock minute, which is what the counter counts
        time.sleep(0.2)

    def one() -> None:
        with service_tx() as conn:
            allowed.append(take(conn, admin, 10).allowed)

    _at_once(15, one)
    assert sorted(allowed) == [False] * 5 + [True] * 10
