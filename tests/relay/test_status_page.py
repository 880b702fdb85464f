"""`GET /`: the ops status page, read as an operator's browser renders it (Debian's headless Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from tests.fakes.massive import FakeMassive
from tests.relay.conftest import REPO_ROOT, RelayProcess, has_status, recv_until, subscribe

# The docs' screenshot is refreshed on request only (HONEYDRIP_UPDATE_SCREENSHOT=1), like the alert
# goldens: a plain run writes under tmp_path, so `make test` leaves the tracked file as it was.
DOCS_SCREENSHOT = REPO_ROOT / "docs" / "ops-status.png"
CONTRACT = "Q.O:SPY251219C00650000"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no chromium (`make browser`, or apt-get install chromium): the page is not rendered")
    return found


def render(url: str, tmp_path: Path, *, screenshot: Path | None = None) -> str:
    """The page's DOM after its script has polled a few times; optionally a PNG of it."""
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1200,720",
        "--virtual-time-budget=3500", "--run-all-compositor-stages-before-draw",
    ]  # fmt: skip
    if screenshot is not None:
        subprocess.run(
            [chromium(), *flags, f"--screenshot={screenshot}", url], capture_output=True, timeout=90, check=True
        )
    result = subprocess.run(
        [chromium(), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=90, check=True
    )
    return result.stdout


class _Cards(HTMLParser):
    """Each cluster card's class, state and fields, from the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, dict[str, str]] = {}
        self._card: str | None = None
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        ident = attributes.get("id") or ""
        if tag == "section" and ident.startswith("cluster-"):
            self._card = ident.removeprefix("cluster-")
            self.cards[self._card] = {"class": attributes.get("class") or ""}
        elif self._card and tag in {"dd", "span"}:
            self._field = (attributes.get("class") or "").split(" ")[0] or None

    def handle_data(self, data: str) -> None:
        if self._card and self._field:
            self.cards[self._card][self._field] = self.cards[self._card].get(self._field, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag in {"dd", "span"}:
            self._field = None


def cards(dom: str) -> dict[str, dict[str, str]]:
    parser = _Cards()
    parser.feed(dom)
    return parser.cards


def test_the_status_page_loads_nothing_from_another_host(relay: RelayProcess) -> None:
    response = requests.get(f"{relay.http}/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", response.text)
    assert "/api/ws-health" in response.text


def test_the_status_page_shows_each_cluster_and_turns_red_when_the_upstream_is_lost(
    relay: RelayProcess, massive: FakeMassive, tmp_path: Path
) -> None:
    chromium()
    ws = relay.connect("options")
    subscribe(ws, CONTRACT, expect_acks=1)
    relay.wait_health(lambda b: b["metrics"]["options"]["connectionState"] == "connected", what="options connected")
    massive.emit("options", [{"ev": "Q", "sym": CONTRACT[2:], "bp": 1.0, "ap": 1.1, "t": 1}] * 5)

    before = cards(render(f"{relay.http}/", tmp_path))
    options = before["options"]
    assert "ok" in options["class"].split()
    assert options["state"] == "connected"
    assert options["source"] == "Massive"
    assert options["clients"] == "1"
    assert options["subscriptions"] == "1"
    assert options["last-error"] == "—"
    assert "indices" in before

    # The upstream drops and the key is refused on the way back: the cluster is down, and says why.
    massive.reject_keys = True
    massive.drop("options")
    recv_until(ws, has_status("upstream_disconnected", "refused the relay's API key"), timeout=10)
    refresh = os.environ.get("HONEYDRIP_UPDATE_SCREENSHOT") == "1"
    screenshot = DOCS_SCREENSHOT if refresh else tmp_path / "ops-status.png"
    after = cards(render(f"{relay.http}/", tmp_path, screenshot=screenshot))
    options = after["options"]
    assert "bad" in options["class"].split()
    assert options["state"] == "auth_failed"
    assert "refused" in options["last-error"].lower() or "auth" in options["last-error"].lower()
    assert int(options["reconnects"]) >= 1
    assert screenshot.stat().st_size > 10_000
