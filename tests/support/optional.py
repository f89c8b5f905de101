"""The optional pieces some tests need, and what such a test does when one is missing.

On a contributor's machine a missing piece skips the test, with a reason that names the piece
and the command that installs it (``pytest -rs`` lists them). Under ``CI=true`` (``.ci/run``
sets it and installs every piece) a missing piece fails the test instead: there, a skip would
hide a test that never ran.
"""
import os
import shutil

import pytest

#: piece -> (what it is, what needs it, how to install it)
PIECES = {
    "torch": ("PyTorch", "the SPAIC-style dense baseline of benchmarks/bench_rules.py",
              "pip install -e '.[test,bench]'"),
    "chromium": ("Chromium", "opening the built docs in a real browser",
                 "apt-get install chromium"),
    "postgresql": ("PostgreSQL's server binaries (initdb, pg_ctl)",
                   "brian-stdp tune on a real PostgreSQL server", "apt-get install postgresql"),
    "fashion-mnist": ("Fashion-MNIST's IDX files in /usr/share/datasets/fashion-mnist",
                      "reading the real Fashion-MNIST", "apt-get install dataset-fashion-mnist"),
}


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(piece):
    """Skip (fail under ``CI=true``) the running test for want of ``piece``."""
    what, needed_for, install = PIECES[piece]
    reason = f"{what} is not installed ({needed_for}): {install}"
    if in_ci():
        pytest.fail(f"{reason}; CI=true, where every optional piece must be installed "
                    "(.ci/run installs them)", pytrace=False)
    pytest.skip(reason)


def require_module(piece, module):
    """``module`` imported, or the test skipped (failed under CI) for want of ``piece``."""
    try:
        return __import__(module)
    except ImportError:
        missing(piece)


def postgresql_bin_dir():
    """The directory of PostgreSQL's ``initdb`` and ``pg_ctl``, or the test skipped."""
    for version in ("17", "16", "15", "14", "13"):
        directory = f"/usr/lib/postgresql/{version}/bin"
        if os.path.exists(os.path.join(directory, "initdb")):
            return directory
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    missing("postgresql")
