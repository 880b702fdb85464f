"""Scheduled jobs: what each is, the frame every run goes through, and how late each may be."""
