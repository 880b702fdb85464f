"""The HTTP areas: one module = one blueprint (`bp`) = one Lambda (its handler in `handlers`), listed in AREAS.

Each area keeps its request and answer models beside its routes; what every area uses (the app
factory, errors, request parsing, auth, the OpenAPI registry) is in `functions.web`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint

# Each area is a module with `bp`, its routes; functions.api.handlers holds each one's Lambda.
AREAS: tuple[str, ...] = (
    "functions.api.health",
    "functions.api.watchlist",
    "functions.api.discord_channels",
    "functions.api.deliveries",
    "functions.api.trades.routes",
    "functions.api.alerts",
    "functions.api.openapi",
    "functions.api.bars",
    "functions.api.signals",
    "functions.api.docs",
    "functions.api.gamma",
    "functions.api.challenges",
    "functions.api.market",
)


def all_blueprints() -> list[Blueprint]:
    """The blueprint of every area in AREAS."""
    return [importlib.import_module(name).bp for name in AREAS]
