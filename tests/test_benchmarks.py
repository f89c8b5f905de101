"""The benchmarks compare like with like: the other rendering of nearest_online that
``benchmarks/bench_rules.py --row-passes`` times computes the same weights as the package's."""
import os
import sys

import numpy as np

from brian_stdp import RULES, NearestOnlineSTDP
from openloop import run_open_loop

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
import bench_rules  # noqa: E402


def test_row_pass_rendering_of_nearest_matches_spaic(golden):
    import brian2 as b2
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
