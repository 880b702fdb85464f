"""/api/trades: the trade lifecycle over HTTP. `routes` holds the blueprint and its Lambda; `bodies`,
`answers` and `views` are the API's request models, answer models and how a trade becomes one."""

from functions.api.trades.routes import bp, handler

__all__ = ["bp", "handler"]
