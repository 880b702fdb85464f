"""A subscribe or unsubscribe frame: bounded before any work, answered in bounded bytes (pure).

Each channel held or released is acknowledged on its own, as Massive does. Everything else a frame
earns is summarised: invalid and repeated names in one error, and the channels a limit refused in
one error per limit, each naming a few examples, never one status per name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from relay.core.channels import Channel, ChannelError, Cluster, parse_channels, split_params
from relay.core.frames import Status, StatusEvent, status

EXAMPLES = 3


class TooManyNames(ValueError):
    """A frame naming more channels than one client may hold; refused whole."""


def count_names(params: str | Sequence[str]) -> int:
    """An upper bound on the names in `params`, counted without splitting them."""
    pieces = [params] if isinstance(params, str) else params
    return sum(piece.strip(" ,").count(",") + 1 for piece in pieces if piece.strip(" ,"))


def parse_request(
    cluster: Cluster, params: str | Sequence[str], limit: int
) -> tuple[list[Channel], list[ChannelError], int]:
    """(valid channels without repeats, invalid names, repeats); TooManyNames past `limit` names."""
    if count_names(params) > limit:
        raise TooManyNames(
            f"a frame may name at most {limit} channels (RELAY_MAX_CHANNELS_PER_CLIENT): "
            "the whole frame was refused"
        )
    names = split_params(params)
    valid, errors = parse_channels(cluster, names)
    # Every name is valid, invalid or a repeat of a valid one.
    return valid, errors, len(names) - len(valid) - len(errors)


def _examples(names: Sequence[str]) -> str:
    shown = ", ".join(names[:EXAMPLES])
    more = len(names) - EXAMPLES
    return shown + (f" and {more} more" if more > 0 else "")


def name_problems(errors: Sequence[ChannelError], repeats: int) -> list[StatusEvent]:
    """One error summarising the invalid names (a few with their reasons) and the repeated ones."""
    if not errors and not repeats:
        return []
    if len(errors) == 1 and not repeats:
        return [status(Status.ERROR, f"{errors[0].channel} refused: {errors[0].reason}")]
    parts: list[str] = []
    if errors:
        reasons = "; ".join(f"{e.channel}: {e.reason}" for e in errors[:EXAMPLES])
        more = len(errors) - EXAMPLES
        parts.append(f"{len(errors)} invalid channel names refused ({reasons}" + (f"; and {more} more)" if more > 0
                                                                                    else ")"))
    if repeats:
        parts.append(f"{repeats} repeated names counted once")
    return [status(Status.ERROR, "; ".join(parts))]


def refusals(refused: Iterable[ChannelError]) -> list[StatusEvent]:
    """One error per reason, naming a few of the channels it refused."""
    by_reason: dict[str, list[str]] = {}
    for error in refused:
        by_reason.setdefault(error.reason, []).append(error.channel)
    events: list[StatusEvent] = []
    for reason, names in by_reason.items():
        if len(names) == 1:
            events.append(status(Status.ERROR, f"{names[0]} refused: {reason}"))
        else:
            events.append(status(Status.ERROR, f"{len(names)} channels refused ({reason}): {_examples(names)}"))
    return events
