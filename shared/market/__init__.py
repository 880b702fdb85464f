"""Market facts: sessions and hours (`calendar`), gamma exposure of option chains (`gex`)."""
