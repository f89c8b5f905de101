"""float32: the rules with Brian2's default float type set to float32
(``prefs.core.default_float_dtype = float32``), against SPAIC's recordings, which are float32.

The tolerance is the parity tests' 1e-5. The int rule computes in integers and is not concerned
(its ``halving='float'`` variant keeps float weights; its exactness needs float64).
"""
import numpy as np
import pytest

from brian_stdp import FullOnlineSTDP, MetaNearestOnlineSTDP, NearestOnlineSTDP
from tests.support import standalone
from tests.support.golden import load_golden
from tests.support.targets import simulate

TOL = 1e-5
NAMES = ["nearest_online_stdp", "full_online_stdp", "meta_nearest_online_stdp"]


def _rule(name, learner):
    if name == "meta_nearest_online_stdp":
        return MetaNearestOnlineSTDP(**{k: learner[k] for k in ("Apost", "Apre", "pre_decay",
                                                                "post_decay", "w_min", "w_max")})
    cls = NearestOnlineSTDP if name == "nearest_online_stdp" else FullOnlineSTDP
    return cls(w_norm=learner["w_norm"])


def _job(data, name):
    return dict(rule=_rule(name, data["params"]["learner"]).to_dict(),
                w_start=data["w_after_build"], in_spk=data["in_spk"], out_spk=data["out_spk"],
                float32=True)


# cpp_standalone: the three rules in one float32 build, with Brian2's compiler flags
STANDALONE = standalone.batch("float32", float32=True, optimised=True)
for _name in NAMES:
    STANDALONE.add(f"float32:{_name}", lambda name=_name: _job(load_golden(name), name))


@pytest.mark.golden
@pytest.mark.parametrize("target", ["numpy",
                                    pytest.param("cpp_standalone", marks=STANDALONE.marks)])
@pytest.mark.parametrize("name", NAMES)
def test_float32_matches_spaic_every_step(golden, name, target):
    data = golden(name)
    job = _job(data, name)
    if target == "cpp_standalone":
        weights = STANDALONE.result(f"float32:{name}")["w"]
    else:
        weights = simulate(target, job)["w"]
    assert weights.shape == data["weight"].shape
    np.testing.assert_allclose(weights, data["weight"], atol=TOL, rtol=0)
    # float32 really was used: the float64 run differs from it somewhere.
    job["float32"] = False
    assert np.any(simulate("numpy", job)["w"] != weights)
