"""Discord: webhook payloads, limits, channels and the delivery engine."""
