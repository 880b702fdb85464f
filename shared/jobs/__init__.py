"""Scheduled jobs: what each is, the frame every run goes through, and how late each may be.

The jobs themselves live in their domains (`shared.bars.ingest`, `shared.signals.scanner`,
`shared.signals.prewarm`, `shared.gamma.job`); a job whose symbols partly failed raises `PartialFailure`.
"""

from shared.jobs.failure import PartialFailure

__all__ = ["PartialFailure"]
