"""Trading signals: the indicators and their saved state (`indicators`, `series`, `warm_state`), the
detectors (`detectors/`) and their scoring (`confluence`), one symbol at one bar (`evaluate`), and the
jobs that run them: the scan (`scanner`, with its SQL in `store`) and the weekend pre-warm (`prewarm`).
"""
