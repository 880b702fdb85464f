"""Alerts: presets, field toggles, the edited prices (effective trade) and the Discord renderer."""
