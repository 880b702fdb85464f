"""Trades: the lifecycle state machine, the ledger, P&L and days-to-expiry rules (pure, no I/O), and
their rows in Postgres (`store`) and the idempotency records of their actions (`idempotency`), both SQL
on the caller's connection.
"""
