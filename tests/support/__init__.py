"""Helpers shared by the tests: golden recordings, random spike trains, open-loop runs, targets,
one cpp_standalone program for many cases, and the networks the cross-target tests build.

Modules that also run in a fresh process do so as ``python -m tests.support.X`` from the
repository root (for example :mod:`.standalone`, a batch of cases in one cpp_standalone build).
No test changes ``sys.path``: ``tests`` is a package, and pytest puts the repository root on it.
"""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def causes(error):
    """The messages of an exception and of what caused it (Brian wraps errors in layers)."""
    messages = []
    while error is not None:
        messages.append(str(error))
        error = error.__cause__
    return "\n".join(messages)
