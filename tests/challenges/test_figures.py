"""A challenge's figures, each computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from shared.challenges.figures import LinkedTrade, challenge_figures, initial_risk
from shared.challenges.line import ChallengeBook, challenge_field, line_text, with_step
from shared.discord.limits import FIELD_VALUE_MAX, fit_payload, limit_report
from shared.discord.payloads import Embed, WebhookPayload
from shared.trades.ledger import Fill, make_fill

D = Decimal


def buy(contracts: int, price: str) -> Fill:
    return make_fill("buy", D(contracts), D(price))


def sell(contracts: int, price: str) -> Fill:
    return make_fill("sell", D(contracts), D(price))


def trade(state: str, *fills: Fill, mark: str | None = None, stop: str | None = None) -> LinkedTrade:
    return LinkedTrade(uuid.uuid4(), state, fills, D(mark) if mark else None, D(stop) if stop else None)


# A: 2 @ 1.20 → 2 @ 1.80. Gross (1.80 − 1.20) × 2 × 100 = 120.00. Fees 1.30 + 1.30 (0.65 × 2 each
#    side); slippage 0.5 % × price × 200: 1.20 + 1.80. Net 120.00 − 5.60 = +114.40.
#    Risk (1.20 − 0.80) × 2 × 100 = 80.00 → R = 114.40 / 80 = 1.43.
WIN = trade("exited", buy(2, "1.20"), sell(2, "1.80"), mark="1.80", stop="0.80")
# B: 1 @ 2.00 → 1 @ 1.50. Gross −50.00. Fees 0.65 + 0.65; slippage 1.00 + 0.75. Net −50.00 − 3.05 = −53.05.
#    Risk (2.00 − 1.00) × 1 × 100 = 100.00 → R = −0.5305.
LOSS = trade("exited", buy(1, "2.00"), sell(1, "1.50"), mark="1.50", stop="1.00")
# C: 4 @ 1.00, trim 2 @ 1.50, exit 2 @ 0.50. Gross +100.00 − 100.00 = 0. Fees 2.60 + 1.30 + 1.30;
#    slippage 2.00 + 1.50 + 0.50. Net −9.20 (a loss). No stop at entry: no R.
SCRATCH = trade("exited", buy(4, "1.00"), sell(2, "1.50"), sell(2, "0.50"), mark="0.50")
# D: open, 3 @ 1.00 marked at 1.40. Unrealized 0.40 × 3 × 100 = 120.00; charges 1.95 + 1.50. Net +116.55.
OPEN = trade("entered", buy(3, "1.00"), mark="1.40", stop="0.50")
# E: open without a mark: counted open, valued at nothing.
UNPRICED = trade("entered", buy(1, "1.00"))
# F: loaded, no fill yet: counted apart.
LOADED = trade("loaded", mark="1.00")


def test_every_figure_by_hand() -> None:
    figures = challenge_figures(D("10000"), D("15000"), [WIN, LOSS, SCRATCH, OPEN, UNPRICED, LOADED])
    # Realized 114.40 − 53.05 − 9.20 = 52.15; balance 10,000 + 52.15.
    assert figures.realized_pnl == D("52.15")
    assert figures.current_balance == D("10052.15")
    assert figures.open_pnl == D("116.55")
    assert figures.balance_with_open == D("10168.70")
    assert (figures.won, figures.lost, figures.flat, figures.open, figures.loaded) == (1, 2, 0, 2, 1)
    assert (figures.trades, figures.open_unpriced) == (5, 1)
    # 1 won of 3 closed: 33.333… → 33.33.
    assert figures.win_rate == D("33.33")
    # (1.43 − 0.5305) / 2 = 0.44975 → 0.45 (half-up).
    assert figures.average_r == D("0.45")
    assert (figures.largest_win, figures.largest_loss) == (D("114.40"), D("-53.05"))
    # 52.15 / (15,000 − 10,000) × 100 = 1.043 → 1.04.
    assert figures.progress_percent == D("1.04")
    assert figures.target_reached is False


def test_the_charges_in_the_comments_are_the_ledgers() -> None:
    assert [(f.fee, f.slippage) for f in WIN.fills] == [(D("1.30"), D("1.20")), (D("1.30"), D("1.80"))]
    assert [(f.fee, f.slippage) for f in LOSS.fills] == [(D("0.65"), D("1.00")), (D("0.65"), D("0.75"))]
    assert initial_risk(WIN) == D("80.00")
    assert initial_risk(SCRATCH) is None


def test_a_challenge_without_trades_stands_at_its_start() -> None:
    figures = challenge_figures(D("2500"), D("5000"), [])
    assert (figures.current_balance, figures.balance_with_open, figures.progress_percent) == (
        D("2500.00"), D("2500.00"), D("0.00"),
    )
    assert (figures.win_rate, figures.average_r, figures.largest_win, figures.largest_loss) == (None,) * 4
    assert figures.trades == 0


def test_a_flat_trade_is_closed_but_not_a_win() -> None:
    flat = trade("exited", Fill("buy", D(1), D("1.00"), D(0), D(0)), Fill("sell", D(1), D("1.00"), D(0), D(0)))
    figures = challenge_figures(D("1000"), D("2000"), [flat])
    assert (figures.won, figures.lost, figures.flat, figures.win_rate) == (0, 0, 1, D("0.00"))


def test_reaching_the_target_and_going_past_it() -> None:
    # +114.40 on a 1,000 → 1,100 challenge: 114.40 / 100 × 100 = 114.40 %.
    figures = challenge_figures(D("1000"), D("1100"), [WIN])
    assert (figures.current_balance, figures.progress_percent, figures.target_reached) == (
        D("1114.40"), D("114.40"), True,
    )


def test_a_stop_at_or_above_the_entry_gives_no_r() -> None:
    trailed = trade("exited", buy(2, "1.20"), sell(2, "1.80"), stop="1.20")
    assert initial_risk(trailed) is None
    assert challenge_figures(D("1000"), D("2000"), [trailed]).average_r is None


def test_the_line_names_the_balance_win_rate_and_trade_count() -> None:
    figures = challenge_figures(D("10000"), D("15000"), [WIN, LOSS, SCRATCH, OPEN, UNPRICED, LOADED])
    assert line_text(" Road to 15k ", figures) == "Road to 15k · $10,052.15 · 33.33% win rate · 5 trades"
    fresh = challenge_figures(D("10000"), D("15000"), [OPEN])
    assert line_text("Road", fresh) == "Road · $10,000.00 · 1 trade"


def test_the_acted_on_trade_replaces_its_old_self_and_keeps_its_entry_stop() -> None:
    book = ChallengeBook(uuid.uuid4(), "C", D("1000"), D("2000"), (OPEN,))
    exited = with_step(book, OPEN.trade_id, "exited", [*OPEN.fills, sell(3, "1.40")], D("1.40"), D("1.30"))
    assert len(exited.trades) == 1
    assert exited.trades[0].state == "exited" and exited.trades[0].entry_stop == D("0.5")
    # Exit 3 @ 1.40: gross 120.00; charges 1.95 + 1.50 + 1.95 + 2.10 = 7.50; net +112.50.
    assert challenge_figures(D("1000"), D("2000"), exited.trades).current_balance == D("1112.50")


def test_many_long_challenges_fit_discords_limits() -> None:
    books = [ChallengeBook(uuid.uuid4(), "🏆" * 100, D("1000"), D("2000"), (WIN,)) for _ in range(20)]
    field = challenge_field(books)
    assert field is not None
    payload = fit_payload(WebhookPayload(embeds=[Embed(title="t", fields=[field])]))
    assert limit_report(payload.to_json_dict())["within_limits"]
    assert len(payload.embeds[0].fields[0].value) <= FIELD_VALUE_MAX
