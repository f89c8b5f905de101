"""The benchmarks compare like with like: the other rendering of nearest_online that
``benchmarks/bench_rules.py --row-passes`` times computes the same weights as the package's, and
the "SPAIC-style dense" baseline that every SPAIC / brian_stdp ratio of docs/benchmarks.rst
divides by computes each rule's weights as SPAIC does."""
import numpy as np
import pytest

from brian_stdp import RULES, NearestOnlineSTDP, reference
from tests.support.openloop import run_open_loop
from tests.support.optional import require_module
from tests.support.scripts import load_script

GOLDEN_FILES = {"nearest": "nearest_online_stdp", "full": "full_online_stdp",
                "meta": "meta_nearest_online_stdp"}


@pytest.mark.golden
def test_row_pass_rendering_of_nearest_matches_spaic(golden):
    import brian2 as b2
    bench_rules = load_script("benchmarks/bench_rules.py")
    data = golden("nearest_online_stdp")
    w_norm = data["params"]["learner"]["w_norm"]
    rule = bench_rules.nearest_with_changed_row_passes(w_norm=w_norm)
    assert rule.row_pass and not any(op[2] == "after_synapses" for op in rule.step_operations)
    b2.defaultclock.dt = 1 * b2.ms
    weights = run_open_loop(b2, rule, data["w_after_build"], data["in_spk"],
                            data["out_spk"])["w"]
    np.testing.assert_allclose(weights, data["weight"], atol=1e-5, rtol=0)
    # and it really is the other rendering, unknown to the package's registry
    assert type(rule) is not NearestOnlineSTDP and type(rule) not in RULES.values()


def _dense(rule, w_start, in_spk, out_spk, dtype, **kwargs):
    """``bench_rules.spaic_dense_run`` on ``[R, T, ...]`` spikes (torch, ``dtype``): the weights
    after every step, ``[R, T, post, pre]``, and the final weights of a run without recording."""
    torch = require_module("torch", "torch")
    bench_rules = load_script("benchmarks/bench_rules.py")
    n_runs, n_steps = np.shape(in_spk)[:2]
    args = (rule, torch.from_numpy(np.reshape(in_spk, (n_runs * n_steps, -1))),
            torch.from_numpy(np.reshape(out_spk, (n_runs * n_steps, -1))),
            torch.from_numpy(np.asarray(w_start)).to(getattr(torch, dtype)), n_steps)
    final, weights = bench_rules.spaic_dense_run(*args, record=True, **kwargs)
    assert weights.dtype == getattr(torch, dtype)
    # without recording, the same run (what the benchmark times) ends on the same weights
    assert torch.equal(bench_rules.spaic_dense_run(*args, **kwargs), final)
    assert torch.equal(final, weights[-1, -1])
    return weights.numpy()


@pytest.mark.golden
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rule", ["nearest", "full", "meta"])
def test_spaic_dense_baseline_matches_spaic_float_rules(golden, rule, dtype):
    """Every step's weights within 1e-5 of SPAIC's float32 recording, computing in float32
    (SPAIC's dtype, the benchmark's) and in float64."""
    bench_rules = load_script("benchmarks/bench_rules.py")
    data = golden(GOLDEN_FILES[rule])
    learner = data["params"]["learner"]
    defaults = bench_rules.SPAIC_DEFAULTS[rule]
    # the recording's constants are the baseline's defaults, but for nearest/full's w_norm
    for key in set(learner) & set(defaults) - {"w_norm"}:
        assert learner[key] == pytest.approx(defaults[key], rel=1e-12), key
    parameters = {"w_norm": learner["w_norm"]} if "w_norm" in defaults else {}
    weights = _dense(rule, data["w_after_build"], data["in_spk"], data["out_spk"], dtype,
                     **parameters)
    assert weights.shape == data["weight"].shape
    # the weights do change, step after step (the comparison is not against a constant)
    assert np.all(np.any(np.diff(data["weight"], axis=1) != 0, axis=(2, 3)).sum(axis=1) > 20)
    np.testing.assert_allclose(weights, data["weight"], atol=1e-5, rtol=0)


@pytest.mark.golden
@pytest.mark.parametrize("name", ["postpreintstdp", "postpreintstdp_halving"])
def test_spaic_dense_baseline_matches_spaic_int_rule_exactly(golden, name):
    """Bit for bit with the recorded draws and thresholds, in float32 as SPAIC; in the halving
    file, halved rows keep their fractions (SPAIC's float ``weight >>= 1``)."""
    data = golden(name)
    max_threshold = int(data["params"]["learner"]["max_threshold"])
    weights = _dense("int", data["w_after_build"], data["in_spk"], data["out_spk"], "float32",
                     thresh=data["thresh"][:, :, 0], draws=data["rand_draws"],
                     max_threshold=max_threshold)
    assert weights.shape == data["weight"].shape
    np.testing.assert_array_equal(weights, data["weight"])
    halved = np.any(data["thresh"][:, :, 0] > max_threshold)
    assert halved == (name == "postpreintstdp_halving")
    assert np.any(weights % 1 != 0) == halved   # halving leaves fractions (floor would not)


@pytest.mark.parametrize("rule", ["nearest", "full", "meta", "int"])
def test_spaic_dense_baseline_matches_the_reference(rule):
    """Not tuned to the recordings: another size (30 pre x 7 post, 3 runs of 40 steps), other
    spikes and parameters, against brian_stdp.reference in float64."""
    rng = np.random.default_rng(23)
    n_runs, n_steps, n_pre, n_post = 3, 40, 30, 7
    in_spk = (rng.random((n_runs, n_steps, n_pre)) < rng.uniform(0.05, 0.5, n_pre)).astype(float)
    out_spk = (rng.random((n_runs, n_steps, n_post)) < 0.2).astype(float)
    parameters, kwargs = {}, {}
    if rule == "int":
        w_start = np.floor(rng.random((n_post, n_pre)) * 110)
        parameters = {"max_threshold": 300}
        kwargs = {"thresh": rng.integers(200, 320, (n_runs, n_steps, n_post)),
                  "draws": rng.integers(0, 1 << 14, (n_runs, n_steps, 2, n_post, n_pre))}
        expected = reference.simulate("int", w_start, in_spk, out_spk, parameters,
                                      float_shift=True, **kwargs)
        assert np.any(expected % 1 != 0)   # rows were halved
    else:
        w_start = rng.random((n_post, n_pre)) * 0.3
        if rule in ("nearest", "full"):
            parameters = {"w_norm": 3.0, "Apost": 0.05, "Apre": 0.01}
        else:
            parameters = {"Apost": 0.05, "Apre": 0.01}
        build = {"nearest": reference.nearest_online_build, "full": reference.full_online_build,
                 "meta": reference.meta_nearest_online_build}[rule]
        w_start = build(w_start, **({"w_norm": 3.0} if rule == "nearest" else {}))
        expected = reference.simulate(rule, w_start, in_spk, out_spk, parameters)
        if rule == "meta":
            expected = expected[0]
    weights = _dense(rule, w_start, in_spk, out_spk, "float64", **parameters, **kwargs)
    assert np.ptp(expected, axis=(0, 1)).max() > 0.01   # the weights do move
    if rule == "int":
        np.testing.assert_array_equal(weights, expected)
    else:
        np.testing.assert_allclose(weights, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("rule", ["nearest", "full", "meta", "int"])
def test_spaic_dense_timing_runs_the_checked_maths(rule):
    """What the timing function times (784 -> N, SPAIC's build pass, then the step loop) ends
    on the weights ``spaic_dense_run``, checked above against SPAIC, computes from the same
    spikes and draws; and the weights did learn."""
    torch = require_module("torch", "torch")
    bench_rules = load_script("benchmarks/bench_rules.py")
    seconds, timed = bench_rules.spaic_dense(rule, 3, 2, 0.05, 0.1, seed=4)
    assert seconds > 0
    inputs = bench_rules.spaic_dense_inputs(rule, 3, 2, 0.05, 0.1, seed=4)
    pre, post, w_start, generator = inputs
    assert not torch.equal(timed, w_start)
    expected = bench_rules.spaic_dense_run(rule, pre, post, w_start.clone(),
                                           bench_rules.STEPS_PER_SAMPLE, generator=generator)
    assert torch.equal(timed, expected)
    if rule != "int":   # the int rule's draws come from the generator: the reference has none
        expected = reference.simulate(rule, w_start.double().numpy(),
                                      pre.double().numpy().reshape(2, -1, bench_rules.N_PRE),
                                      post.double().numpy().reshape(2, -1, 3),
                                      bench_rules.SPAIC_DEFAULTS[rule])
        expected = expected[0] if rule == "meta" else expected
        np.testing.assert_allclose(timed.numpy(), expected[-1, -1], atol=1e-4, rtol=0)


def test_spaic_itself_example_network_learns_as_the_real_spaic_benchmark_builds_it():
    """``benchmarks/bench_spaic.py`` times SPAIC itself (its example network with the
    nearest_online_STDP learner): built small, it trains on two shipped digits, and its
    learner changes the input weights, so what the benchmark times is a learning network."""
    torch = require_module("torch", "torch")
    require_module("spaic", "spaic")
    from brian_stdp.mnist.data import load_digits
    bench_spaic = load_script("benchmarks/bench_spaic.py")
    images, labels, _ = load_digits()
    net, run_time = bench_spaic.spaic_network(4)
    weights = bench_spaic.input_weights(net)
    before = weights.detach().clone()
    assert tuple(before.shape) == (4, 784)
    bench_spaic.spaic_seconds_per_step(net, run_time, images[:2], labels[:2])
    assert torch.max(torch.abs(weights.detach() - before)) > 0
