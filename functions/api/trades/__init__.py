"""/api/trades: the trade lifecycle over HTTP. `routes` holds the blueprint; `bodies`,
`answers` and `views` are the API's request models, answer models and how a trade becomes one."""

from functions.api.trades.routes import bp

__all__ = ["bp"]
