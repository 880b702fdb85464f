"""Relay fan-out benchmark: delivered events/s, latency, CPU and memory, against a bare broadcast ceiling.

A fake upstream sends F frames/s of up to E quote events over C contracts (each event stamped with
the monotonic send time); N clients each hold K contracts. The same harness then runs against a
bare broadcast server built on the same libraries (gevent, gevent-websocket, websocket-client:
no parsing, no routing, every frame to every client) as the ceiling of this stack.

    .venv/bin/python bench/relay_fanout.py                  # standard case, scaling, both servers
    .venv/bin/python bench/relay_fanout.py --quick          # standard case only
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil

REPO = Path(__file__).resolve().parents[1]
PROXY_TOKEN = "bench-proxy-token-0123456789"
API_KEY = "bench-key"
WARMUP_S = 3.0
MEASURE_S = 8.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def contracts(count: int) -> list[str]:
    return [f"O:SPY261218C{(300_000 + 1_000 * i):08d}" for i in range(count)]


# --- the fake upstream (its own process) --------------------------------------------------------

def upstream_main(port: int, frames_per_s: int, events_per_frame: int, ready: Any) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.server import serve

    def handle(ws: Any) -> None:
        subscribed: list[str] = []
        ws.send(orjson.dumps([{"ev": "status", "status": "connected", "message": "Connected Successfully"}]).decode())
        rng = random.Random(1)
        sender_started = False

        def pump() -> None:
            interval = 1.0 / frames_per_s
            next_at = time.monotonic()
            try:
                while True:
                    next_at += interval
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    if not subscribed:
                        continue
                    picks = rng.sample(subscribed, min(events_per_frame, len(subscribed)))
                    stamp = time.monotonic_ns()
                    frame = [{"ev": "Q", "sym": s[2:], "bx": 302, "ax": 313, "bp": 1.05, "ap": 1.1, "bs": 10,
                              "as": 12, "t": stamp // 1_000_000, "q": i, "bt": stamp} for i, s in enumerate(picks)]
                    ws.send(orjson.dumps(frame).decode())
            except (ConnectionClosed, OSError):
                return

        import threading

        try:
            for message in ws:
                request = orjson.loads(message)
                if request.get("action") == "auth":
                    ws.send(orjson.dumps([{"ev": "status", "status": "auth_success"}]).decode())
                elif request.get("action") == "subscribe":
                    subscribed.extend(n for n in str(request["params"]).split(",") if n.startswith("Q."))
                    if not sender_started:
                        sender_started = True
                        threading.Thread(target=pump, daemon=True).start()
        except (ConnectionClosed, OSError):
            return

    with serve(handle, "127.0.0.1", port, compression=None, max_size=2**24) as server:
        ready.set()
        server.serve_forever()


# --- the bare broadcast server (its own process) -------------------------------------------------

def bare_main(port: int, upstream: str, contract_count: int) -> None:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import websocket
    from gevent.pywsgi import WSGIServer
    from geventwebsocket.handler import WebSocketHandler

    clients: set[Any] = set()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        ws = environ.get("wsgi.websocket")
        if ws is None:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        clients.add(ws)
        try:
            while ws.receive() is not None:
                pass
        finally:
            clients.discard(ws)
        return []

    def relay_upstream() -> None:
        conn = websocket.create_connection(f"{upstream}/options")
        conn.recv()
        conn.send(json.dumps({"action": "auth", "params": API_KEY}))
        conn.recv()
        conn.send(json.dumps({"action": "subscribe", "params": ",".join(f"Q.{c}" for c in contracts(contract_count))}))
        while True:
            frame = conn.recv()
            for ws in list(clients):
                try:
                    ws.send(frame)
                except Exception:
                    clients.discard(ws)

    gevent.spawn(relay_upstream)
    WSGIServer(("127.0.0.1", port), app, handler_class=WebSocketHandler, log=None).serve_forever()


# --- clients (their own processes) ---------------------------------------------------------------
# Plain non-blocking sockets and a minimal frame parser, so that the harness, which shares the two
# cores with the server, costs as little as possible per message: latency comes from the frame's
# send stamp (all events of an upstream frame share it), events are counted without a JSON parse.

def _handshake(host: str, port: int, path: str) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=10)
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(head.decode(errors="replace"))
    return sock


def _client_frame(payload: bytes) -> bytes:
    import struct

    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, 0x80 | length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
    key = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")
    return header + mask + masked


def clients_main(port: int, path: str, bare: bool, assignments: list[list[str]], start_at: float,
                 stop_at: float, out: Any) -> None:
    import selectors

    selector = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytearray] = {}
    wanted: dict[socket.socket, set[bytes]] = {}
    for channels in assignments:
        sock = _handshake("127.0.0.1", port, path)
        sock.sendall(_client_frame(json.dumps({"action": "subscribe", "params": ",".join(channels)}).encode()))
        sock.setblocking(False)
        buffers[sock] = bytearray()
        wanted[sock] = {c[2:].encode() for c in channels}
        selector.register(sock, selectors.EVENT_READ)
    samples: list[tuple[int, int]] = []
    delivered = 0
    while time.monotonic() < stop_at:
        for key, _ in selector.select(timeout=0.1):
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            try:
                chunk = conn.recv(1 << 18)
            except BlockingIOError:
                continue
            if not chunk:
                selector.unregister(conn)
                continue
            now = time.monotonic_ns()
            measuring = time.monotonic() >= start_at
            buffer = buffers[conn]
            buffer += chunk
            offset = 0
            while len(buffer) - offset >= 2:
                length = buffer[offset + 1] & 0x7F
                start = offset + 2
                if length == 126:
                    if len(buffer) - offset < 4:
                        break
                    length = int.from_bytes(buffer[offset + 2:offset + 4], "big")
                    start = offset + 4
                elif length == 127:
                    if len(buffer) - offset < 10:
                        break
                    length = int.from_bytes(buffer[offset + 2:offset + 10], "big")
                    start = offset + 10
                if len(buffer) - start < length:
                    break
                opcode = buffer[offset] & 0x0F
                payload = bytes(buffer[start:start + length])
                offset = start + length
                if opcode != 1 or not measuring:
                    continue
                at = payload.find(b'"bt":')
                if at < 0:
                    continue
                stamp = int(payload[at + 5:payload.index(b"}", at)])
                if bare:
                    held = wanted[conn]
                    count = sum(1 for event in orjson.loads(payload) if event["sym"].encode() in held)
                else:
                    count = payload.count(b'"ev":"Q"')
                delivered += count
                samples.append((now - stamp, count))
            del buffer[:offset]
    out.put((delivered, samples))


@dataclass
class Result:
    server: str
    clients: int
    per_client: int
    contracts: int
    frames_per_s: int
    events_per_frame: int
    delivered_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_pct: float
    rss_mb: float


def worker_process(master: subprocess.Popen[bytes]) -> psutil.Process:
    process = psutil.Process(master.pid)
    children = process.children()
    return children[0] if children else process


def start_relay(port: int, upstream: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASSIVE_", "RELAY_", "SUPABASE_"))}
    env.update({"HONEYDRIP_IGNORE_ENV_FILES": "1", "PORT": str(port), "RELAY_HOST": "127.0.0.1",
                "MASSIVE_API_KEY": API_KEY, "MASSIVE_WS_URL": upstream, "MASSIVE_PROXY_TOKEN": PROXY_TOKEN,
                "RELAY_MAX_CLIENTS": "5000", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json"})
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "relay"], cwd=REPO, env=env, stdout=log, stderr=log)


def start_bare(port: int, upstream: str, contract_count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, "--bare-server", str(port), upstream, str(contract_count)],
                            cwd=REPO)


def wait_http(port: int, path: str) -> None:
    import requests

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def stop(process: subprocess.Popen[bytes] | Any) -> None:
    if isinstance(process, subprocess.Popen):
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    else:
        process.terminate()
        process.join(timeout=5)


def run_case(server: str, clients: int, per_client: int, contract_count: int, frames_per_s: int,
             events_per_frame: int, client_procs: int = 2) -> Result:
    ctx = mp.get_context("spawn")
    upstream_port, server_port = free_port(), free_port()
    ready = ctx.Event()
    upstream = ctx.Process(target=upstream_main, args=(upstream_port, frames_per_s, events_per_frame, ready))
    upstream.start()
    ready.wait(10)
    upstream_url = f"ws://127.0.0.1:{upstream_port}"
    if server == "relay":
        proc = start_relay(server_port, upstream_url, Path("/tmp/relay-bench.log"))
        wait_http(server_port, "/api/health")
        path = f"/ws/options?token={PROXY_TOKEN}"
    else:
        proc = start_bare(server_port, upstream_url, contract_count)
        wait_http(server_port, "/")
        path = "/ws/options"
    all_contracts = contracts(contract_count)
    assignments = [[f"Q.{c}" for c in random.Random(i).sample(all_contracts, per_client)] for i in range(clients)]
    start_at = time.monotonic() + WARMUP_S
    stop_at = start_at + MEASURE_S
    queue = ctx.Queue()
    workers = [ctx.Process(target=clients_main, args=(server_port, path, server == "bare",
                                                      assignments[i::client_procs], start_at, stop_at, queue))
               for i in range(client_procs)]
    for worker in workers:
        worker.start()
    target = worker_process(proc)
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu_before = target.cpu_times()
    wall_before = time.monotonic()
    time.sleep(max(0.0, stop_at - time.monotonic()))
    cpu_after = target.cpu_times()
    wall = time.monotonic() - wall_before
    rss = target.memory_info().rss
    delivered = 0
    samples: list[tuple[int, int]] = []
    for _ in workers:
        count, part = queue.get(timeout=60)
        delivered += count
        samples.extend(part)
    for worker in workers:
        worker.join(timeout=10)
    stop(proc)
    stop(upstream)
    cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / wall * 100
    return Result(server, clients, per_client, contract_count, frames_per_s, events_per_frame,
                  delivered / MEASURE_S, percentile(samples, 0.50), percentile(samples, 0.99), cpu, rss / 2**20)


def percentile(samples: list[tuple[int, int]], quantile: float) -> float:
    """The event-weighted latency quantile in ms (each sample: latency ns, events it carried)."""
    ordered = sorted(samples)
    total = sum(count for _, count in ordered)
    if not total:
        return float("nan")
    seen = 0
    for latency, count in ordered:
        seen += count
        if seen >= quantile * total:
            return latency / 1e6
    return ordered[-1][0] / 1e6


def idle_client_memory(count: int = 1000) -> float:
    """KB of relay RSS per idle, authenticated, subscribed client."""
    upstream_port, server_port = free_port(), free_port()
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    upstream = ctx.Process(target=upstream_main, args=(upstream_port, 1, 1, ready))
    upstream.start()
    ready.wait(10)
    proc = start_relay(server_port, f"ws://127.0.0.1:{upstream_port}", Path("/tmp/relay-bench.log"))
    wait_http(server_port, "/api/health")
    target = worker_process(proc)
    sys.path.insert(0, str(REPO))
    from tests.relay.rawclient import RawClient

    warm = [RawClient("127.0.0.1", server_port, f"/ws/options?token={PROXY_TOKEN}") for _ in range(50)]
    time.sleep(1.0)
    before = target.memory_info().rss
    held = []
    for i in range(count):
        client = RawClient("127.0.0.1", server_port, f"/ws/options?token={PROXY_TOKEN}")
        client.send_json({"action": "subscribe", "params": f"Q.O:SPY261218C{(300_000 + 1_000 * (i % 500)):08d}"})
        held.append(client)
    time.sleep(2.0)
    after = target.memory_info().rss
    for client in held + warm:
        client.close()
    stop(proc)
    stop(upstream)
    return (after - before) / count / 1024


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = psutil.virtual_memory().total / 2**30
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({model}), {memory:.0f} GB RAM, Python {python}, {platform.system()}"


def us_per_event(result: Result) -> float:
    """Server CPU (µs) per useful event delivered: events a client subscribed to and received."""
    return result.cpu_pct / 100 * 1e6 / result.delivered_per_s if result.delivered_per_s else float("nan")


def row(result: Result, ceiling: Result | None = None) -> str:
    ratio = f"{result.delivered_per_s / ceiling.delivered_per_s:.2f}" if ceiling else "–"
    return (f"| {result.server} | {result.clients}×{result.per_client} of {result.contracts} | "
            f"{result.frames_per_s}×{result.events_per_frame} | {result.delivered_per_s:,.0f} | "
            f"{result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.cpu_pct:.0f} % | {us_per_event(result):.2f} | "
            f"{result.rss_mb:.0f} | {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the standard case only")
    parser.add_argument("--bare-server", nargs=3, metavar=("PORT", "UPSTREAM", "CONTRACTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_main(int(args.bare_server[0]), args.bare_server[1], int(args.bare_server[2]))
        return
    print(f"machine: {machine()}")
    print("| server | clients × contracts held | frames/s × events | delivered events/s | p50 ms | p99 ms "
          "| server CPU | CPU µs per useful event | server RSS MB | relay / bare |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    standard = dict(clients=100, per_client=100, contract_count=1000, frames_per_s=100, events_per_frame=50)
    relay = run_case("relay", **standard)
    bare = run_case("bare", **standard)
    print(row(relay, bare), flush=True)
    print(row(bare), flush=True)
    if args.quick:
        return
    for clients in (200, 400, 800, 1600):
        scaled = dict(standard, clients=clients)
        relay_scaled = run_case("relay", **scaled)
        bare_scaled = run_case("bare", **scaled)
        print(row(relay_scaled, bare_scaled), flush=True)
        print(row(bare_scaled), flush=True)
        if relay_scaled.p99_ms > 50:
            break
    for frames in (200, 400, 800):
        relay_scaled = run_case("relay", **dict(standard, frames_per_s=frames))
        print(row(relay_scaled), flush=True)
        if relay_scaled.p99_ms > 50:
            break
    print(f"memory per idle client: {idle_client_memory():.1f} KB (1000 subscribed, idle clients)")


if __name__ == "__main__":
    main()
