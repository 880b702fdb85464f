"""What only the local stack runs (`make dev`): the devstack, the console stand-in for Discord, the
in-process delivery worker and the jobs' scheduler.

The Lambda zip leaves this whole folder out (`deploy/lambda_build.py`), so nothing deployed may import it.
"""
