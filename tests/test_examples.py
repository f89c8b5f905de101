"""Every script in examples/ runs, shortened (BRIAN_STDP_EXAMPLE_SHORT=1), and prints evidence
that it did its job.

The examples run once, in the docs build that tests/test_docs.py checks (sphinx-gallery runs
every script of examples/, each from a fresh Brian2 state, and a failing script fails the
build); these tests read what each script printed there instead of running it a second time.
"""
import os

import pytest

from tests.support import ROOT

EXAMPLES = os.path.join(ROOT, "examples")
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
    # printed once numpy and cpp_standalone matched its reference (the script asserts it)
    "user_rule.py": "soft-bound STDP matches its reference",
}


def printed_by(script):
    """What ``script`` printed in the docs build: the output blocks of its gallery page."""
    from tests.support.browser import build_docs
    build_docs()
    page = os.path.join(ROOT, "docs", "auto_examples", script.replace(".py", ".rst"))
    with open(page) as handle:
        parts = handle.read().split(".. rst-class:: sphx-glr-script-out")[1:]
    printed = []
    for part in parts:
        lines = part.splitlines()[1:]
        block = []
        for line in lines:
            if line and not line.startswith(" "):     # the next directive or text
                break
            block.append(line.strip())
        printed.append("\n".join(block))
    return "\n".join(printed)


def test_every_example_is_covered():
    assert sorted(EXPECTED) == SCRIPTS


@pytest.mark.standalone          # standalone_build.py builds a cpp_standalone program
@pytest.mark.xdist_group("docs-build")
@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script):
    assert EXPECTED[script] in printed_by(script)
