"""Each area's Lambda entry point: serverless.yml names `functions/api/handlers.<area>`.

Importing this module imports no area. The handler Lambda runs (`_HANDLER`) builds its own area in
Lambda's init (functions/web/lambda_adapter.py); the other handlers here stay unbuilt names.
"""

from __future__ import annotations

from functions.web.lambda_adapter import AreaHandler, area_handler


def _handler(name: str, area: str = "") -> AreaHandler:
    return area_handler(area or f"functions.api.{name}", f"{__name__.replace('.', '/')}.{name}")


# One per module in functions.api.AREAS (tests/foundation/test_lambda_handlers.py holds them equal).
health = _handler("health")
watchlist = _handler("watchlist")
discord_channels = _handler("discord_channels")
deliveries = _handler("deliveries")
trades = _handler("trades", "functions.api.trades.routes")
alerts = _handler("alerts")
openapi = _handler("openapi")
bars = _handler("bars")
signals = _handler("signals")
docs = _handler("docs")
gamma = _handler("gamma")
challenges = _handler("challenges")
market = _handler("market")
