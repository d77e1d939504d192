"""Failures of the environment rather than of the input.

A missing package or model, or a server that cannot be reached, fails every record the same
way: a batch run stops at the first one, with one message saying what to install or start,
instead of writing the same error against every record.
"""


class EnvironmentFailure(RuntimeError):
    """This machine cannot run the requested part; the message says what to install or start."""
