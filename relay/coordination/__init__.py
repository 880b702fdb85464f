"""How one or many relay processes share one Massive key: its members, the lease, the leader.
"""
