"""float32: the rules with Brian2's default float type set to float32
(``prefs.core.default_float_dtype = float32``), against SPAIC's recordings, which are float32.

The tolerance is the parity tests' 1e-5. The int rule computes in integers and is not concerned
(its ``halving='float'`` variant keeps float weights; its exactness needs float64).
"""
import numpy as np
import pytest

from brian_stdp import FullOnlineSTDP, MetaNearestOnlineSTDP, NearestOnlineSTDP
from targets import simulate

TOL = 1e-5


def _rule(name, learner):
    if name == "meta_nearest_online_stdp":
        return MetaNearestOnlineSTDP(**{k: learner[k] for k in ("Apost", "Apre", "pre_decay",
                                                                "post_decay", "w_min", "w_max")})
    cls = NearestOnlineSTDP if name == "nearest_online_stdp" else FullOnlineSTDP
    return cls(w_norm=learner["w_norm"])


@pytest.mark.parametrize("target", ["numpy", "cpp_standalone"])
@pytest.mark.parametrize("name", ["nearest_online_stdp", "full_online_stdp",
                                  "meta_nearest_online_stdp"])
def test_float32_matches_spaic_every_step(golden, name, target):
    data = golden(name)
    job = dict(rule=_rule(name, data["params"]["learner"]).to_dict(),
               w_start=data["w_after_build"], in_spk=data["in_spk"], out_spk=data["out_spk"],
               float32=True)
    weights = simulate(target, job)["w"]
    assert weights.shape == data["weight"].shape
    np.testing.assert_allclose(weights, data["weight"], atol=TOL, rtol=0)
    # float32 really was used: the float64 run differs from it somewhere.
    job["float32"] = False
    assert np.any(simulate("numpy", job)["w"] != weights)
