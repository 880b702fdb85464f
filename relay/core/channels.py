"""Massive channel names per cluster: parsing, validation and normalisation (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.identifiers import IdentifierError, ascii_identifier, ascii_upper
from shared.symbols import INDEX_SYMBOLS, OCC_BODY


class Cluster(StrEnum):
    """A Massive market the relay serves; its value is the upstream URL path and our WS path."""

    OPTIONS = "options"
    INDICES = "indices"


WILDCARD = "*"
# Massive refuses `Q.*` on options (OPRA quote bandwidth), so only these may be wildcards there.
EVENTS: Mapping[Cluster, frozenset[str]] = {
    Cluster.OPTIONS: frozenset({"T", "Q", "A", "AM"}),
    Cluster.INDICES: frozenset({"V", "A", "AM"}),
}
WILDCARD_EVENTS: Mapping[Cluster, frozenset[str]] = {
    Cluster.OPTIONS: frozenset({"T", "A", "AM"}),
    Cluster.INDICES: frozenset({"V", "A", "AM"}),
}
# Quotes and index values describe a current level, so a lagging client only needs the latest.
CONFLATED_EVENTS: Mapping[Cluster, frozenset[str]] = {
    Cluster.OPTIONS: frozenset({"Q"}),
    Cluster.INDICES: frozenset({"V"}),
}
QUOTE_EVENT = "Q"
MAX_CHANNEL_LENGTH = 64

# One OCC grammar with the trades (shared/symbols.py): roots of letters and digits.
_OPTION_SYMBOL = re.compile(rf"O:{OCC_BODY}")
_INDEX_SYMBOL = re.compile(r"I:[A-Z0-9][A-Z0-9._^-]{0,15}")
# Anything shaped EV.SYMBOL in prose; callers keep only names they hold, so a false candidate
# such as "e.g." costs nothing.
_NAMED_CHANNEL = re.compile(r"(?<![A-Za-z0-9.:])[A-Za-z]{1,2}\.(?:\*|[A-Za-z0-9:._^-]+)")


class ChannelError(ValueError):
    """One requested channel that cannot be served, and why."""

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"{channel}: {reason}")
        self.channel = channel
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Channel:
    """A validated Massive channel: event type and symbol (`*` for every symbol)."""

    ev: str
    sym: str

    @property
    def name(self) -> str:
        return f"{self.ev}.{self.sym}"

    @property
    def is_wildcard(self) -> bool:
        return self.sym == WILDCARD

    def __str__(self) -> str:
        return self.name


def split_params(params: str | Iterable[str]) -> list[str]:
    """The raw channel names in a `params` value: comma-joined text or a list of such texts."""
    pieces = [params] if isinstance(params, str) else list(params)
    names: list[str] = []
    for piece in pieces:
        names.extend(part.strip() for part in piece.split(",") if part.strip())
    return names


def parse_channel(cluster: Cluster, raw: str) -> Channel:
    """Validate one channel name for `cluster`; `V.SPX` on indices becomes `V.I:SPX`."""
    shown = raw[:MAX_CHANNEL_LENGTH]
    if len(raw) > MAX_CHANNEL_LENGTH:
        raise ChannelError(shown, f"longer than {MAX_CHANNEL_LENGTH} characters")
    try:
        # NFKC, ASCII only, then ASCII upper case: "Q.O:ſPY…" is refused, never subscribed as SPY.
        folded = ascii_upper(ascii_identifier(raw))
    except IdentifierError as error:
        raise ChannelError(shown, str(error)) from None
    ev, dot, sym = folded.partition(".")
    if not dot or not ev or not sym:
        raise ChannelError(shown, "expected EV.SYMBOL, e.g. Q.O:SPY251219C00650000")
    if ev not in EVENTS[cluster]:
        allowed = ", ".join(sorted(EVENTS[cluster]))
        raise ChannelError(shown, f"unknown event type {ev!r} on {cluster}: use one of {allowed}")
    if sym == WILDCARD:
        if ev not in WILDCARD_EVENTS[cluster]:
            raise ChannelError(shown, f"{ev}.* is not allowed on {cluster}: subscribe to contracts")
        return Channel(ev, WILDCARD)
    if cluster is Cluster.OPTIONS:
        if not _OPTION_SYMBOL.fullmatch(sym):
            raise ChannelError(shown, "not an option contract like O:SPY251219C00650000")
        return Channel(ev, sym)
    if not sym.startswith("I:"):
        # The bare shorthand is for the indices everyone means by it; `V.SPY` is not `V.I:SPY`.
        if sym not in INDEX_SYMBOLS:
            known = ", ".join(sorted(INDEX_SYMBOLS))
            raise ChannelError(shown, f"{sym} is not an index: use an I: symbol like I:SPX ({known} may be bare)")
        sym = f"I:{sym}"
    if not _INDEX_SYMBOL.fullmatch(sym):
        raise ChannelError(shown, "not an index symbol like I:SPX")
    return Channel(ev, sym)


def parse_channels(cluster: Cluster, params: str | Iterable[str]) -> tuple[list[Channel], list[ChannelError]]:
    """Each channel in `params` validated on its own: (valid ones without repeats, errors)."""
    valid: list[Channel] = []
    seen: set[Channel] = set()
    errors: list[ChannelError] = []
    for raw in split_params(params):
        try:
            channel = parse_channel(cluster, raw)
        except ChannelError as error:
            errors.append(error)
            continue
        if channel not in seen:
            seen.add(channel)
            valid.append(channel)
    return valid, errors


def event_symbol(cluster: Cluster, event: Mapping[str, Any]) -> str | None:
    """The symbol an upstream event is about: `sym`, or `T` for index values."""
    key = "T" if cluster is Cluster.INDICES and event.get("ev") == "V" else "sym"
    value = event.get(key)
    return value if isinstance(value, str) else None


def named_channels(text: str) -> list[str]:
    """Channel-shaped names in a message (`not authorized for: Q.O:…,V.I:SPX`), upper-cased, in order.

    A name ending a sentence comes back twice, with and without its trailing dots, since an
    index symbol may itself contain dots.
    """
    names: list[str] = []
    for match in _NAMED_CHANNEL.finditer(text):
        name = match.group().upper()
        names.append(name)
        bare = name.rstrip(".")
        if bare != name and "." in bare:
            names.append(bare)
    return list(dict.fromkeys(names))
