"""Determinism across targets and long runs against the NumPy reference.

The soak length is ``BRIAN_STDP_SOAK_STEPS`` (default 10000 in CI); the full check is
``BRIAN_STDP_SOAK_STEPS=100000 python -m pytest tests/test_reliability.py``.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from brian_stdp import (FullOnlineSTDP, MetaNearestOnlineSTDP, NearestOnlineSTDP,
                        PostPreIntSTDP, reference)
from conftest import random_spikes
from targets import simulate

HERE = os.path.dirname(os.path.abspath(__file__))
SOAK_STEPS = int(os.environ.get("BRIAN_STDP_SOAK_STEPS", "10000"))
RUN_STEPS = 1000


def test_same_seed_same_weights_in_every_target(tmp_path):
    """numpy, cython and cpp_standalone: the same seed gives the same weights for all four
    rules in one closed-loop network (the int rule's stochastic rounding included)."""
    results = {}
    for target in ("numpy", "cython", "cpp_standalone"):
        out = tmp_path / f"{target}.npz"
        proc = subprocess.run([sys.executable, os.path.join(HERE, "determinism_network.py"),
                               target, str(out), str(tmp_path / "build")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results[target] = dict(np.load(out))
    for target in ("cython", "cpp_standalone"):
        for name in ("nearest", "full", "meta"):
            # Same spikes, same operations; only the order of float additions in row sums may
            # differ between numpy's vectorised sums and the compiled loops.
            np.testing.assert_allclose(results[target][name], results["numpy"][name],
                                       rtol=0, atol=1e-12, err_msg=f"{name} in {target}")
        np.testing.assert_array_equal(results[target]["int"], results["numpy"]["int"])
    # the network learned something (otherwise equality would be empty)
    assert results["numpy"]["int"].std() > 0


def _soak_case(rule_name, seed=0, n_pre=8, n_post=3):
    rng = np.random.default_rng(seed)
    n_runs = max(1, SOAK_STEPS // RUN_STEPS)
    in_spk = random_spikes(rng, n_runs, RUN_STEPS, n_pre, 0.15)
    out_spk = random_spikes(rng, n_runs, RUN_STEPS, n_post, 0.1)
    if rule_name == "int":
        return in_spk, out_spk, rng.integers(0, 110, (n_post, n_pre)).astype(float), rng
    return in_spk, out_spk, rng.random((n_post, n_pre)) * 0.5, rng


@pytest.mark.parametrize("rule_name", ["nearest", "full", "meta"])
def test_soak_float_rules_match_reference(rule_name):
    rule = {"nearest": NearestOnlineSTDP(Apost=0.05, Apre=0.02, w_norm=2.0),
            "full": FullOnlineSTDP(Apost=0.05, Apre=0.02, w_norm=2.0),
            "meta": MetaNearestOnlineSTDP(Apost=0.05, Apre=0.02)}[rule_name]
    in_spk, out_spk, w_start, _ = _soak_case(rule_name)
    weights = simulate("cython", dict(rule=rule.to_dict(), w_start=w_start, in_spk=in_spk,
                                      out_spk=out_spk))["w"]
    expected = reference.simulate(rule_name, w_start, in_spk, out_spk, rule.namespace())
    if rule_name == "meta":
        expected = expected[0]
    assert np.all(np.isfinite(weights))
    if rule_name != "meta":
        assert weights.min() >= 0 and weights.max() <= 1
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-5)


def test_soak_int_rule_exact_with_shared_draws():
    rule = PostPreIntSTDP(max_threshold=400)
    in_spk, out_spk, w_start, rng = _soak_case("int")
    n_runs, n_steps, n_post = out_spk.shape
    thresh = 213 + 66 * np.cumsum(out_spk, axis=1)          # grows with spikes, reset per run
    thresh = thresh * (rng.random(thresh.shape) < 0.97)     # and sometimes drops
    draws = rng.integers(0, 2 ** 14, (n_runs, n_steps, 2, n_post, in_spk.shape[2]))
    weights = simulate("cython", dict(rule=rule.to_dict(), w_start=w_start, in_spk=in_spk,
                                      out_spk=out_spk, thresh=thresh, draws=draws))["w"]
    expected = reference.simulate("int", w_start, in_spk, out_spk,
                                  {"max_threshold": 400}, thresh=thresh, draws=draws)
    np.testing.assert_array_equal(weights, expected)
    assert weights.min() >= 0 and weights.max() <= 109
    assert (np.diff(weights.reshape(-1, n_post, in_spk.shape[2]), axis=0) < 0).any()  # halved
