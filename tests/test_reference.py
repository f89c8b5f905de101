"""The NumPy reference (the executable spec) against SPAIC's own recordings, every step."""
import numpy as np
import pytest

from brian_stdp import reference
from tests.support.golden import int_reference

TOL = 1e-5  # the recordings are float32


@pytest.mark.golden
def test_nearest_build_pass_matches_spaic(golden):
    data = golden("nearest_online_stdp")
    built = reference.nearest_online_build(data["w_init"], data["params"]["learner"]["w_norm"])
    np.testing.assert_allclose(built, data["w_after_build"], atol=TOL, rtol=0)


@pytest.mark.golden
@pytest.mark.parametrize("name,rule", [("nearest_online_stdp", "nearest"),
                                       ("full_online_stdp", "full")])
def test_trace_rules_every_step(golden, name, rule):
    data = golden(name)
    weights = reference.simulate(rule, data["w_after_build"], data["in_spk"], data["out_spk"],
                                 {"w_norm": data["params"]["learner"]["w_norm"]})
    assert weights.shape == data["weight"].shape
    np.testing.assert_allclose(weights, data["weight"], atol=TOL, rtol=0)


@pytest.mark.golden
def test_meta_every_step(golden):
    data = golden("meta_nearest_online_stdp")
    weights, w_mean = reference.simulate("meta", data["w_after_build"], data["in_spk"],
                                         data["out_spk"])
    np.testing.assert_allclose(weights, data["weight"], atol=TOL, rtol=0)
    np.testing.assert_allclose(w_mean, data["w_mean"][..., 0], atol=TOL, rtol=0)


@pytest.mark.golden
def test_int_exact(golden):
    data = golden("postpreintstdp")
    np.testing.assert_array_equal(int_reference(data), data["weight"])


@pytest.mark.golden
def test_int_halving_float_shift_exact(golden):
    data = golden("postpreintstdp_halving")
    np.testing.assert_array_equal(int_reference(data, float_shift=True), data["weight"])


def test_stochastic_round_is_shift_and_mask():
    x = np.array([0, 1, 16383, 16384, 16385, 127 * 141, -5])
    draws = np.array([0, 1, 16382, 0, 1, 5000, 3])
    expected = (x >> 14) + (draws < (x & 16383))
    np.testing.assert_array_equal(reference.stochastic_round(x, 14, draws), expected)


def test_zero_row_stays_zero_instead_of_nan():
    weight = np.array([[0.0, 0.0], [0.5, 0.25]])
    built = reference.nearest_online_build(weight, w_norm=1.0)
    np.testing.assert_array_equal(built, [[0.0, 0.0], [2 / 3, 1 / 3]])
