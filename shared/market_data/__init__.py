"""Market data for people: option chains, contracts and quotes from Massive, shaped and cached (issue 21).

Pure shaping (`expirations`, `chain`, `quotes`) apart from the edges that read Massive and Postgres
(`cache`, `fair_use`, `service`). The request handlers are in `functions/api/market.py`.
"""
