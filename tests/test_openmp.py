"""OpenMP threads in cpp_standalone (``prefs.devices.cpp_standalone.openmp_threads``).

The rules whose every-synapse operations write only the synapses themselves run under OpenMP
and still match SPAIC's recordings: full_online (within 1e-5) and PostPreIntSTDP (exactly, with
the recorded random draws). nearest_online and Meta are refused (tests/test_misuse.py): their
pass over every synapse adds into row sums, which Brian2's OpenMP loops do not protect.
"""
import numpy as np
import pytest

from brian_stdp import FullOnlineSTDP, PostPreIntSTDP
from tests.support import standalone
from tests.support.golden import load_golden

THREADS = 2


def _full_job(data):
    rule = FullOnlineSTDP(w_norm=data["params"]["learner"]["w_norm"])
    return dict(rule=rule.to_dict(), w_start=data["w_after_build"], in_spk=data["in_spk"],
                out_spk=data["out_spk"], openmp_threads=THREADS)


def _int_job(data):
    rule = PostPreIntSTDP(max_threshold=int(data["params"]["learner"]["max_threshold"]))
    return dict(rule=rule.to_dict(), w_start=data["w_after_build"], in_spk=data["in_spk"],
                out_spk=data["out_spk"], thresh=data["thresh"], draws=data["rand_draws"],
                openmp_threads=THREADS)


# both rules in one build with OpenMP threads
STANDALONE = standalone.batch("openmp", openmp_threads=THREADS)
STANDALONE.add("openmp:full_online_stdp", lambda: _full_job(load_golden("full_online_stdp")))
STANDALONE.add("openmp:postpreintstdp", lambda: _int_job(load_golden("postpreintstdp")))
pytestmark = [*STANDALONE.marks, pytest.mark.golden]


def test_full_online_with_openmp_threads_matches_spaic(golden):
    data = golden("full_online_stdp")
    weights = STANDALONE.result("openmp:full_online_stdp")["w"]
    np.testing.assert_allclose(weights, data["weight"], atol=1e-5, rtol=0)


def test_int_rule_with_openmp_threads_is_exact(golden):
    data = golden("postpreintstdp")
    weights = STANDALONE.result("openmp:postpreintstdp")["w"]
    np.testing.assert_array_equal(weights, data["weight"])
