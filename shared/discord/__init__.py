"""Discord's webhook API as Discord defines it: webhook URLs, payloads and their limits, rate-limit
headers, what an answer means (`outcome`), and the HTTP client. No database.

The outbox and the engine that sends through this client are `shared.delivery`.
"""
