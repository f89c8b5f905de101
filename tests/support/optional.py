"""The optional pieces some tests need, and what such a test does when one is missing.

On a contributor's machine a missing piece skips the test, with a reason that names the piece
and the command that installs it (``pytest -rs`` lists them). Under ``CI=true`` (``.ci/run``
sets it and installs every piece) a missing piece fails the test instead: there, a skip would
hide a test that never ran.
"""
import os
import shlex
import shutil
import sysconfig

import pytest

#: piece -> (what it is, what needs it, how to install it)
PIECES = {
    "torch": ("PyTorch", "the SPAIC-style dense baseline of benchmarks/bench_rules.py",
              "pip install -e '.[test,bench]'"),
    "spaic": ("SPAIC 0.6.3", "SPAIC's own example network in benchmarks/bench_spaic.py",
              "pip install -e '.[test,bench]'"),
    "chromium": ("Chromium", "opening the built docs in a real browser",
                 "apt-get install chromium"),
    "postgresql": ("PostgreSQL's server binaries (initdb, pg_ctl)",
                   "brian-stdp tune on a real PostgreSQL server", "apt-get install postgresql"),
    "compiler": ("a C++ compiler and make", "Brian2's cython target and cpp_standalone builds",
                 "apt-get install g++ make"),
    "fashion-mnist": ("Fashion-MNIST's IDX files in /usr/share/datasets/fashion-mnist",
                      "reading the real Fashion-MNIST", "apt-get install dataset-fashion-mnist"),
}


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(piece):
    """Skip (fail under ``CI=true``) the running test for want of ``piece``."""
    what, needed_for, install = PIECES[piece]
    reason = f"{what} not found ({needed_for}): {install}"
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


def compiler_available():
    """Whether Brian2 can compile here: the C and C++ compilers it will call (``$CC``/``$CXX``,
    else Python's build configuration, as setuptools and cpp_standalone's makefile take them)
    and ``make``."""
    for variable in ("CC", "CXX"):
        command = os.environ.get(variable) or sysconfig.get_config_var(variable) or ""
        words = shlex.split(command)
        if not words or shutil.which(words[0]) is None:
            return False
    return shutil.which("make") is not None


def needs_compiler(item):
    """A test that compiles: a cpp_standalone build (``standalone``), a case of the cython or
    cpp_standalone target (named in its id), or one marked ``compiler`` (a job on its default
    device, a cython run inside a test)."""
    return (item.get_closest_marker("standalone") is not None
            or item.get_closest_marker("compiler") is not None
            or "cython" in item.nodeid or "cpp_standalone" in item.nodeid)
