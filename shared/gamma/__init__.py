"""Gamma exposure snapshots: the chain shaped for the maths, and the rows the job stores and the API reads."""
