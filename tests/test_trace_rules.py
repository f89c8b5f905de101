"""nearest_online and full_online in Brian2 against SPAIC's recordings and the NumPy reference."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brian_stdp import FullOnlineSTDP, NearestOnlineSTDP, reference
from tests.support import standalone
from tests.support.cases import random_case
from tests.support.golden import load_golden
from tests.support.openloop import spike_generator
from tests.support.targets import simulate

TOL = 1e-5  # SPAIC's recordings are float32
RULES = {"nearest_online_stdp": NearestOnlineSTDP, "full_online_stdp": FullOnlineSTDP}


def _golden_job(data, cls, **extra):
    rule = cls(w_norm=data["params"]["learner"]["w_norm"])
    return dict(rule=rule.to_dict(), w_start=data["w_after_build"], in_spk=data["in_spk"],
                out_spk=data["out_spk"], **extra)


def _not_plastic_job(cls, seed):
    in_spk, out_spk, w_start = random_case(seed, 8, 3, 0.4, 0.4)
    return dict(rule=cls(w_norm=2.0).to_dict(), w_start=w_start, in_spk=in_spk,
                out_spk=out_spk, plastic=False)


# This module's cpp_standalone jobs: one build for all of them (and for the other modules'
# jobs of the float64 batch), each test checking its own.
STANDALONE = standalone.batch("float64")
for _name in RULES:
    STANDALONE.add(f"trace_rules:{_name}",
                   lambda name=_name: _golden_job(load_golden(name), RULES[name]))
STANDALONE.add("trace_rules:full_online_stdp,period",
               lambda: _golden_job(load_golden("full_online_stdp"), FullOnlineSTDP, period=True))
STANDALONE.add("trace_rules:nearest,not_plastic",
               lambda: _not_plastic_job(NearestOnlineSTDP, 6))


def _weights(target, case, job):
    if target == "cpp_standalone":
        return STANDALONE.result(case)["w"]
    return simulate(target, job())["w"]


@pytest.mark.golden
@pytest.mark.parametrize("target", [
    "numpy", "cython",
    pytest.param("cpp_standalone", marks=STANDALONE.marks)])
@pytest.mark.parametrize("name", sorted(RULES))
def test_open_loop_matches_spaic_every_step(golden, name, target):
    data = golden(name)
    weights = _weights(target, f"trace_rules:{name}", lambda: _golden_job(data, RULES[name]))
    assert weights.shape == data["weight"].shape
    np.testing.assert_allclose(weights, data["weight"], atol=TOL, rtol=0)


@pytest.mark.golden
@pytest.mark.parametrize("name", sorted(RULES))
def test_period_makes_each_presentation_a_run(golden, name):
    """One long run with ``period`` = the run length replaces the explicit resets."""
    data = golden(name)
    weights = simulate("numpy", _golden_job(data, RULES[name], period=True))["w"]
    np.testing.assert_allclose(weights, data["weight"], atol=TOL, rtol=0)


@pytest.mark.golden
@STANDALONE
def test_period_in_standalone(golden):
    data = golden("full_online_stdp")
    weights = STANDALONE.result("trace_rules:full_online_stdp,period")["w"]
    np.testing.assert_allclose(weights, data["weight"], atol=TOL, rtol=0)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**31), n_pre=st.integers(1, 12), n_post=st.integers(1, 5),
       rate_pre=st.floats(0.0, 0.7), rate_post=st.floats(0.0, 0.7),
       Apost=st.floats(1e-4, 0.5), Apre=st.floats(1e-5, 0.5), decay=st.floats(0.05, 1.0),
       w_norm=st.floats(0.1, 5.0), nearest=st.booleans(), lazy=st.booleans())
def test_random_trains_match_reference(seed, n_pre, n_post, rate_pre, rate_post, Apost, Apre,
                                       decay, w_norm, nearest, lazy):
    in_spk, out_spk, w_start = random_case(seed, n_pre, n_post, rate_pre, rate_post)
    rendering = {}
    if nearest:
        # both renderings of nearest: each row's factor kept apart (the default) or applied
        rendering["row_scaling"] = "lazy" if lazy else "eager"
        rule = NearestOnlineSTDP(Apost=Apost, Apre=Apre, trace_pre=decay, trace_post=decay ** 0.5,
                                 w_norm=w_norm)
        params = rule.namespace()
        expected = reference.simulate("nearest", w_start, in_spk, out_spk, params)
    else:
        rule = FullOnlineSTDP(Apost=Apost, Apre=Apre, trace_decay=decay, w_norm=w_norm)
        expected = reference.simulate("full", w_start, in_spk, out_spk, rule.namespace())
    weights = simulate("numpy", dict(rule=rule.to_dict(), w_start=w_start, in_spk=in_spk,
                                     out_spk=out_spk, **rendering))["w"]
    # Both are float64; the traces are computed in closed form here (pow) and step by step there.
    np.testing.assert_allclose(weights, expected, atol=1e-9, rtol=0)
    assert np.all(weights >= 0) and np.all(weights <= 1)
    if nearest:
        rows = weights.reshape(-1, n_post, n_pre)
        inside = np.all((rows > 0) & (rows < 1), axis=2)  # rows that no bound clamped
        np.testing.assert_allclose(rows.sum(axis=2)[inside], w_norm, rtol=1e-9)
        assert np.all(rows.sum(axis=2) <= w_norm * (1 + 1e-9))


@pytest.mark.parametrize("cls", [NearestOnlineSTDP, FullOnlineSTDP])
def test_not_plastic_changes_nothing(cls):
    job = _not_plastic_job(cls, 5)
    weights = simulate("numpy", job)["w"]
    np.testing.assert_array_equal(weights, np.broadcast_to(job["w_start"], weights.shape))


@STANDALONE
def test_not_plastic_in_standalone():
    w_start = _not_plastic_job(NearestOnlineSTDP, 6)["w_start"]
    weights = STANDALONE.result("trace_rules:nearest,not_plastic")["w"]
    np.testing.assert_array_equal(weights, np.broadcast_to(w_start, weights.shape))


def test_an_overflowing_row_factor_keeps_zero_weights_zero():
    """nearest_online multiplies each row by w_norm / row_sum, taken once per row; where that
    overflows (w_norm near the largest double, a row summing below w_norm / 1.8e308) a zero
    weight must stay 0, as in SPAIC's order of operations, not become 0 * inf = NaN."""
    rng = np.random.default_rng(3)
    in_spk = (rng.random((1, 8, 3)) < 0.3).astype(float)
    out_spk = np.zeros((1, 8, 2))
    w_start = np.array([[0.0, 0.5, 0.25], [0.0, 0.0, 0.1]])   # the second row sums to 0.1
    rule = NearestOnlineSTDP(w_norm=1e308)
    expected = reference.simulate("nearest", w_start, in_spk, out_spk, rule.namespace())
    weights = simulate("numpy", dict(rule=rule.to_dict(), w_start=w_start, in_spk=in_spk,
                                     out_spk=out_spk))["w"]
    assert np.all(np.isfinite(weights))
    np.testing.assert_array_equal(weights, expected)


def test_weights_set_between_run_calls_are_clamped_at_the_next_step():
    """full_online clamps every row on the first step of each run() call, the only place where
    weights can have been set from outside; SPAIC clamps at every step, so weights set out of
    range in the middle of a presentation period are back in range one step later."""
    import dataclasses

    import brian2 as b2
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = 1 * b2.ms
    rng = np.random.default_rng(8)
    n_pre, n_post, steps, half = 4, 3, 20, 10
    in_spk = (rng.random((1, steps, n_pre)) < 0.3).astype(float)
    out_spk = (rng.random((1, steps, n_post)) < 0.3).astype(float)
    w_start = rng.random((n_post, n_pre)) * 0.5
    # no spikes whose change arrives at that step: only the row pass can clamp then
    in_spk[0, half - 2:half] = 0
    out_spk[0, half - 2:half] = 0
    rule = FullOnlineSTDP(Apost=0.05, Apre=0.02, w_norm=2.0)
    source, target = spike_generator(b2, in_spk), spike_generator(b2, out_spk)
    S = rule.synapses(source, target, period=steps * b2.defaultclock.dt)
    S.connect()
    rule.set_weights(S, w_start)
    net = b2.Network(source, target, S)
    net.run(half * b2.defaultclock.dt)
    outside = rule.get_weights(S)
    outside[0] += 1.0
    outside[1, 0] = -0.5
    rule.set_weights(S, outside)
    net.run(b2.defaultclock.dt)      # one step of the same period
    state = reference.full_online_initial_state(w_start)
    for k in range(half + 1):
        if k == half:
            state = dataclasses.replace(state, weight=outside)
        p = in_spk[0, k - 1] if k > 0 else np.zeros(n_pre)
        q = out_spk[0, k - 1] if k > 0 else np.zeros(n_post)
        state = reference.full_online_step(state, p, q, (k + 1) % steps == 0,
                                           **rule.namespace())
    assert outside.max() > 1 and outside.min() < 0
    np.testing.assert_allclose(rule.get_weights(S), state.weight, atol=1e-12, rtol=0)
    # and they count in the sums the period's last step normalises by
    net.run((steps - half - 1) * b2.defaultclock.dt)
    for k in range(half + 1, steps):
        state = reference.full_online_step(state, in_spk[0, k - 1], out_spk[0, k - 1],
                                           (k + 1) % steps == 0, **rule.namespace())
    np.testing.assert_allclose(rule.get_weights(S), state.weight, atol=1e-12, rtol=0)


def _full_online_against_reference(rule, w_start, in_spk, out_spk):
    expected = reference.simulate("full", w_start, in_spk, out_spk, rule.namespace())
    weights = simulate("numpy", dict(rule=rule.to_dict(), w_start=w_start, in_spk=in_spk,
                                     out_spk=out_spk))["w"]
    return weights, expected


def test_full_online_adds_the_pre_and_post_changes_of_one_step_as_one():
    """Where a pre and a post spike of one step meet at a synapse, SPAIC adds one change, the
    sum of both. Added one after the other, two large opposite changes (here +-1e6) round a
    small weight by up to half an ulp of 1e6 (6e-11), which the normalisation of a row of
    small weights makes a difference of 1e-4."""
    rule = FullOnlineSTDP(Apost=1e6, Apre=1e6, trace_decay=1.0, w_norm=1.0)
    in_spk, out_spk = np.zeros((1, 5, 3)), np.zeros((1, 5, 2))
    in_spk[0, 1, 1] = out_spk[0, 1, 0] = 1           # their changes cancel: dw = 0
    w_start = np.array([[0.0, 1.234567e-7, 2.345678e-7], [0.5, 0.5, 0.5]])
    weights, expected = _full_online_against_reference(rule, w_start, in_spk, out_spk)
    np.testing.assert_allclose(weights, expected, atol=1e-12, rtol=0)


def test_full_online_normalises_by_the_sum_of_the_weights_it_normalises():
    """A row whose weights the clamps take to 0 mid-run, then a denormal change on the run's
    last step: SPAIC divides by the row's sum of |W| then (the change itself); a sum updated
    change by change would still hold the rounding of zeroing the row (about -1e-16, a
    divisor of the wrong sign)."""
    rule = FullOnlineSTDP(Apost=-1.0, Apre=1e-313, trace_decay=1.0, w_norm=1.0)
    n_steps = 10
    in_spk, out_spk = np.zeros((1, n_steps, 3)), np.zeros((1, n_steps, 2))
    out_spk[0, 1, 0] = in_spk[0, 0, :] = 1           # potentiation by -1 zeroes row 0 ...
    in_spk[0, n_steps - 3, 2] = 1                    # ... the last step depresses by 1e-313
    # summed, then subtracted weight by weight, this row leaves -1.1e-16
    w_start = np.array([[0.8482223926176755, 0.13875551050174673, 0.27469429647074484],
                        [0.5, 0.25, 0.125]])
    weights, expected = _full_online_against_reference(rule, w_start, in_spk, out_spk)
    assert np.all(expected[0, n_steps - 2, 0] == 0)
    np.testing.assert_array_equal(weights, expected)
