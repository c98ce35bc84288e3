"""The pure engine: business calendars, the SLA clock, the escalation matrix and the planner.

No I/O and no wall clock: every function that depends on time takes ``now``.
"""
