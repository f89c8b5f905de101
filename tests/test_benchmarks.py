"""The benchmarks compare like with like: the other rendering of nearest_online that
``benchmarks/bench_rules.py --row-passes`` times computes the same weights as the package's."""
import numpy as np
import pytest

from brian_stdp import RULES, NearestOnlineSTDP
from tests.support.openloop import run_open_loop
from tests.support.scripts import load_script


@pytest.mark.golden
def test_row_pass_rendering_of_nearest_matches_spaic(golden):
    import brian2 as b2
    bench_rules = load_script("benchmarks/bench_rules.py")
    data = golden("nearest_online_stdp")
    w_norm = data["params"]["learner"]["w_norm"]
    rule = bench_rules.nearest_with_changed_row_passes(w_norm=w_norm)
    assert rule.row_pass and not any(op[2] == "after_synapses" for op in rule.step_operations)
    b2.defaultclock.dt = 1 * b2.ms
    weights = run_open_loop(b2, rule, data["w_after_build"], data["in_spk"],
                            data["out_spk"])["w"]
    np.testing.assert_allclose(weights, data["weight"], atol=1e-5, rtol=0)
    # and it really is the other rendering, unknown to the package's registry
    assert type(rule) is not NearestOnlineSTDP and type(rule) not in RULES.values()
