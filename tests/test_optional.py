"""A missing optional piece (a compiler, Chromium, PostgreSQL, PyTorch, Fashion-MNIST's files)
skips the tests that need it, naming the piece and its install command, except under CI=true,
where it fails them (tests/support/optional.py)."""
import os
import re
import subprocess
import sys

import pytest

from tests.support import ROOT
from tests.support.optional import PIECES, compiler_available, missing, needs_compiler

#: A cython test that compiles as soon as it runs, and tests that do not.
SELECTION = ["tests/test_reliability.py::test_soak_int_rule_exact_with_shared_draws",
             "tests/test_brian2_support.py::test_setup_cfg_declares_the_supported_range"]


@pytest.mark.parametrize("piece", sorted(PIECES))
def test_a_missing_piece_skips_naming_it_and_its_install_command(piece, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    what, _, install = PIECES[piece]
    with pytest.raises(pytest.skip.Exception,
                       match=re.escape(what) + " not found .*: " + re.escape(install)):
        missing(piece)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing(piece)


def test_no_compiler_is_found_where_the_compiler_is_missing(monkeypatch):
    assert compiler_available()   # this machine has one
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    assert not compiler_available()


class _Item:
    def __init__(self, nodeid, *markers):
        self.nodeid, self.markers = nodeid, markers

    def get_closest_marker(self, name):
        return name if name in self.markers else None


def test_the_tests_that_compile_are_known():
    assert needs_compiler(_Item("t.py::test_x", "standalone"))
    assert needs_compiler(_Item("t.py::test_x", "compiler"))
    assert needs_compiler(_Item("t.py::test_x[cython-nearest]"))
    assert needs_compiler(_Item("t.py::test_x[cpp_standalone]"))
    assert not needs_compiler(_Item("t.py::test_x[numpy-nearest]", "slow"))


def _run(env_changes, *selection):
    env = {name: value for name, value in os.environ.items() if name != "CI"}
    env.update(CXX="/nonexistent/c++", CC="/nonexistent/cc", **env_changes)
    return subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider",
                           "-rs", *selection], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_without_a_compiler_the_compiling_tests_skip_and_the_others_run():
    result = _run({}, *SELECTION)
    assert "1 passed, 1 skipped" in result.stdout, result.stdout[-3000:]
    assert "a C++ compiler and make not found" in result.stdout
    assert "apt-get install g++ make" in result.stdout
    result = _run({"CI": "true"}, *SELECTION)
    assert "1 passed, 1 error" in result.stdout, result.stdout[-3000:]   # failed in set-up
