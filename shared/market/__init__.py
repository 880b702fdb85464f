"""Market facts: US market hours and sessions (`calendar`), gamma exposure of option chains (`gex`)."""
