"""Gamma exposure of option chains: the maths (`exposure`), the chain shaped for it (`snapshot`), the job
that stores a snapshot per view (`job`), and the rows the API and the scanner read (`store`).

Other areas use `figures` (View, the figures, `GammaLevels`) and `store` (`latest_snapshot`,
`snapshot_history`, `latest_levels`); `exposure` and `snapshot` import numpy, so a route must not.
"""
