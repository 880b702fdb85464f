"""Peak memory of a huge option chain through the gamma job's path, and max pain over 20,000 strikes.

    .venv/bin/python bench/hostile_chain.py [--contracts 200000] [--strikes 20000]

The fake Massive REST server (its chain held in this process) serves the chain over loopback; a
fresh child process per way of reading it measures its own peak RSS (`ru_maxrss`):

- `pages`: what `shared/gamma/job.py` does, each 250-contract page reduced into `ChainBuilder`'s
  columns as it arrives, then the three views (`snapshot`);
- `list`: the old way, `option_chain()` holding every contract as a model, then `build_chain`.

Then max pain by sorted strikes and cumulative sums (`pain_by_strike`) over `--strikes` distinct
strikes, timed in this process. It prints Markdown rows for `docs/benchmarks.md`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from shared.gamma.exposure import Chain, max_pain  # noqa: E402
from shared.market import calendar  # noqa: E402
from tests.fakes.massive_rest import FakeMassiveRestServer, synthetic_chain  # noqa: E402

SPOT = 6000.0
LAMBDA_MB = 1024
CEILING_MB = 900


def child(url: str, mode: str) -> int:
    """Read the chain one way, compute the three views; print seconds, peak RSS in MB, contracts placed."""
    from shared.gamma.snapshot import ChainBuilder, build_chain, snapshot
    from shared.massive.rest import MassiveRest, RateLimitBudget, RetryPolicy

    now = datetime.now(UTC)
    client = MassiveRest(url, "test-key", retry=RetryPolicy(budget=RateLimitBudget(0)), rng=random.Random(1),
                         timeout=(3.0, 60.0))
    started = time.perf_counter()
    if mode == "pages":
        builder = ChainBuilder()
        for page in client.option_chain_pages("SPX"):
            builder.add(page)
        arrays = builder.finish(now)
    else:
        arrays = build_chain(client.option_chain("SPX"), now)
    snapshot("I:SPX", arrays, SPOT, taken_at=now, interval_s=300)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds:.2f} {peak_mb:.0f} {len(arrays.chain)}")
    return 0


def measure(url: str, mode: str) -> tuple[float, float, int]:
    result = subprocess.run([sys.executable, __file__, "--child", url, "--mode", mode],
                            capture_output=True, text=True, check=True, timeout=900)
    seconds, peak, placed = result.stdout.split()
    return float(seconds), float(peak), int(placed)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=200_000)
    parser.add_argument("--strikes", type=int, default=20_000)
    parser.add_argument("--child")
    parser.add_argument("--mode", choices=("pages", "list"), default="pages")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.mode)
    today = datetime.now(UTC).astimezone(calendar.NEW_YORK).date()
    with FakeMassiveRestServer() as server:
        server.fake.chains["I:SPX"] = synthetic_chain("I:SPX", SPOT, args.contracts, today=today)
        server.fake.indices["I:SPX"] = {"ticker": "I:SPX", "value": SPOT}
        rows = [(mode, *measure(server.url, mode)) for mode in ("pages", "list")]
    count = args.strikes * 2  # a call and a put at each strike
    strikes = np.repeat(np.arange(args.strikes, dtype=np.float64) * 0.5 + 100.0, 2)
    chain = Chain(strike=strikes, is_call=np.tile([True, False], args.strikes),
                  days_to_expiry=np.zeros(count, np.int64), years_to_expiry=np.full(count, 0.01),
                  gamma=np.full(count, 0.01), iv=np.full(count, 0.2), open_interest=np.full(count, 100.0),
                  volume=np.zeros(count))
    started = time.perf_counter()
    max_pain(chain)
    pain_ms = (time.perf_counter() - started) * 1000
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}; "
          f"{args.contracts:,} contracts ({args.contracts // 250} pages of 250)")
    print()
    print("| way of reading the chain | fetch + three views, s | peak RSS, MB | under 900 MB |")
    print("|---|---|---|---|")
    names = {"pages": "page by page into ChainBuilder (the job)", "list": "every contract as a model (before)"}
    for mode, seconds, peak, placed in rows:
        fits = "yes" if peak < CEILING_MB else f"no (Lambda has {LAMBDA_MB})"
        print(f"| {names[mode]} ({placed:,} placed) | {seconds:.1f} | {peak:.0f} | {fits} |")
    print()
    print(f"max pain over {args.strikes:,} distinct strikes ({count:,} contracts): {pain_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
