"""/api/trades: the trade lifecycle over HTTP. `routes` holds the blueprint; `bodies`, `answers` and
`views` are the API's request models, answer models and how a trade becomes one.

Empty on purpose: an area borrowing a piece (challenges' `views.decimal_text`) loads that piece, not
every route of the trades area."""
