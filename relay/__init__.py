"""The market-data relay: capped upstream sockets to Massive fanned out to every admin."""
