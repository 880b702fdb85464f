"""Trades: the lifecycle state machine, P&L and days-to-expiry rules (pure, no I/O)."""
