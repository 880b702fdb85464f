"""Channel names: what each cluster accepts, and how each channel is judged on its own."""

import pytest

from relay.core.channels import (
    Channel,
    ChannelError,
    Cluster,
    event_symbol,
    parse_channel,
    parse_channels,
    split_params,
)

OPTIONS, INDICES = Cluster.OPTIONS, Cluster.INDICES


@pytest.mark.parametrize("name", ["T.O:SPY251219C00650000", "Q.O:SPY251219C00650000", "A.O:SPXW251219P05000000",
                                  "AM.O:QQQ260116C00500000", "T.*", "A.*", "AM.*"])
def test_options_accepts_massive_channels(name: str) -> None:
    assert parse_channel(OPTIONS, name).name == name


def test_options_refuses_quote_wildcard_which_massive_refuses() -> None:
    with pytest.raises(ChannelError, match=r"Q\.\* is not allowed"):
        parse_channel(OPTIONS, "Q.*")


@pytest.mark.parametrize(("name", "why"), [("X.O:SPY251219C00650000", "unknown event type"),
                                          ("Q.SPY", "not an option contract"), ("QO:SPY", "expected EV.SYMBOL"),
                                          ("V.I:SPX", "unknown event type"), ("Q." + "A" * 80, "longer than")])
def test_options_refuses_malformed_channels_naming_why(name: str, why: str) -> None:
    with pytest.raises(ChannelError, match=why):
        parse_channel(OPTIONS, name)


def test_indices_value_channel_gets_the_index_prefix() -> None:
    assert parse_channel(INDICES, "V.SPX") == Channel("V", "I:SPX")
    assert parse_channel(INDICES, "v.i:ndx").name == "V.I:NDX"


@pytest.mark.parametrize("name", ["V.SPY", "A.AAPL", "AM.QQQ"])
def test_the_bare_index_shorthand_is_only_for_real_indices(name: str) -> None:
    with pytest.raises(ChannelError, match="is not an index: use an I: symbol like I:SPX"):
        parse_channel(INDICES, name)


def test_indices_refuses_option_events() -> None:
    with pytest.raises(ChannelError, match="unknown event type 'Q'"):
        parse_channel(INDICES, "Q.SPX")


def test_params_may_be_comma_joined_text_or_a_list() -> None:
    assert split_params("Q.O:A, T.*,,") == ["Q.O:A", "T.*"]
    assert split_params(["Q.O:A,T.*", "A.*"]) == ["Q.O:A", "T.*", "A.*"]


def test_each_channel_is_judged_alone_and_repeats_count_once() -> None:
    valid, errors = parse_channels(OPTIONS, "Q.O:SPY251219C00650000,Q.*,Q.O:SPY251219C00650000,T.*")
    assert [c.name for c in valid] == ["Q.O:SPY251219C00650000", "T.*"]
    assert [e.channel for e in errors] == ["Q.*"]


def test_index_values_are_keyed_by_their_T_field() -> None:
    assert event_symbol(INDICES, {"ev": "V", "val": 1.0, "T": "I:SPX"}) == "I:SPX"
    assert event_symbol(INDICES, {"ev": "A", "sym": "I:SPX"}) == "I:SPX"
    assert event_symbol(OPTIONS, {"ev": "Q", "sym": "O:X"}) == "O:X"
    assert event_symbol(OPTIONS, {"ev": "Q"}) is None


@pytest.mark.parametrize("name", ["Q.O:ſPY251219C00650000", "Q.O:SPY251219C00650000\u200b"])
def test_a_channel_name_that_only_case_folding_makes_valid_is_refused(name: str) -> None:
    with pytest.raises(ChannelError):
        parse_channel(Cluster.OPTIONS, name)


def test_a_full_width_channel_name_is_its_ascii_self() -> None:
    assert parse_channel(Cluster.OPTIONS, "ｑ.ｏ:ｓｐｙ251219ｃ00650000").name == "Q.O:SPY251219C00650000"


def test_an_adjusted_contract_with_a_digit_in_its_root_is_the_same_grammar_as_trades() -> None:
    assert parse_channel(Cluster.OPTIONS, "Q.O:SPY1251219C00650000") == Channel("Q", "O:SPY1251219C00650000")
