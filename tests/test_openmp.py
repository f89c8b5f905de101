"""OpenMP threads in cpp_standalone (``prefs.devices.cpp_standalone.openmp_threads``).

Every rule runs under OpenMP threads and still matches SPAIC's recordings: the float rules within
1e-5, PostPreIntSTDP exactly (with the recorded random draws). nearest_online's and Meta's pass
over every synapse adds into row sums; compiled (brian_stdp/rendering/compiled_pass.py), it
gives each thread its own rows, so their weights with two threads are those of one thread
(the runtime targets', to their last bits) on every connectivity.
"""
import numpy as np
import pytest

from brian_stdp import FullOnlineSTDP, MetaNearestOnlineSTDP, NearestOnlineSTDP, PostPreIntSTDP
from tests.support import standalone
from tests.support.golden import load_golden
from tests.support.cases import compiled_pass_job as random_job
from tests.support.targets import simulate

THREADS = 2
TOL = 1e-12   # against one thread in a runtime target (tests/test_compiled_pass.py)
FLOAT_RULES = {"nearest_online_stdp": NearestOnlineSTDP, "full_online_stdp": FullOnlineSTDP,
               "meta_nearest_online_stdp": MetaNearestOnlineSTDP}


def _float_job(name):
    data = load_golden(name)
    learner = data["params"]["learner"]
    cls = FLOAT_RULES[name]
    # the recording's learner parameters that are the rule's (Meta's ignores SPAIC's w_norm)
    rule = cls(**{key: value for key, value in learner.items()
                  if key in cls.__dataclass_fields__})
    return dict(rule=rule.to_dict(), w_start=data["w_after_build"], in_spk=data["in_spk"],
                out_spk=data["out_spk"])


def _int_job(data):
    rule = PostPreIntSTDP(max_threshold=int(data["params"]["learner"]["max_threshold"]))
    return dict(rule=rule.to_dict(), w_start=data["w_after_build"], in_spk=data["in_spk"],
                out_spk=data["out_spk"], thresh=data["thresh"], draws=data["rand_draws"],
                openmp_threads=THREADS)


# every rule in one build with OpenMP threads
STANDALONE = standalone.batch("openmp", openmp_threads=THREADS)
for _name in FLOAT_RULES:
    STANDALONE.add(f"openmp:{_name}",
                   lambda name=_name: dict(_float_job(name), openmp_threads=THREADS))
STANDALONE.add("openmp:postpreintstdp", lambda: _int_job(load_golden("postpreintstdp")))
COMPILED_CASES = [("nearest", "all-to-all"), ("meta", "all-to-all"), ("nearest", "sparse"),
                  ("meta", "all-to-all, post-major")]
for _rule, _kind in COMPILED_CASES:
    STANDALONE.add(f"openmp:compiled_pass:{_rule},{_kind}",
                   lambda rule=_rule, kind=_kind: random_job(rule, kind,
                                                             openmp_threads=THREADS))
pytestmark = [*STANDALONE.marks]


@pytest.mark.golden
@pytest.mark.parametrize("name", sorted(FLOAT_RULES))
def test_float_rules_with_openmp_threads_match_spaic_and_one_thread(golden, name):
    data = golden(name)
    weights = STANDALONE.result(f"openmp:{name}")["w"]
    np.testing.assert_allclose(weights, data["weight"], atol=1e-5, rtol=0)
    one_thread = simulate("cython", _float_job(name))["w"]
    np.testing.assert_allclose(weights, one_thread, atol=TOL, rtol=0)


@pytest.mark.golden
def test_int_rule_with_openmp_threads_is_exact(golden):
    data = golden("postpreintstdp")
    weights = STANDALONE.result("openmp:postpreintstdp")["w"]
    np.testing.assert_array_equal(weights, data["weight"])


@pytest.mark.parametrize("rule_name, kind", COMPILED_CASES)
def test_compiled_pass_with_openmp_threads_gives_the_one_thread_weights(rule_name, kind):
    """Larger rows than the recordings', split over the threads (dense loop), and connectivity
    that takes the flat loop."""
    compiled = STANDALONE.result(f"openmp:compiled_pass:{rule_name},{kind}")
    runtime = simulate("numpy", random_job(rule_name, kind))
    np.testing.assert_allclose(compiled["w"], runtime["w"], atol=TOL, rtol=0)
    steps = runtime["w"].shape[0] * runtime["w"].shape[1]
    assert compiled["dense_passes"] == (steps if kind == "all-to-all" else 0)
