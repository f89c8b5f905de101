"""PostPreIntSTDP: bit-exact against SPAIC's recordings in every target, RNG statistics, errors."""
import json

import numpy as np
import pytest

from brian_stdp import PostPreIntSTDP, load_rule, reference, rule_class
from brian_stdp.rules.postpre_int import INT32_MAX, draws_table
from tests.support import standalone
from tests.support.golden import int_reference, load_golden
from tests.support.targets import simulate


def _job(data, **parameters):
    rule = PostPreIntSTDP(max_threshold=int(data["params"]["learner"]["max_threshold"]),
                          **parameters)
    return {"rule": rule.to_dict(), "w_start": data["w_after_build"], "in_spk": data["in_spk"],
            "out_spk": data["out_spk"], "thresh": data["thresh"], "draws": data["rand_draws"]}


# cpp_standalone: a case of the float64 batch (one build with the other modules' cases)
STANDALONE = standalone.batch("float64")
STANDALONE.add("postpre_int:golden", lambda: _job(load_golden("postpreintstdp")))
STANDALONE.add("postpre_int:halving float",
               lambda: _job(load_golden("postpreintstdp_halving"), halving="float"))


@pytest.mark.golden
def test_golden_parameters_are_the_defaults(golden):
    learner = golden("postpreintstdp")["params"]["learner"]
    rule = PostPreIntSTDP()
    renamed = {"wmin": "w_min", "wmax": "w_max"}
    for key, value in learner.items():
        assert getattr(rule, renamed.get(key, key)) == value, key


@pytest.mark.golden
@pytest.mark.parametrize("target", ["numpy", "cython",
                                    pytest.param("cpp_standalone", marks=STANDALONE.marks)])
def test_exact_with_recorded_draws(golden, target):
    data = golden("postpreintstdp")
    if target == "cpp_standalone":
        weights = STANDALONE.result("postpre_int:golden")["w"]
    else:
        weights = simulate(target, _job(data))["w"]
    assert weights.shape == data["weight"].shape
    # Most steps of each run change some weight, so equality is not vacuous.
    assert np.all(np.any(np.diff(data["weight"], axis=1) != 0, axis=(2, 3)).sum(axis=1) > 50)
    np.testing.assert_array_equal(weights, data["weight"])


@pytest.mark.golden
def test_exact_with_in_simulation_run_boundaries(golden):
    data = golden("postpreintstdp")
    weights = simulate("numpy", dict(_job(data), period=True))["w"]
    np.testing.assert_array_equal(weights, data["weight"])


def _first_halving(data):
    max_threshold = data["params"]["learner"]["max_threshold"]
    flat = data["thresh"][:, :, 0].reshape(-1, data["thresh"].shape[-1])
    return int(np.argmax(np.any(flat > max_threshold, axis=1)))


@pytest.mark.golden
def test_halving_floor_versus_spaic_float_shift(golden):
    data = golden("postpreintstdp_halving")
    n_runs, n_steps = data["weight"].shape[:2]
    weights = simulate("numpy", _job(data))["w"].reshape(n_runs * n_steps, 5, 20)
    spaic = data["weight"].reshape(n_runs * n_steps, 5, 20)
    first = _first_halving(data)
    assert 0 < first < n_runs * n_steps - 1
    # Identical up to (not including) the first halving.
    np.testing.assert_array_equal(weights[:first], spaic[:first])
    # At the first halving, both halve the same integer row u: SPAIC to u / 2, brian_stdp to
    # u // 2; the difference is exactly 1/2 on the odd entries of the halved rows, 0 elsewhere.
    halved = data["thresh"][:, :, 0].reshape(n_runs * n_steps, -1)[first] > \
        data["params"]["learner"]["max_threshold"]
    assert np.all((spaic[first][halved] > 0) & (spaic[first][halved] < 109))  # clamp inactive
    before = spaic[first].copy()
    before[halved] *= 2  # the integer rows u SPAIC halved (u may exceed w_max before halving)
    assert np.all(before == np.round(before))
    expected_gap = np.where(halved[:, None], (before % 2) / 2, 0)
    assert expected_gap.sum() > 0
    np.testing.assert_array_equal(spaic[first] - weights[first], expected_gap)
    # From there on, brian_stdp is the integer rule exactly (the reference with floor halving),
    # and the recording is the same rule with float halving: the only difference is the floor.
    integer = int_reference(data).reshape(n_runs * n_steps, 5, 20)
    floated = int_reference(data, float_shift=True).reshape(n_runs * n_steps, 5, 20)
    np.testing.assert_array_equal(weights, integer)
    np.testing.assert_array_equal(floated, spaic)
    assert np.any(weights[first:] != spaic[first:])
    assert np.all(weights == np.round(weights)) and np.any(spaic != np.round(spaic))


@pytest.mark.golden
@pytest.mark.parametrize("target", ["numpy", "cython",
                                    pytest.param("cpp_standalone", marks=STANDALONE.marks)])
def test_float_halving_option_matches_the_whole_halving_file(golden, target):
    """Rows halved by thresholds above max_threshold, against SPAIC's recording, in every
    target."""
    data = golden("postpreintstdp_halving")
    if target == "cpp_standalone":
        weights = STANDALONE.result("postpre_int:halving float")["w"]
    else:
        weights = simulate(target, _job(data, halving="float"))["w"]
    assert np.any(data["thresh"] > data["params"]["learner"]["max_threshold"])
    np.testing.assert_array_equal(weights, data["weight"])


@pytest.mark.golden
def test_subtracting_pre_term_is_the_docstring_variant(golden):
    data = golden("postpreintstdp")
    weights = simulate("numpy", _job(data, pre_term="subtract"))["w"]
    expected = reference.simulate(
        "int", data["w_after_build"], data["in_spk"], data["out_spk"],
        {"max_threshold": 4915, "pre_term_sign": -1}, thresh=data["thresh"][:, :, 0],
        draws=data["rand_draws"])
    np.testing.assert_array_equal(weights, expected)
    assert np.any(weights != data["weight"])


@pytest.mark.golden
def test_plastic_false_freezes(golden):
    data = golden("postpreintstdp")
    weights = simulate("numpy", dict(_job(data), plastic=False))["w"]
    np.testing.assert_array_equal(weights, np.broadcast_to(data["w_after_build"],
                                                           weights.shape))


# ---- Brian's own RNG -----------------------------------------------------------------------
def _pair_network(b2, rule, n):
    """``n`` pre neurons spiking at step 0 and ``n`` at step 1; post 0 spikes at step 1, post 1
    at step 0. Four classes of ``n`` synapses, each with one known stochastic rounding."""
    index = np.arange(2 * n)
    source = b2.SpikeGeneratorGroup(2 * n, index, (index >= n) * b2.defaultclock.dt)
    target = b2.NeuronGroup(2, "thresh : 1", threshold="i == 1 - timestep(t, dt)", reset="")
    S = rule.synapses(source, target)
    S.connect()
    S.w = 50
    return source, target, S


def test_rounding_is_unbiased_with_brians_rng():
    import brian2 as b2
    b2.defaultclock.dt = 1 * b2.ms
    rule = PostPreIntSTDP()
    n, seeds = 1000, 10
    source, target, S = _pair_network(b2, rule, n)
    net = b2.Network(source, target, S)
    net.store()
    trace_after_one_step = (31169 * 127) >> 15   # 120
    expected = {  # (pre half, post neuron): x of each rounding that happens
        (0, 0): [trace_after_one_step * 141],   # pre at 0, post at 1: post term only
        (1, 1): [trace_after_one_step * 14],    # post at 0, pre at 1: pre term only
        (0, 1): [127 * 141, 127 * 14],          # both at 0: both terms, full traces
        (1, 0): [127 * 141, 127 * 14],          # both at 1
    }
    changes = {key: [] for key in expected}
    runs = []
    for seed in range(seeds):
        net.restore()
        b2.seed(seed)
        net.run(3 * b2.ms)
        dw = np.asarray(S.w[:]) - 50
        runs.append(dw)
        half, post = np.asarray(S.i[:]) >= n, np.asarray(S.j[:])
        for (h, p) in expected:
            changes[(h, p)].append(dw[(half == h) & (post == p)])
    assert not np.array_equal(runs[0], runs[1])        # the draws are random...
    net.restore()
    b2.seed(0)
    net.run(3 * b2.ms)
    np.testing.assert_array_equal(S.w[:] - 50, runs[0])   # ...and reproducible with seed()
    for key, xs in expected.items():
        sample = np.concatenate(changes[key])
        assert sample.size == n * seeds
        mean = sum(x / 2 ** 14 for x in xs)
        # each rounding adds floor(x / 2^14) + Bernoulli(frac): variance sum frac (1 - frac)
        variance = sum((x % 2 ** 14 / 2 ** 14) * (1 - x % 2 ** 14 / 2 ** 14) for x in xs)
        bound = 5 * np.sqrt(variance / sample.size)   # 5 standard errors: p < 1e-6 per class
        assert abs(sample.mean() - mean) < bound, (key, sample.mean(), mean, bound)
        # the floor part is deterministic: every change is floor or floor + 1 per rounding
        floor = sum(x >> 14 for x in xs)
        assert sample.min() >= floor and sample.max() <= floor + len(xs)


# ---- parameters and errors -----------------------------------------------------------------
def test_round_trip_through_json(tmp_path):
    rule = PostPreIntSTDP(max_threshold=400, pre_term="subtract", thresh_variable="theta_int",
                          halving="float")
    path = tmp_path / "rule.json"
    rule.save(path)
    assert load_rule(path) == rule
    assert rule_class("PostPreIntSTDP").from_dict(json.loads(path.read_text())) == rule
    assert isinstance(load_rule(path).nu1, int)


@pytest.mark.parametrize("kwargs,kind,words", [
    ({"shift": 31}, ValueError, ["shift", "[0, 30]"]),
    ({"shift": 2.5}, TypeError, ["shift", "integer"]),
    ({"trace_decay": 40000}, ValueError, ["trace_decay", "2**shift_spike_trace"]),
    ({"trace_decay": -1}, ValueError, ["trace_decay", "[0, 2147483647]"]),
    ({"shift_spike_trace": 30, "trace_decay": 2 ** 30, "trace_scale": 4},
     ValueError, ["trace_decay * trace_scale", "int32"]),
    ({"nu1": 2 ** 25}, ValueError, ["nu1", "int32"]),
    ({"nu0": -(2 ** 25)}, ValueError, ["nu0", "int32"]),
    ({"w_max": INT32_MAX - 2}, ValueError, ["w_max", "int32"]),
    ({"w_min": -INT32_MAX}, ValueError, ["w_min", "int32"]),
    ({"w_min": 10, "w_max": 5}, ValueError, ["w_min", "w_max"]),
    ({"w_max": 109.5}, TypeError, ["w_max", "integer"]),
    ({"pre_term": "minus"}, ValueError, ["pre_term", "'add', 'subtract'"]),
    ({"halving": 1}, TypeError, ["halving", "string"]),
    ({"thresh_variable": "2x"}, ValueError, ["thresh_variable", "variable name"]),
    ({"max_threshold": 2 ** 31}, ValueError, ["max_threshold", "2147483647"]),
])
def test_bad_parameters(kwargs, kind, words):
    with pytest.raises(kind) as error:
        PostPreIntSTDP(**kwargs)
    for word in words:
        assert word in str(error.value)


def test_the_largest_allowed_values_fit_int32():
    extreme = dict(trace_scale=2 ** 16 - 1, shift_spike_trace=15, trace_decay=2 ** 15,
                   nu0=2 ** 15, nu1=-(2 ** 15), shift=14)
    term = 2 ** 15 * (2 ** 16 - 1) // 2 ** 14 + 1           # the largest single weight term
    rule = PostPreIntSTDP(w_min=-(INT32_MAX - 2 * term), w_max=INT32_MAX - 2 * term, **extreme)
    assert rule.trace_decay * rule.spike_trace_value <= INT32_MAX
    assert rule.max_term("nu0") == rule.max_term("nu1") == term
    with pytest.raises(ValueError, match="w_min/w_max"):
        PostPreIntSTDP(w_min=0, w_max=INT32_MAX - 2 * term + 1, **extreme)
    with pytest.raises(ValueError, match="nu0"):
        PostPreIntSTDP(**dict(extreme, nu0=2 ** 15 + 1, trace_scale=2 ** 16,
                                 trace_decay=2 ** 15 - 1))


def test_target_without_threshold_is_refused_by_name():
    import brian2 as b2
    source = b2.SpikeGeneratorGroup(2, [0], [0] * b2.ms)
    target = b2.NeuronGroup(2, "v : 1", threshold="v > 1", reset="v = 0")
    with pytest.raises(TypeError, match="'theta_int'"):
        PostPreIntSTDP(thresh_variable="theta_int").synapses(source, target)
    with pytest.raises(TypeError, match="'thresh'"):
        PostPreIntSTDP().synapses(source, target)
    # nothing was created by the failed calls
    assert not [o for o in b2.collect() if isinstance(o, b2.Synapses)]


def test_bad_weights_and_draws():
    import brian2 as b2
    source = b2.SpikeGeneratorGroup(2, [0], [0] * b2.ms)
    target = b2.NeuronGroup(2, "thresh : 1", threshold="False")
    rule = PostPreIntSTDP()
    S = rule.synapses(source, target)
    S.connect()
    with pytest.raises(ValueError, match="whole numbers"):
        rule.set_weights(S, np.full((2, 2), 1.5))
    with pytest.raises(ValueError, match=r"\[w_min, w_max\] = \[0, 109\]"):
        rule.set_weights(S, np.full((2, 2), 110.0))
    with pytest.raises(ValueError, match=r"\[steps, 2, post, pre\]"):
        draws_table(np.zeros((3, 3, 2, 2)))
    with pytest.raises(ValueError, match="non-negative integers"):
        draws_table(np.full((3, 2, 2, 2), -1))
    with pytest.raises(TypeError, match="TimedArray"):
        rule.synapses(source, target, draws=np.zeros((3, 2, 2, 2)))
