"""The pass over every synapse compiled for cpp_standalone (brian_stdp/rendering/compiled_pass.py).

Where the synapses are all-to-all in Brian2's order the pass takes the dense loop, anywhere else
the flat loop; both give the weights of the runtime targets, which run the same statements as a
``run_regularly``. The targets differ in the last bits (the compiler may fuse or reorder a
multiply and an add), hence 1e-12 and not equality.
"""
import numpy as np
import pytest

from tests.support import standalone
from tests.support.cases import compiled_pass_job as job
from tests.support.targets import simulate

TOL = 1e-12


KINDS = ["all-to-all", "all-to-all, post-major", "sparse"]
RULES = ["nearest", "meta"]
STANDALONE = standalone.batch("float64")
for _rule in RULES:
    for _kind in KINDS:
        STANDALONE.add(f"compiled_pass:{_rule},{_kind}",
                       lambda rule=_rule, kind=_kind: job(rule, kind))


@STANDALONE
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rule_name", RULES)
def test_compiled_pass_gives_the_runtime_weights(rule_name, kind):
    compiled = STANDALONE.result(f"compiled_pass:{rule_name},{kind}")
    runtime = simulate("numpy", job(rule_name, kind))
    np.testing.assert_allclose(compiled["w"], runtime["w"], atol=TOL, rtol=0)
    # the weights moved: the comparison is not between two untouched copies
    assert np.abs(runtime["w"][-1, -1] - runtime["w"][0, 0]).max() > 1e-3
    steps = runtime["w"].shape[0] * runtime["w"].shape[1]
    assert compiled["dense_passes"] == (steps if kind == "all-to-all" else 0)
