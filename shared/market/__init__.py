"""US market hours and sessions (the NYSE calendar the options market follows)."""
