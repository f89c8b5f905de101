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
from tests.support import ROOT, standalone
from tests.support.cases import random_spikes
from tests.support.targets import simulate

SOAK_STEPS = int(os.environ.get("BRIAN_STDP_SOAK_STEPS", "10000"))
RUN_STEPS = 1000


# cpp_standalone: a case of the float64 batch (one build with the other modules' cases)
STANDALONE = standalone.batch("float64")
STANDALONE.add("reliability:determinism", dict,
               builder="tests.support.determinism_network:build")


def _determinism_run(target, tmp_path):
    """The closed-loop network's weights in ``target``, in a fresh process as cpp_standalone."""
    out = tmp_path / f"{target}.npz"
    proc = subprocess.run([sys.executable, "-m", "tests.support.determinism_network",
                           target, str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(np.load(out))


def _assert_same_weights(results, expected, target):
    for name in ("nearest", "full", "meta"):
        # Same spikes, same operations; only the order of float additions in row sums may
        # differ between numpy's vectorised sums and the compiled loops.
        np.testing.assert_allclose(results[name], expected[name], rtol=0, atol=1e-12,
                                   err_msg=f"{name} in {target}")
    np.testing.assert_array_equal(results["int"], expected["int"])
    # the network learned something (otherwise equality would be empty)
    assert expected["int"].std() > 0


# The same seed gives the same weights for all four rules in one closed-loop network (the int
# rule's stochastic rounding included) in numpy and in each compiled target. Two tests, so that
# cython's compiling does not wait for the standalone batch's worker.
@pytest.mark.slow   # cython compiles the four rules' closed loop: minutes with a cold cache
def test_same_seed_same_weights_in_numpy_and_cython(tmp_path):
    _assert_same_weights(_determinism_run("cython", tmp_path),
                         _determinism_run("numpy", tmp_path), "cython")


@STANDALONE
def test_same_seed_same_weights_in_numpy_and_cpp_standalone(tmp_path):
    _assert_same_weights(STANDALONE.result("reliability:determinism"),
                         _determinism_run("numpy", tmp_path), "cpp_standalone")


def _soak_case(rule_name, seed=0, n_pre=8, n_post=3):
    rng = np.random.default_rng(seed)
    n_runs = max(1, SOAK_STEPS // RUN_STEPS)
    in_spk = random_spikes(rng, n_runs, RUN_STEPS, n_pre, 0.15)
    out_spk = random_spikes(rng, n_runs, RUN_STEPS, n_post, 0.1)
    if rule_name == "int":
        return in_spk, out_spk, rng.integers(0, 110, (n_post, n_pre)).astype(float), rng
    return in_spk, out_spk, rng.random((n_post, n_pre)) * 0.5, rng


@pytest.mark.compiler   # the soak runs in cython
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


@pytest.mark.compiler
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


def _learn(rule, stale_traces, plastic=True):
    """Weights after 12 steps of fixed spikes, optionally starting with per-neuron traces
    stamped far after the clock (as state carried into a network whose clock started again)."""
    import brian2 as b2
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = 1 * b2.ms
    source = b2.SpikeGeneratorGroup(3, [0, 1, 2, 0, 1], [1, 2, 3, 5, 8] * b2.ms)
    target = b2.SpikeGeneratorGroup(2, [0, 1, 0], [2, 4, 6] * b2.ms)
    S = rule.synapses(source, target)
    S.connect()
    rule.set_weights(S, np.linspace(0.1, 0.6, 6).reshape(2, 3))
    S.plastic = plastic
    attached = S._brian_stdp
    if stale_traces:
        for group in (attached.pre_state, attached.post_state):
            for name in ("input_trace", "output_trace"):
                if name + "_step" in group.variables:
                    setattr(group, name, 1.0)
                    setattr(group, name + "_step", 10 ** 6)
    b2.run(12 * b2.ms)
    return rule.get_weights(S)


@pytest.mark.parametrize("cls", [NearestOnlineSTDP, FullOnlineSTDP, MetaNearestOnlineSTDP])
def test_traces_stamped_after_the_clock_neither_count_nor_overflow(cls):
    """A trace whose step is after the spike being learned from is ignored: learning gives the
    weights of a fresh start, and frozen learning (whose changes are multiplied by 0) does not
    turn an overflowing decay into 0 * inf = NaN."""
    fresh = _learn(cls(), stale_traces=False)
    stale = _learn(cls(), stale_traces=True)
    assert np.all(np.isfinite(stale))
    np.testing.assert_array_equal(stale, fresh)
    frozen = _learn(cls(), stale_traces=True, plastic=False)
    np.testing.assert_array_equal(frozen, _learn(cls(), stale_traces=False, plastic=False))
    assert not np.array_equal(fresh, frozen)  # the spikes did change the weights
