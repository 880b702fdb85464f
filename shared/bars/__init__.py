"""Historical bars: the timeframes we keep and how they are stored."""
