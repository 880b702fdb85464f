"""The member protocol on Redis: every message between relay processes, typed, with one encoder and
one decoder (pure: bytes in, bytes out).

Where each travels:
- the control channel (`<prefix>:ctl`), from the leader to every member: `Leader`, `Released`,
  `UpstreamStatus`, `UpstreamState`, `UpstreamRefused`;
- the intents channel (`<prefix>:intents`), from a member to the leader: `Intent`;
- a member's inbox (`<prefix>:inbox:<member>`), from the leader: `Verdict`;
- a member's key (`<prefix>:member:<member>`), refreshed every second: `Snapshot`.

Each message is a JSON object whose `t` names its kind. Members of the version before this module
sent intents, verdicts and snapshots without `t`: `decode` takes the kind a channel implies, so
members of both versions understand each other during a rolling restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal, TypeAlias

import orjson
from pydantic import Field, TypeAdapter, ValidationError

from relay.core.channels import ChannelError, Cluster
from relay.core.frames import Status

Kind: TypeAlias = Literal["leader", "released", "status", "state", "refused", "intent", "verdict", "snapshot"]


class MessageError(ValueError):
    """Bytes that are not a message of the member protocol."""


@dataclass(frozen=True, slots=True)
class Leader:
    """A member took the lease: `member` leads with fencing token `token`."""

    token: int
    member: str
    t: Literal["leader"] = "leader"


@dataclass(frozen=True, slots=True)
class Released:
    """The leader of term `token` stood down: its upstream sockets are closed."""

    token: int
    t: Literal["released"] = "released"


@dataclass(frozen=True, slots=True)
class UpstreamStatus:
    """A status the leader's link of `cluster` would have told local clients (connected, lost, …)."""

    token: int
    cluster: Cluster
    status: Status
    message: str | None
    state: str
    t: Literal["status"] = "status"


@dataclass(frozen=True, slots=True)
class UpstreamState:
    """The leader's periodic word on the upstream of `cluster` (repairs a member that missed news)."""

    token: int
    cluster: Cluster
    connected: bool
    state: str
    t: Literal["state"] = "state"


@dataclass(frozen=True, slots=True)
class UpstreamRefused:
    """Massive answered the leader's socket of `cluster` with an error status."""

    token: int
    cluster: Cluster
    message: str
    t: Literal["refused"] = "refused"


@dataclass(frozen=True, slots=True)
class Intent:
    """A member's change of the channels it holds in `cluster`; `rid` when it waits for the verdict."""

    member: str
    seq: int
    cluster: Cluster
    sub: tuple[str, ...] = ()
    unsub: tuple[str, ...] = ()
    rid: str | None = None
    t: Literal["intent"] = "intent"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The leader's answer to a member: the channels of `cluster` it refused, each with its reason."""

    rid: str | None
    cluster: Cluster
    refused: tuple[tuple[str, str], ...] = ()
    t: Literal["verdict"] = "verdict"

    @property
    def errors(self) -> list[ChannelError]:
        return [ChannelError(name, reason) for name, reason in self.refused]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one member holds, and how many clients it serves, per cluster."""

    node: str
    seq: int
    held: dict[Cluster, tuple[str, ...]]
    clients: dict[Cluster, int] = field(default_factory=dict)
    t: Literal["snapshot"] = "snapshot"


Control: TypeAlias = Leader | Released | UpstreamStatus | UpstreamState | UpstreamRefused
Message: TypeAlias = Control | Intent | Verdict | Snapshot

_MESSAGE: TypeAdapter[Message] = TypeAdapter(Annotated[Message, Field(discriminator="t")])


def encode(message: Message) -> bytes:
    """The message as the JSON bytes published or stored in Redis."""
    return orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS)


def decode(raw: bytes | str, implied: Kind | None = None) -> Message:
    """The message in `raw`, or MessageError; `implied` is the kind of a message that names none."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise MessageError(f"not JSON: {error}") from None
    if implied is not None and isinstance(data, dict) and "t" not in data:
        data = {**data, "t": implied}
    try:
        return _MESSAGE.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]["msg"]
        raise MessageError(f"not a member message: {error.error_count()} problem(s), first: {first}") from None
