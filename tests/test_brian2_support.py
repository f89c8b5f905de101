"""The Brian2 versions brian_stdp supports, and the internals it relies on, checked at import."""
import configparser
import os
import re
import subprocess
import sys

import pytest

from brian_stdp import brian2_private

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_setup_cfg_declares_the_supported_range():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    requirement = [line.strip() for line in config["options"]["install_requires"].splitlines()
                   if line.strip().startswith("brian2")]
    low, high = brian2_private.SUPPORTED_BRIAN2
    assert requirement == [f"brian2>={low},<={high}"]


@pytest.mark.parametrize("version", ["2.7", "2.7.1", "2.8.0.4", "2.9.0"])
def test_supported_versions_are_accepted(version):
    brian2_private.check_brian2_version(version)


@pytest.mark.parametrize("version", ["2.6.0", "2.9.0.1", "2.9.1", "2.10.0", "3.0"])
def test_other_versions_are_refused_naming_the_range(version):
    low, high = brian2_private.SUPPORTED_BRIAN2
    with pytest.raises(ImportError, match=re.escape(f"supports Brian2 {low} to {high}")
                       + ".*" + re.escape(f"found Brian2 {version}")):
        brian2_private.check_brian2_version(version)


def test_importing_the_package_with_an_unsupported_brian2_fails_at_once():
    code = ("import brian2; brian2.__version__ = '2.10.0'\n"
            "try:\n    import brian_stdp\nexcept ImportError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert "found Brian2 2.10.0" in result.stdout, result.stderr


def test_the_internals_of_the_installed_brian2_are_as_used():
    brian2_private.check_internals()
    assert len(brian2_private._internals()) >= 10


def test_a_changed_internal_is_named_with_its_use_and_the_change(monkeypatch):
    """Each check looks at the real Brian2 object: changing one makes import fail with what
    changed, and a vanished one too."""
    from brian2.core.clocks import Clock
    from brian2.synapses.synapses import SummedVariableUpdater

    def changed_init(self, expression, target, synapses, group, size, index):
        pass

    monkeypatch.setattr(SummedVariableUpdater, "__init__", changed_init)

    def set_interval(self, start, end):
        self._end_step = end

    monkeypatch.setattr(Clock, "set_interval", set_interval)
    with pytest.raises(ImportError) as raised:
        brian2_private.check_internals()
    message = str(raised.value)
    assert "the rules' row sums into a helper group" in message
    assert "where ['self', 'expression', 'target_varname'" in message
    assert "Clock._i_end (used for the last step of a run): no longer refers to _i_end" \
        in message
    assert message.count("\n- ") == 2   # the others are unchanged
    vanished = [("brian2.Gone", "nothing", lambda: Clock._gone)]
    with pytest.raises(ImportError, match=r"brian2.Gone \(used for nothing\): AttributeError"):
        brian2_private.check_internals(vanished)


def test_nox_has_a_session_for_each_end_of_the_range_and_ci_runs_the_older_ones():
    """noxfile.py's versions span setup.cfg's range (its lowest minor version and its highest
    release); .ci/run runs every one but the suite's own (the newest)."""
    import ast

    with open(os.path.join(ROOT, "noxfile.py")) as handle:
        tree = ast.parse(handle.read())
    (versions,) = [ast.literal_eval(node.value) for node in tree.body
                   if isinstance(node, ast.Assign)
                   and getattr(node.targets[0], "id", None) == "BRIAN2"]
    low, high = brian2_private.SUPPORTED_BRIAN2
    for version in versions:
        brian2_private.check_brian2_version(version)
    assert high in versions and any(v.startswith(low + ".") for v in versions), versions
    with open(os.path.join(ROOT, ".ci", "run")) as handle:
        ci = handle.read()
    for version in versions:   # the suite's own Brian2 is the newest (setup.cfg pins it)
        assert (f"brian2(version='{version}')" in ci) == (version != high)
