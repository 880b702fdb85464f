"""Market facts: US market hours, sessions and holidays (`calendar`, from the `xnys_*` tables)."""
