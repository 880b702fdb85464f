"""What only the local stack runs (`make dev`): the devstack, the console stand-in for Discord, the
in-process delivery worker and the jobs' scheduler.

No Lambda zip holds this folder (`deploy/artefacts.py`), so nothing deployed may import it.
"""
