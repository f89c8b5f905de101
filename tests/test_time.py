"""Time: decays as time constants with units, per-step factors that know their dt, and a
network at another dt that keeps the rule's time constants (never a silent change)."""
import json
import math

import brian2 as b2
import numpy as np
import pytest

from brian_stdp import (FullOnlineSTDP, MetaNearestOnlineSTDP, NearestOnlineSTDP,
                        PostPreIntSTDP, STDPRule)
from tests.support.cases import random_case
from tests.support.targets import simulate

ALL_RULES = [NearestOnlineSTDP, FullOnlineSTDP, MetaNearestOnlineSTDP, PostPreIntSTDP]
TIME_CONSTANTS = [(cls, keyword, decay) for cls in ALL_RULES
                  for keyword, decay in cls.time_constants.items()]
ms = b2.ms


def _ids(cases):
    return [f"{cls.short_name}-{keyword}" for cls, keyword, _ in cases]


# ---- the constructor's two forms ----------------------------------------------------------
def test_every_decay_of_every_rule_has_a_time_constant():
    decays = {"nearest": {"trace_pre", "trace_post"}, "full": {"trace_decay"},
              "meta": {"pre_decay", "post_decay"}, "int": {"trace_decay"}}
    for cls in ALL_RULES:
        assert set(cls.time_constants.values()) == decays[cls.short_name]


@pytest.mark.parametrize("cls,keyword,decay", TIME_CONSTANTS, ids=_ids(TIME_CONSTANTS))
@pytest.mark.parametrize("dt", [1.0, 0.5, 0.1])
def test_a_time_constant_gives_the_factor_at_the_rules_dt(cls, keyword, decay, dt):
    rule = cls(**{keyword: 15 * ms}, dt=dt * ms)
    if cls.integer:
        unit = 2 ** rule.shift_spike_trace
        assert rule.trace_decay == round(unit * math.exp(-dt / 15))
        # the nearest integer factor: its own time constant within half a unit's rounding
        assert abs(float(rule.time_constant(keyword) / ms) - 15) < 15 * 15 / dt / unit
    else:
        assert getattr(rule, decay) == pytest.approx(math.exp(-dt / 15), rel=1e-15)
        assert float(rule.time_constant(keyword) / ms) == pytest.approx(15, rel=1e-12)
    assert rule.dt == dt


def test_spaics_defaults_are_their_time_constants_at_1_ms():
    spaic = {"tau_pre": 20, "tau_post": 20, "tau_trace": 20}
    spaic_meta = {"tau_pre": 30, "tau_post": 200}
    for cls, keyword, _ in TIME_CONSTANTS:
        tau = float(cls().time_constant(keyword) / ms)
        wanted = (spaic_meta if cls is MetaNearestOnlineSTDP else spaic)[keyword]
        assert tau == pytest.approx(wanted, rel=1e-12 if not cls.integer else 1e-3), (cls, keyword)
    assert NearestOnlineSTDP(tau_pre=20 * ms, tau_post=20 * ms) == NearestOnlineSTDP()


@pytest.mark.parametrize("cls,keyword,decay", TIME_CONSTANTS, ids=_ids(TIME_CONSTANTS))
def test_both_forms_of_one_decay_are_refused(cls, keyword, decay):
    value = getattr(cls(), decay)
    with pytest.raises(ValueError, match=f"give {decay} .* or {keyword} .*not both"):
        cls(**{keyword: 20 * ms, decay: value})


@pytest.mark.parametrize("value,error,words", [
    (20, TypeError, "with units"), (20 * b2.mV, TypeError, "single time"),
    (np.array([20, 30]) * ms, TypeError, "single time"), ("20*ms", TypeError, "with units"),
    (0 * ms, ValueError, "a time > 0"), (-5 * ms, ValueError, "a time > 0"),
    (math.nan * ms, ValueError, "a time > 0"), (1e-4 * ms, ValueError, "too short"),
])
def test_a_bad_time_constant_is_refused_by_name(value, error, words):
    with pytest.raises(error, match="tau_pre") as raised:
        NearestOnlineSTDP(tau_pre=value)
    assert words in str(raised.value)


# ---- per-step factors know their dt -------------------------------------------------------
@pytest.mark.parametrize("cls", ALL_RULES, ids=lambda c: c.short_name)
def test_the_dt_is_plain_data_and_round_trips(cls):
    rule = cls(dt=0.25 * ms)
    data = json.loads(json.dumps(rule.to_dict()))
    assert data["parameters"]["dt"] == 0.25
    assert cls.from_dict(data) == rule
    assert STDPRule.from_dict(data) == rule
    assert cls().to_dict()["parameters"]["dt"] == 1.0  # SPAIC's convention, recorded
    # a template written before dt was recorded holds SPAIC's 1 ms
    old = {"rule": cls.name, "parameters": {k: v for k, v in cls().to_dict()["parameters"].items()
                                            if k != "dt"}}
    assert cls.from_dict(old) == cls()


@pytest.mark.parametrize("cls,keyword,decay", TIME_CONSTANTS, ids=_ids(TIME_CONSTANTS))
def test_at_dt_keeps_the_time_constants(cls, keyword, decay):
    rule = cls()
    assert rule.at_dt(1 * ms) is rule
    for dt in (0.5, 0.1, 2.0):
        moved = rule.at_dt(dt * ms)
        assert moved.dt == dt
        tolerance = 1e-12 if not cls.integer else 0.5 * 20 / dt * 20 / 2 ** rule.shift_spike_trace
        assert float(moved.time_constant(keyword) / ms) == pytest.approx(
            float(rule.time_constant(keyword) / ms), rel=max(tolerance, 1e-12))
        # the other parameters are untouched
        others = {k: v for k, v in rule.to_dict()["parameters"].items()
                  if k != "dt" and k not in cls.time_constants.values()}
        assert {k: moved.to_dict()["parameters"][k] for k in others} == others


def test_a_factor_that_would_vanish_at_the_new_dt_is_refused():
    rule = NearestOnlineSTDP(trace_post=1e-200)  # decays to nothing per 1 ms step already
    with pytest.raises(ValueError, match="trace_post .* decays to 0 in one step of 5 ms"):
        rule.at_dt(5 * ms)


@pytest.fixture
def at_half_ms():
    old = b2.defaultclock.dt
    b2.defaultclock.dt = 0.5 * ms
    b2.start_scope()
    yield
    b2.defaultclock.dt = old


def test_built_at_another_dt_the_synapses_get_the_same_time_constants(at_half_ms):
    group = b2.NeuronGroup(2, "v : 1", threshold="False")
    converted = NearestOnlineSTDP().synapses(group, group)
    assert converted.namespace["trace_pre"] == pytest.approx(math.exp(-0.5 / 20), rel=1e-14)
    # stated at 0.5 ms: SPAIC's numbers per step, on purpose
    pinned = NearestOnlineSTDP(dt=0.5 * ms).synapses(group, group)
    assert pinned.namespace["trace_pre"] == NearestOnlineSTDP().trace_pre


def test_a_hand_built_synapses_with_another_dts_factors_is_refused(at_half_ms):
    rule = NearestOnlineSTDP()
    group = b2.NeuronGroup(2, "v : 1", threshold="False")
    stale = b2.Synapses(group, group, model=rule.model, on_pre=rule.on_pre,
                        on_post=rule.on_post, delay=rule.pathway_delays(),
                        namespace=rule.namespace())
    with pytest.raises(ValueError, match=r"trace_pre.*namespace=rule.namespace\(defaultclock.dt\)"):
        rule.attach(stale)
    b2.start_scope()
    group = b2.NeuronGroup(2, "v : 1", threshold="False")
    right = b2.Synapses(group, group, model=rule.model, on_pre=rule.on_pre,
                        on_post=rule.on_post, delay=rule.pathway_delays(),
                        namespace=rule.namespace(b2.defaultclock.dt))
    rule.attach(right)


# ---- Brian2 at 0.5 and 0.1 ms against the NumPy reference at that dt ----------------------
def _reference_at(rule, dt, w_start, in_spk, out_spk, **extra):
    return rule.at_dt(dt * ms).reference_weights(w_start, in_spk, out_spk, **extra)


RULES_IN_TIME = {
    "nearest": NearestOnlineSTDP(tau_pre=12 * ms, tau_post=30 * ms, Apost=0.2, Apre=0.05,
                                 w_norm=2.0),
    "full": FullOnlineSTDP(tau_trace=12 * ms, Apost=0.2, Apre=0.05, w_norm=2.0),
    "meta": MetaNearestOnlineSTDP(tau_pre=12 * ms, tau_post=30 * ms, Apost=0.02, Apre=0.001),
    "int": PostPreIntSTDP(tau_trace=12 * ms, nu0=400, nu1=3000),
}


# cython compiles each rule's code anew for each dt (the factors are compiled-in constants):
# once, at 0.5 ms, shows the compiled path.
@pytest.mark.parametrize("dt,target", [(0.5, "numpy"), (0.1, "numpy"), (0.5, "cython")])
@pytest.mark.parametrize("name", sorted(RULES_IN_TIME))
def test_time_constants_at_another_dt_match_the_reference_at_that_dt(name, dt, target):
    rule = RULES_IN_TIME[name]
    in_spk, out_spk, w_start = random_case(7, 5, 3, 0.2, 0.15, steps=60)
    job = {"rule": rule.to_dict(), "in_spk": in_spk, "out_spk": out_spk, "dt": dt}
    extra = {}
    if rule.integer:
        rng = np.random.default_rng(8)
        w_start = rng.integers(rule.w_min, rule.w_max, w_start.shape, endpoint=True)
        extra = {"thresh": rng.integers(0, 2 * rule.max_threshold, (2, 60, 3)),
                 "draws": rng.integers(0, 2 ** rule.shift, (2, 60, 2, 3, 5))}
    got = simulate(target, {**job, "w_start": w_start, **extra})["w"]
    expected = _reference_at(rule, dt, w_start, in_spk, out_spk, **extra)
    if rule.integer:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    # and the factors are not the 1 ms ones: at the rule's own numbers the run differs
    assert not np.allclose(_reference_at(rule, 1.0, w_start, in_spk, out_spk, **extra),
                           expected, rtol=1e-6, atol=1e-9)


# ---- the learning window in ms does not depend on dt --------------------------------------
def _window(rule, dt, lags_ms):
    """The change of one synapse's weight relative to an unpaired one, for a pre spike at 40 ms
    and a post spike ``lag`` ms later (negative: before), each lag in a run of its own."""
    changes = []
    for lag in lags_ms:
        steps = int(round(100 / dt))
        in_spk = np.zeros((1, steps, 2))
        out_spk = np.zeros((1, steps, 1))
        in_spk[0, int(round(40 / dt)), 0] = 1
        out_spk[0, int(round((40 + lag) / dt)), 0] = 1
        w = simulate("numpy", {"rule": rule.to_dict(), "in_spk": in_spk, "out_spk": out_spk,
                               "w_start": np.full((1, 2), 0.25), "dt": dt})["w"][0, -1, 0]
        changes.append(w[0] / w[1] - 1)
    return np.array(changes)


def test_the_learning_window_in_ms_is_the_same_at_half_the_dt():
    lags = [-20, -10, -4, 4, 10, 20]
    rule = NearestOnlineSTDP(Apost=0.01, Apre=0.01, w_norm=0.5)
    at_1, at_half = _window(rule, 1.0, lags), _window(rule, 0.5, lags)
    assert np.all(at_1[:3] < 0) and np.all(at_1[3:] > 0)
    # the same curve: the traces' one-step lag delays the pre and the post side alike
    np.testing.assert_allclose(at_half, at_1, rtol=1e-9)
    # per-step factors held at 0.5 ms (the earlier behaviour) halve the window's width
    pinned = _window(NearestOnlineSTDP(Apost=0.01, Apre=0.01, w_norm=0.5, dt=0.5 * ms), 0.5,
                     lags)
    assert abs(pinned[-1] / at_1[-1] - math.exp(-1)) < 0.1


# ---- the command line -----------------------------------------------------------------------
def test_the_template_command_prints_the_factors_at_a_dt(capsys):
    from brian_stdp.cli import main
    assert main(["template", "meta", "--dt", "0.5", "--describe"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["parameters"]["dt"] == 0.5
    assert STDPRule.from_dict(data) == MetaNearestOnlineSTDP().at_dt(0.5 * ms)
    assert "tau_pre = 30. ms" in err and "tau_post = 200. ms" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["template", "nearest", "--dt", "0"])
    assert exit_info.value.code == 2
    assert "dt must be a time step in (0, 1000] ms" in capsys.readouterr().err
