"""Meta_nearest_online_STDP in Brian2 against SPAIC's recording and the NumPy reference."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brian_stdp import MetaNearestOnlineSTDP, reference
from tests.support import standalone
from tests.support.cases import random_case, random_spikes
from tests.support.golden import load_golden
from tests.support.openloop import spike_generator
from tests.support.targets import simulate

TOL = 1e-5        # SPAIC's recording is float32
REF_TOL = 1e-9    # Brian2 (float64) against the float64 reference
LAZY_RTOL = 1e-11  # the lazy rows' rounding, relative to weights that grow without bound


def _job(rule, w_start, in_spk, out_spk, **extra):
    return dict(rule=rule.to_dict(), w_start=w_start, in_spk=in_spk, out_spk=out_spk,
                record=["w", "w_mean"], **extra)


def _rows(result):
    """The per-row variables recorded through the synapses: every synapse of a row agrees.
    (A StateMonitor of Brian 2.9.0 records only one such variable; aw_mean is checked through
    the mean of w_mean.)"""
    values = result["w_mean"]
    np.testing.assert_array_equal(values, np.repeat(values[..., :1], values.shape[-1], -1))
    return {"w_mean": values[..., 0]}


def _golden_job(data):
    learner = data["params"]["learner"]
    rule = MetaNearestOnlineSTDP(**{k: learner[k] for k in
                                    ("Apost", "Apre", "pre_decay", "post_decay", "w_min",
                                     "w_max")})
    return _job(rule, data["w_after_build"], data["in_spk"], data["out_spk"])


# cpp_standalone: a case of the float64 batch (one build with the other modules' cases)
STANDALONE = standalone.batch("float64")
STANDALONE.add("meta:golden", lambda: _golden_job(load_golden("meta_nearest_online_stdp")))


@pytest.mark.golden
@pytest.mark.parametrize("target", ["numpy", "cython",
                                    pytest.param("cpp_standalone", marks=STANDALONE.marks)])
def test_open_loop_matches_spaic_every_step(golden, target):
    data = golden("meta_nearest_online_stdp")
    if target == "cpp_standalone":
        result = STANDALONE.result("meta:golden")
    else:
        result = simulate(target, _golden_job(data))
    rows = _rows(result)
    assert result["w"].shape == data["weight"].shape
    np.testing.assert_allclose(result["w"], data["weight"], atol=TOL, rtol=0)
    np.testing.assert_allclose(rows["w_mean"], data["w_mean"][..., 0], atol=TOL, rtol=0)
    np.testing.assert_allclose(rows["w_mean"].mean(axis=-1), float(data["aw_mean"]), atol=TOL,
                               rtol=0)


@pytest.mark.golden
def test_period_makes_each_presentation_a_run(golden):
    """One long run with ``period`` = the run length replaces the explicit resets (the post
    spikes of a period's last step must not reach the next period, as in SPAIC)."""
    data = golden("meta_nearest_online_stdp")
    result = simulate("numpy", _job(MetaNearestOnlineSTDP(), data["w_after_build"],
                                    data["in_spk"], data["out_spk"], period=True))
    np.testing.assert_allclose(result["w"], data["weight"], atol=TOL, rtol=0)
    np.testing.assert_allclose(_rows(result)["w_mean"], data["w_mean"][..., 0], atol=TOL, rtol=0)


def _random_case(seed, n_pre, n_post, rate_pre, rate_post, w_min, w_max, **kwargs):
    """Two runs of 30 steps (:func:`tests.support.cases.random_case`)."""
    return random_case(seed, n_pre, n_post, rate_pre, rate_post, steps=30, w_min=w_min,
                       w_max=w_max, **kwargs)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**31), n_pre=st.integers(1, 10), n_post=st.integers(2, 5),
       rate_pre=st.floats(0.0, 0.7), rate_post=st.floats(0.0, 0.7),
       Apost=st.floats(1e-4, 0.3), Apre=st.floats(1e-5, 3e-3),
       pre_decay=st.floats(0.05, 1.0), post_decay=st.floats(0.05, 1.0),
       w_min=st.floats(-0.5, 0.5), width=st.floats(0.1, 2.0), lazy=st.booleans())
def test_random_trains_match_reference(seed, n_pre, n_post, rate_pre, rate_post, Apost, Apre,
                                       pre_decay, post_decay, w_min, width, lazy):
    # Apre bounds the drift of w_mean (0.1 * Apre * trace per step) well below the initial mean
    # weights, so no target turns negative: SPAIC's rows then flip sign and grow without bound.
    # (Some drawn cases still grow so, e.g. a row of one input that never spikes: the lazy
    # rendering, which applies each row's factors in another order, then agrees to rounding
    # relative to the weights, LAZY_RTOL, where the eager one agrees absolutely.)
    w_max = w_min + width
    in_spk, out_spk, w_start = _random_case(seed, n_pre, n_post, rate_pre, rate_post,
                                            max(w_min, 0.0), w_max)
    rule = MetaNearestOnlineSTDP(Apost=Apost, Apre=Apre, pre_decay=pre_decay,
                                 post_decay=post_decay, w_min=w_min, w_max=w_max)
    weights, w_mean = reference.simulate("meta", w_start, in_spk, out_spk, rule.namespace())
    result = simulate("numpy", _job(rule, w_start, in_spk, out_spk,
                                    row_scaling="lazy" if lazy else "eager"))
    rows = _rows(result)
    rtol = LAZY_RTOL if lazy else 0
    np.testing.assert_allclose(result["w"], weights, atol=REF_TOL, rtol=rtol)
    np.testing.assert_allclose(rows["w_mean"], w_mean, atol=REF_TOL, rtol=rtol)
    # The homeostatic targets keep their population mean; nothing turns NaN or inf.
    aw_mean = w_start.mean(axis=1).mean()
    np.testing.assert_allclose(rows["w_mean"].mean(axis=-1), aw_mean, rtol=1e-9, atol=1e-12)
    assert np.all(np.isfinite(result["w"])) and np.all(np.isfinite(rows["w_mean"]))


def test_zero_row_stays_zero_and_finite():
    """A row with mean weight 0 is divided by SPAIC's guard 1e-6, not by 0. Its post neuron is
    silent, so nothing potentiates it and its target only grows."""
    in_spk, out_spk, w_start = _random_case(4, 6, 3, 0.5, 0.5, 0.0, 1.0, zero_rows=1)
    out_spk[:, :, 0] = 0
    rule = MetaNearestOnlineSTDP(Apre=0.01)
    weights, w_mean = reference.simulate("meta", w_start, in_spk, out_spk, rule.namespace())
    result = simulate("numpy", _job(rule, w_start, in_spk, out_spk))
    np.testing.assert_allclose(result["w"], weights, atol=REF_TOL, rtol=0)
    np.testing.assert_allclose(_rows(result)["w_mean"], w_mean, atol=REF_TOL, rtol=0)
    np.testing.assert_array_equal(result["w"][:, :, 0], 0.0)
    assert _rows(result)["w_mean"][-1, -1, 0] > 0


def test_all_zero_weights_stay_finite():
    """aw_mean = 0: SPAIC divides 0 by 0 here; brian_stdp keeps every target at 0."""
    in_spk, out_spk, _ = _random_case(3, 6, 3, 0.5, 0.5, 0.0, 1.0)
    result = simulate("numpy", _job(MetaNearestOnlineSTDP(Apost=0.1, Apre=0.05),
                                    np.zeros((3, 6)), in_spk, out_spk))
    assert np.all(np.isfinite(result["w"]))
    np.testing.assert_array_equal(_rows(result)["w_mean"], 0.0)
    assert np.any(result["w"] != 0)  # learning still happened


def test_not_plastic_freezes_everything():
    in_spk, out_spk, w_start = _random_case(5, 8, 3, 0.4, 0.4, 0.0, 1.0)
    result = simulate("numpy", _job(MetaNearestOnlineSTDP(Apre=0.05), w_start, in_spk, out_spk,
                                    plastic=False))
    np.testing.assert_array_equal(result["w"], np.broadcast_to(w_start, result["w"].shape))
    rows = _rows(result)
    np.testing.assert_allclose(rows["w_mean"],
                               np.broadcast_to(w_start.mean(axis=1), rows["w_mean"].shape),
                               rtol=1e-12)
    assert np.ptp(rows["w_mean"], axis=(0, 1)).max() == 0


def test_two_rules_in_one_network_stay_independent():
    """Population means are over the post neurons of each synapse object, and each object's
    constants are its own (SPAIC shares them between learners)."""
    import brian2 as b2
    b2.defaultclock.dt = 1 * b2.ms
    rng = np.random.default_rng(11)
    n_pre, n_runs, n_steps = 7, 2, 30
    in_spk = random_spikes(rng, n_runs, n_steps, n_pre, 0.4)
    cases = [(MetaNearestOnlineSTDP(Apre=0.02), random_spikes(rng, n_runs, n_steps, 3, 0.5)),
             (MetaNearestOnlineSTDP(Apost=0.05, Apre=0.01, post_decay=0.8),
              random_spikes(rng, n_runs, n_steps, 4, 0.3))]
    source = spike_generator(b2, in_spk)
    objects, probes = [source], []
    for rule, out_spk in cases:
        target = spike_generator(b2, out_spk)
        S = rule.synapses(source, target)
        S.connect()
        w_start = rng.random((out_spk.shape[2], n_pre))
        rule.set_weights(S, w_start)
        monitor = b2.StateMonitor(S, ["w", "w_mean"], record=True, when="end")
        objects += [target, S, monitor]
        probes.append((rule, S, monitor, w_start, out_spk))
    net = b2.Network(objects)
    for _ in range(n_runs):
        for rule, S, *_ in probes:
            rule.reset(S)
        net.run(n_steps * b2.defaultclock.dt)
    for rule, S, monitor, w_start, out_spk in probes:
        weights, w_mean = reference.simulate("meta", w_start, in_spk, out_spk, rule.namespace())
        n_post = out_spk.shape[2]
        i, j = np.asarray(S.i[:]), np.asarray(S.j[:])
        got = np.zeros((n_runs * n_steps, n_post, n_pre))
        got[:, j, i] = monitor.w[:].T
        got_mean = np.zeros((n_runs * n_steps, n_post))
        got_mean[:, j] = monitor.w_mean[:].T
        np.testing.assert_allclose(got.reshape(weights.shape), weights, atol=REF_TOL, rtol=0)
        np.testing.assert_allclose(got_mean.reshape(w_mean.shape), w_mean, atol=REF_TOL, rtol=0)


def test_reset_keeps_weights_targets_and_post_trace():
    """reset() keeps what SPAIC carries over runs, and the next run learns as SPAIC's second run
    (the pre trace and the spikes of the last run's final step do not reach it)."""
    import brian2 as b2
    b2.defaultclock.dt = 1 * b2.ms
    in_spk, out_spk, w_start = _random_case(8, 5, 3, 0.6, 0.6, 0.0, 1.0)
    in_spk[0, -1] = out_spk[0, -1] = 1  # spikes on the last step of the first run
    rule = MetaNearestOnlineSTDP(Apre=0.05)
    source, target = spike_generator(b2, in_spk), spike_generator(b2, out_spk)
    S = rule.synapses(source, target)
    S.connect()
    rule.set_weights(S, w_start)
    monitor = b2.StateMonitor(S, "w", record=True, when="end")
    net = b2.Network(source, target, S, monitor)
    n_steps = in_spk.shape[1]
    net.run(n_steps * b2.defaultclock.dt)
    rows = S._brian_stdp.post_state
    before = {name: np.array(getattr(rows, name)[:])
              for name in ("output_trace", "w_mean", "aw_mean")}
    w_before = rule.get_weights(S)
    rule.reset(S)
    np.testing.assert_array_equal(rule.get_weights(S), w_before)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(rows, name)[:], value)
    assert np.any(before["output_trace"] > 0)
    np.testing.assert_allclose(before["aw_mean"], w_start.mean(), rtol=1e-12)
    net.run(n_steps * b2.defaultclock.dt)
    expected, _ = reference.simulate("meta", w_start, in_spk, out_spk, rule.namespace())
    got = np.zeros((2 * n_steps,) + w_start.shape)
    got[:, np.asarray(S.j[:]), np.asarray(S.i[:])] = monitor.w[:].T
    np.testing.assert_allclose(got.reshape(expected.shape), expected, atol=REF_TOL, rtol=0)


def test_targets_changed_by_hand_are_renormalised_to_aw_mean():
    """The drift keeps the mean of w_mean whatever it is; the renormalisation brings it back to
    aw_mean, e.g. after the targets were changed between runs."""
    import dataclasses
    import brian2 as b2
    b2.defaultclock.dt = 1 * b2.ms
    in_spk, out_spk, w_start = _random_case(9, 6, 3, 0.5, 0.5, 0.0, 1.0)
    scale = np.array([2.0, 1.0, 0.5])
    rule = MetaNearestOnlineSTDP(Apre=0.01)
    source, target = spike_generator(b2, in_spk), spike_generator(b2, out_spk)
    S = rule.synapses(source, target)
    S.connect()
    rule.set_weights(S, w_start)
    rows = S._brian_stdp.post_state
    monitor = b2.StateMonitor(rows, "w_mean", record=True, when="end")
    net = b2.Network(source, target, S, monitor)
    n_steps = in_spk.shape[1]
    net.run(n_steps * b2.defaultclock.dt)
    rows.w_mean = rows.w_mean[:] * scale
    rule.reset(S)
    net.run(n_steps * b2.defaultclock.dt)

    state = reference.meta_nearest_online_initial_state(w_start)
    expected = []
    for run in range(2):
        if run == 1:
            state = dataclasses.replace(reference.meta_nearest_online_run_start(state),
                                        w_mean=state.w_mean * scale)
        for k in range(n_steps):
            previous = (in_spk[run, k - 1], out_spk[run, k - 1]) if k else (0 * in_spk[0, 0],
                                                                           0 * out_spk[0, 0])
            state = reference.meta_nearest_online_step(state, *previous, **rule.namespace())
            expected.append(state.w_mean)
    got = monitor.w_mean[:].T
    np.testing.assert_allclose(got, np.array(expected), atol=REF_TOL, rtol=0)
    np.testing.assert_allclose(got[n_steps:].mean(axis=1), w_start.mean(), rtol=1e-9)
    assert abs(np.mean(w_start.mean(axis=1) * scale) - w_start.mean()) > 1e-3


@pytest.mark.parametrize("kwargs,names", [
    (dict(w_min=1.0, w_max=1.0), ("w_min", "w_max")),
    (dict(w_min=2.0), ("w_min", "w_max")),
    (dict(pre_decay=0.0), ("pre_decay", "(0, 1]")),
    (dict(post_decay=1.5), ("post_decay", "(0, 1]")),
    (dict(Apre=float("nan")), ("Apre",)),
    (dict(w_max=float("inf")), ("w_max",)),
])
def test_bad_parameters_are_refused(kwargs, names):
    with pytest.raises(ValueError) as error:
        MetaNearestOnlineSTDP(**kwargs)
    for name in names:
        assert name in str(error.value)


def test_bad_parameter_types_are_refused():
    import brian2 as b2
    with pytest.raises(TypeError, match="post_decay"):
        MetaNearestOnlineSTDP(post_decay="0.9")
    with pytest.raises(TypeError, match="pre_decay"):
        MetaNearestOnlineSTDP(pre_decay=0.9 * b2.ms)
    with pytest.raises(ValueError, match="w_min"):
        MetaNearestOnlineSTDP.from_dict({"rule": "meta_nearest_online_STDP",
                                         "parameters": {"w_min": 3.0}})


def test_round_trip_and_defaults():
    rule = MetaNearestOnlineSTDP()
    assert MetaNearestOnlineSTDP.from_dict(rule.to_dict()) == rule
    assert rule.namespace() == {"Apost": 1e-2, "Apre": 1e-4, "pre_decay": np.exp(-1 / 30),
                                "post_decay": np.exp(-1 / 200), "w_min": 0.0, "w_max": 1.0}
