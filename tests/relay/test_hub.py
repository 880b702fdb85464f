"""The hub: ref-counted channels, the upstream diff, the quote cap and routing."""

import json

from relay.core.channels import Cluster, parse_channels
from relay.core.hub import ClusterHub

X = "Q.O:SPY251219C00650000"
Y = "Q.O:SPY251219P00640000"
TRADE_X = "T.O:SPY251219C00650000"


def chans(params: str, cluster: Cluster = Cluster.OPTIONS):
    valid, errors = parse_channels(cluster, params)
    assert not errors
    return valid


def test_first_holder_subscribes_upstream_and_second_does_not() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.upstream_reset()
    hub.subscribe(1, chans(X))
    assert hub.take_upstream_diff().subscribe == (X,)
    hub.subscribe(2, chans(X))
    assert not hub.take_upstream_diff()
    assert hub.holders(X) == 2


def test_last_holder_leaving_unsubscribes_upstream() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(X))
    hub.subscribe(2, chans(X))
    hub.take_upstream_diff()
    hub.unsubscribe(1, chans(X))
    assert not hub.take_upstream_diff()
    hub.remove_client(2)
    diff = hub.take_upstream_diff()
    assert diff.unsubscribe == (X,) and diff.subscribe == ()
    assert hub.active_channels == 0 and not hub.has_channels()


def test_changes_within_a_tick_go_up_as_one_net_diff() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(f"{X},{Y}"))
    hub.unsubscribe(1, chans(Y))
    hub.subscribe(2, chans(TRADE_X))
    diff = hub.take_upstream_diff()
    assert diff.subscribe == (X, TRADE_X) and diff.unsubscribe == ()


def test_a_channel_dropped_and_retaken_within_a_tick_sends_nothing() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(X))
    hub.take_upstream_diff()
    hub.remove_client(1)
    hub.subscribe(2, chans(X))
    assert not hub.take_upstream_diff()


def test_channels_taken_and_released_while_the_upstream_is_down_leave_nothing_pending() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    for strike in range(10_000):
        contract = f"Q.O:SPY251219C{strike:08d}"
        hub.subscribe(1, chans(contract))
        hub.unsubscribe(1, chans(contract))
    assert not hub.has_pending()


def test_a_new_upstream_socket_resubscribes_everything_held_then() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(f"{X},{Y}"))
    hub.take_upstream_diff()
    hub.unsubscribe(1, chans(Y))
    hub.upstream_reset()
    assert hub.take_upstream_diff().subscribe == (X,)


def test_the_1001st_distinct_quote_contract_is_refused_to_its_requester() -> None:
    hub = ClusterHub(Cluster.OPTIONS, max_quote_contracts=3)
    contracts = [f"Q.O:SPY251219C0065{i:04d}" for i in range(4)]
    first = hub.subscribe(1, chans(",".join(contracts[:3])))
    assert len(first.held) == 3
    refused = hub.subscribe(2, chans(contracts[3]))
    assert refused.held == [] and "option quote contracts" in refused.refused[0].reason
    shared = hub.subscribe(2, chans(contracts[0]))
    assert [c.name for c in shared.held] == [contracts[0]]
    trades = hub.subscribe(2, chans("T.*"))
    assert len(trades.held) == 1


def test_releasing_a_quote_contract_makes_room_for_another() -> None:
    hub = ClusterHub(Cluster.OPTIONS, max_quote_contracts=1)
    hub.subscribe(1, chans(X))
    hub.remove_client(1)
    assert hub.subscribe(2, chans(Y)).held


def test_one_client_may_hold_at_most_the_channel_limit() -> None:
    hub = ClusterHub(Cluster.OPTIONS, max_channels_per_client=2)
    outcome = hub.subscribe(1, chans(f"{X},{Y},{TRADE_X}"))
    assert len(outcome.held) == 2
    assert "already holds 2 channels" in outcome.refused[0].reason


def test_routing_gives_each_client_only_its_channels_in_one_frame() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(X))
    hub.subscribe(2, chans(Y))
    hub.subscribe(3, chans("T.*"))
    frame = json.dumps([
        {"ev": "Q", "sym": X[2:], "bp": 1},
        {"ev": "Q", "sym": Y[2:], "bp": 2},
        {"ev": "T", "sym": "O:SPY251219C00650000", "p": 3},
        {"ev": "Q", "sym": "O:NOBODY251219C00650000", "bp": 4},
        {"ev": "status", "status": "success", "message": "subscribed to: x"},
    ])
    routed = hub.route(frame)
    assert json.loads(routed.deliveries[1].payload) == [{"ev": "Q", "sym": X[2:], "bp": 1}]
    assert json.loads(routed.deliveries[2].payload) == [{"ev": "Q", "sym": Y[2:], "bp": 2}]
    assert json.loads(routed.deliveries[3].payload) == [{"ev": "T", "sym": "O:SPY251219C00650000", "p": 3}]
    assert routed.unrouted == 1
    assert routed.statuses == [{"ev": "status", "status": "success", "message": "subscribed to: x"}]


def test_clients_with_the_same_events_share_one_payload() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    for client in range(10):
        hub.subscribe(client, chans(X))
    routed = hub.route(json.dumps([{"ev": "Q", "sym": X[2:]}]))
    payloads = {id(delivery.payload) for delivery in routed.deliveries.values()}
    assert len(routed.deliveries) == 10 and len(payloads) == 1


def test_a_client_holding_a_wildcard_and_a_symbol_gets_the_event_once() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(f"{TRADE_X},T.*"))
    routed = hub.route(json.dumps([{"ev": "T", "sym": TRADE_X[2:]}]))
    assert routed.deliveries[1].events == 1


def test_index_values_route_by_their_T_field() -> None:
    hub = ClusterHub(Cluster.INDICES)
    hub.subscribe(1, chans("V.SPX", Cluster.INDICES))
    routed = hub.route(json.dumps([{"ev": "V", "val": 6000.5, "T": "I:SPX"}, {"ev": "V", "val": 20, "T": "I:VIX"}]))
    assert json.loads(routed.deliveries[1].payload) == [{"ev": "V", "val": 6000.5, "T": "I:SPX"}]


def test_quotes_and_index_values_carry_a_conflation_key_and_trades_do_not() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(f"{X},T.*"))
    routed = hub.route(json.dumps([{"ev": "Q", "sym": X[2:]}, {"ev": "T", "sym": X[2:]}]))
    assert [key for key, _ in routed.deliveries[1].parts] == [X, None]


def test_malformed_upstream_frames_route_nothing() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans("T.*"))
    assert hub.route(b"not json").malformed
    assert hub.route(b'[1, "x", {"ev": 5}, {"no": "ev"}]').deliveries == {}


def test_an_upstream_error_naming_a_held_channel_is_pinned_on_its_holders() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(X))
    hub.subscribe(2, chans(f"{X},{Y}"))
    hub.subscribe(3, chans(Y))
    refusal = hub.refusal(f"not authorized for: {X}")
    assert not refusal.cluster_wide
    assert refusal.channels == {X: frozenset({1, 2})}


def test_an_upstream_error_naming_several_channels_gives_each_holder_its_own() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(X))
    hub.subscribe(2, chans(f"{X},{TRADE_X}"))
    hub.subscribe(3, chans(Y))
    refusal = hub.refusal(f"not authorized for: {X},{TRADE_X},Q.O:NOBODY251219C00650000")
    assert refusal.by_client() == {1: [X], 2: [X, TRADE_X]}


def test_an_upstream_error_naming_an_index_channel_at_a_sentence_end_is_pinned() -> None:
    hub = ClusterHub(Cluster.INDICES)
    hub.subscribe(1, chans("V.SPX", Cluster.INDICES))
    assert hub.refusal("Your plan does not include V.I:SPX.").channels == {"V.I:SPX": frozenset({1})}


def test_an_upstream_error_naming_a_held_wildcard_is_pinned_on_its_holders() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans("T.*"))
    assert hub.refusal("error: T.* not allowed").channels == {"T.*": frozenset({1})}


def test_an_upstream_error_naming_no_held_channel_concerns_the_whole_cluster() -> None:
    hub = ClusterHub(Cluster.OPTIONS)
    hub.subscribe(1, chans(X))
    assert hub.refusal("not authorized for: Q.O:NOBODY251219C00650000").cluster_wide
    assert hub.refusal("authentication required, e.g. send auth first").cluster_wide
