"""A hostile Massive: the fake REST server (tests/fakes/massive_rest.py) with a bad day's manners.

Real HTTP on loopback, as the fake it extends. Besides what that one does, on demand it sends
`Retry-After` on its 429s (`0` is the hostile case), trickles every body a byte at a time,
answers every request with a redirect, or gives every listing page a fresh `next_url` forever.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.massive_rest import FakeMassiveRest, FakeMassiveRestServer, _Handler


@dataclass
class HostileMassiveRest(FakeMassiveRest):
    """FakeMassiveRest plus the hostile switches; tests flip them between (or during) calls."""

    # The `Retry-After` header sent with every 429 (None sends none).
    retry_after: str | None = None
    # Seconds between the bytes of every body (0 sends it at once).
    trickle_s: float = 0.0
    # Every answer is a 302 to this URL.
    redirect_to: str | None = None
    # Every listing page carries a new `next_url` (same rows from `cursor`), so paging never ends.
    endless_cursor: bool = False
    _nonce: itertools.count[int] = field(default_factory=itertools.count)

    def answer(self, path: str, query: dict[str, str], authorization: str | None) -> tuple[int, Any]:
        status, body = super().answer(path, query, authorization)
        if self.endless_cursor and status == 200 and isinstance(body, dict) and "results" in body:
            fresh = {**query, "cursor": query.get("cursor", "0"), "nonce": next(self._nonce)}
            body["next_url"] = f"{self.url}{path}?{urlencode(fresh)}"
        return status, body


class _HostileHandler(_Handler):
    fake: HostileMassiveRest

    def do_GET(self) -> None:
        fake = self.fake
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if fake.redirect_to is not None:
            status, body = 302, {"status": "moved"}
            headers["Location"] = fake.redirect_to
        else:
            status, body = fake.answer(split.path, query, self.headers.get("Authorization"))
        if status == 429 and fake.retry_after is not None:
            headers["Retry-After"] = fake.retry_after
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Length"] = str(len(payload))
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if fake.trickle_s:
                for i in range(len(payload)):
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
                    time.sleep(fake.trickle_s)
            else:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should


class HostileMassiveServer(FakeMassiveRestServer):
    """Runs a HostileMassiveRest on a free loopback port in a thread; `with` stops it."""

    handler = _HostileHandler
    thread_name = "hostile-massive"
    fake: HostileMassiveRest

    def __init__(self, fake: HostileMassiveRest | None = None) -> None:
        super().__init__(fake or HostileMassiveRest())

    def __enter__(self) -> HostileMassiveServer:
        self.thread.start()
        return self
