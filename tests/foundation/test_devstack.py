"""`make dev`: the whole stack on embedded defaults — API, simulated feed, console Discord — and a clean Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from tests.conftest import MakeToken, bearer, repo_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def contract_in_a_month() -> dict[str, str]:
    expiry = date.today() + timedelta(days=30)
    return {"symbol": f"O:SPY{expiry:%y%m%d}C00650000", "strike": "650", "expiry": expiry.isoformat(), "type": "call"}


def post_an_alert_through_the_console_sink(api: str, headers: dict[str, str]) -> None:
    channel = requests.post(
        f"{api}/api/discord/channels",
        json={"name": "trades", "webhook_url": "https://discord.com/api/webhooks/123456789012345678/local-token"},
        headers=headers,
        timeout=10,
    )
    assert channel.status_code == 201, channel.text
    created = requests.post(
        f"{api}/api/trades",
        json={
            "ticker": "SPY",
            "contract": contract_in_a_month(),
            "action": "load",
            "current_price": "1.20",
            "alert": {"send": True, "channel_ids": [channel.json()["id"]]},
        },
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    deliveries = created.json()["alert"]["deliveries"]
    assert [d["status"] for d in deliveries] == ["sent"]


def a_contract_is_picked_and_loaded_from_the_simulator(api: str, headers: dict[str, str]) -> None:
    """The admin's morning without a key: the chain around the money, then load its ATM call by symbol alone."""
    chain = requests.get(f"{api}/api/market/options/SPY/chain?strikes=2&type=call", headers=headers, timeout=30)
    assert chain.status_code == 200, chain.text
    body = chain.json()
    assert [c["strike"] for c in body["contracts"]] == sorted(c["strike"] for c in body["contracts"])
    (atm,) = [c for c in body["contracts"] if c["atm"]]
    quotes = requests.get(f"{api}/api/market/quotes?symbols=SPY,SPX", headers=headers, timeout=30)
    assert quotes.status_code == 200 and [q["symbol"] for q in quotes.json()["quotes"]] == ["SPY", "I:SPX"]
    loaded = requests.post(f"{api}/api/trades", json={"ticker": "SPY", "contract": atm["occ"], "action": "load"},
                           headers=headers, timeout=30)
    assert loaded.status_code == 201, loaded.text
    answer = loaded.json()
    assert answer["price_sources"]["current_price"] == "snapshot"
    # Within the contract's 2 s life the trade's price is the mid the chain showed, or the next minute's.
    assert answer["snapshot"]["occ"] == atm["occ"] and answer["snapshot"]["mid"] > 0
    assert float(answer["trade"]["current_price"]) == answer["snapshot"]["mid"]


def an_index_value_arrives_from_the_simulator(relay_port: int, token: str) -> None:
    with connect(f"ws://127.0.0.1:{relay_port}/ws/indices?token={token}", open_timeout=10) as ws:
        ws.send(json.dumps({"action": "subscribe", "params": "V.SPX"}))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for event in json.loads(ws.recv(timeout=10)):
                if event.get("ev") == "V":
                    assert event["T"] == "I:SPX"
                    return
        raise AssertionError("no index value from the simulator")


def readme_shell_blocks() -> str:
    """The README's ```sh blocks, in order, as one script (a block uses the variables of those before it)."""
    text = repo_path("README.md").read_text()
    return "\n".join(re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL))


def the_quick_start_runs_as_pasted(api_port: int, env: dict[str, str]) -> str:
    script = readme_shell_blocks().replace("127.0.0.1:8000", f"127.0.0.1:{api_port}")
    assert "curl" in script and "/api/trades" in script
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=repo_path(), env=env,
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


# `make dev` is a subprocess on the real clock: it cannot travel with --clock.
@pytest.mark.real_clock
def test_make_dev_runs_the_stack_and_stops_on_ctrl_c(tmp_path: Path, make_token: MakeToken) -> None:
    api_port, relay_port, sink_port, massive_port = free_port(), free_port(), free_port(), free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "MASSIVE_API_KEY", "MASSIVE_REST_URL", "ALERT_QUEUE_URL", "DISCORD_API_BASE")
        },
        "DEV_API_PORT": str(api_port),
        "DEV_RELAY_PORT": str(relay_port),
        "DEV_DISCORD_SINK_PORT": str(sink_port),
        "DEV_MASSIVE_PORT": str(massive_port),
        "HONEYDRIP_PGDATA": str(tmp_path / "pgdata"),
    }
    token, _ = make_token(email="dev@localhost")
    # In a session of its own, like a terminal's foreground job: Ctrl-C signals the whole group.
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.local.devstack"],
        cwd=repo_path(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
        banner = "".join(output)
        assert f"http://127.0.0.1:{api_port}" in banner, banner
        assert "python -m functions token" in banner
        health = requests.get(f"http://127.0.0.1:{api_port}/api/health", timeout=10)
        assert health.status_code == 200
        assert health.json()["checks"]["database"]["ok"] is True
        assert f"ws://127.0.0.1:{relay_port}/ws/options" in banner
        assert requests.get(f"http://127.0.0.1:{relay_port}/api/health", timeout=10).status_code == 200
        an_index_value_arrives_from_the_simulator(relay_port, token)
        post_an_alert_through_the_console_sink(f"http://127.0.0.1:{api_port}", bearer(token))
        a_contract_is_picked_and_loaded_from_the_simulator(f"http://127.0.0.1:{api_port}", bearer(token))
        assert "python -m websockets" in banner  # a way to try the relay with what the project installs
        assert f"http://127.0.0.1:{api_port}" in banner and "/api/docs" in banner
        assert "REST simulator" in banner and "the built-in simulator" in banner
        quick_start = the_quick_start_runs_as_pasted(api_port, env)
        assert '"status": "ok"' in quick_start  # the jobs' summaries
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=45)
    finally:
        # The whole group: a failed assertion must not leave the API, the relay and the sink running.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == 0, rest
    assert "devstack: stopped" in rest
    assert "📊 LOADING: SPY $650 Call" in rest  # the alert, printed by the console sink
    assert rest.count("SPY $650 Call") >= 5  # the quick start's load, enter, trim and exit printed too
    everything = banner + rest
    assert "Traceback" not in everything, everything
    assert "local-token" not in everything  # the webhook's token, in no log line (the sink's access log included)
    # The embedded Postgres stopped with the API: no server left behind on its data folder.
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()
    for port in (api_port, relay_port, sink_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after Ctrl-C"


def run_devstack(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_overrides}
    return subprocess.run(
        [sys.executable, "-m", "shared.local.devstack"],
        cwd=repo_path(), env=env, capture_output=True, text=True, timeout=30,
    )


def test_make_dev_refuses_a_port_that_is_taken_and_names_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_devstack(
            {"DEV_API_PORT": str(free_port()), "DEV_RELAY_PORT": str(port), "DEV_DISCORD_SINK_PORT": str(free_port())}
        )
    assert result.returncode == 2
    assert f"port {port} (DEV_RELAY_PORT) already in use" in result.stderr
    assert "Honey Drip is running" not in result.stdout


def test_make_dev_names_a_port_variable_that_is_not_a_port() -> None:
    result = run_devstack({"DEV_API_PORT": "abc"})
    assert result.returncode != 0
    assert result.stderr.strip() == "devstack: DEV_API_PORT='abc': must be a port number (1-65535)"
