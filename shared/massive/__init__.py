"""Massive.com (formerly Polygon.io): the REST client the scheduled jobs read market data with."""
