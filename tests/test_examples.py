"""Every script in examples/ runs, shortened (BRIAN_STDP_EXAMPLE_SHORT=1), in its own process."""
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
SCRIPTS = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))

# What each script must print: evidence it did its job, not just that it exited.
EXPECTED = {
    "minimal_nearest.py": "row sums",
    "minimal_full.py": "normalised each period",
    "minimal_meta.py": "row means",
    "minimal_int.py": "thresholds",
    "standalone_build.py": "presentations from one build",
    "load_template.py": "refused: unknown parameter(s) ['Apots']",
    "learning_windows.py": "four learning windows",
    "weights_over_time.py": "mean weight from the busy inputs",
}


def test_every_example_is_covered():
    assert sorted(EXPECTED) == SCRIPTS


@pytest.mark.parametrize("script", [
    pytest.param(script, marks=pytest.mark.standalone) if script == "standalone_build.py"
    else script for script in SCRIPTS])
def test_example_runs(script, tmp_path):
    env = dict(os.environ, BRIAN_STDP_EXAMPLE_SHORT="1",
               BRIAN_STDP_EXAMPLE_BUILD=str(tmp_path / "build"))
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, script)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert EXPECTED[script] in result.stdout, result.stdout[-2000:]
