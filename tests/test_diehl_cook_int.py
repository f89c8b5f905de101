"""SPAIC's integer Diehl & Cook neuron with PostPreIntSTDP, closed loop against SPAIC itself."""
import numpy as np
import pytest

from brian_stdp import PostPreIntSTDP, reference
from brian_stdp.neurons import (SPAIC_CONSTANTS, TRANSMIT, diehl_cook_int, run_start,
                                schedule_transmission)
from brian_stdp.rules.postpre_int import draws_table
from tests.support import int_network, standalone
from tests.support.openloop import spike_generator


RECORDED = ("V", "thresh", "refrac_count", "Isyn")


def neuron_spec(state, w, x_prev, c, float_shift):
    """One step of SPAIC's ``diehlAndCook`` in NumPy (the spec the Brian2 group is checked
    against; itself checked against SPAIC's recordings below)."""
    V, thresh, refrac = state
    shift = (lambda a, b: a / 2 ** b) if float_shift else (lambda a, b: a // 2 ** b)
    thresh = np.where(thresh > c["max_threshold"], shift(thresh, 1), thresh)
    refrac = refrac - c["delta"]
    current = np.clip(w @ x_prev, c["weight_sum_min"], c["weight_sum_max"])
    v_new = (shift(c["decay"] * V, c["shift_voltage"])
             + shift(c["weight_sum_coef"] * np.trunc(current), c["shift_weight_sum_coef"]))
    V = np.maximum(np.where(refrac < 0, v_new, V), c["lbound"])
    spikes = V > thresh
    V = np.where(spikes, c["Vreset"], V)
    refrac = np.where(spikes, c["reset_refrac"], refrac)
    thresh = thresh + spikes * c["thresh_plus"]
    return (V, thresh, refrac), spikes, current


def closed_loop_spec(data, float_shift):
    """Neuron spec + the reference rule, driven only by the input spikes and the draws."""
    c = dict(SPAIC_CONSTANTS, max_threshold=data["params"]["neuron_constants"]["max_threshold"])
    params = {"max_threshold": int(data["params"]["learner"]["max_threshold"])}
    in_spk = data["in_spk"][:, :, 0]
    n_runs, n_steps, n_pre = in_spk.shape
    weight = data["w_after_build"].astype(float if float_shift else np.int64)
    n_post = weight.shape[0]
    dtype = float if float_shift else np.int64
    thresh, refrac = np.full(n_post, 213, dtype), np.full(n_post, -1, np.int64)
    out = {key: np.zeros((n_runs, n_steps, n_post)) for key in RECORDED + ("out_spk",)}
    weights = np.zeros((n_runs, n_steps, n_post, n_pre))
    for run in range(n_runs):
        state = (np.zeros(n_post, dtype), thresh, refrac)
        rule = reference.postpre_int_initial_state(weight, float_shift=float_shift)
        x_prev = np.zeros(n_pre)
        for k in range(n_steps):
            state, spikes, current = neuron_spec(state, rule.weight, x_prev, c, float_shift)
            rule = reference.postpre_int_step(rule, in_spk[run, k], spikes, state[1],
                                              data["rand_draws"][run, k],
                                              float_shift=float_shift, **params)
            for key, value in zip(RECORDED + ("out_spk",), state + (current, spikes)):
                out[key][run, k] = value
            weights[run, k] = rule.weight
            x_prev = in_spk[run, k]
        weight, thresh, refrac = rule.weight, state[1], state[2]
    return weights, out


def closed_loop_brian(b2, data, float_shift):
    b2.defaultclock.dt = 1 * b2.ms
    in_spk = data["in_spk"][:, :, 0]
    n_runs, n_steps, n_pre = in_spk.shape
    n_post = data["w_after_build"].shape[0]
    rule = PostPreIntSTDP(max_threshold=int(data["params"]["learner"]["max_threshold"]),
                          halving="float" if float_shift else "floor")
    source = spike_generator(b2, in_spk)
    group = diehl_cook_int(n_post, float_shift=float_shift, max_threshold=int(
        data["params"]["neuron_constants"]["max_threshold"]))
    group.refrac_count = -1   # SPAIC's build pass already decrements once
    S = rule.synapses(source, group, on_pre=TRANSMIT, draws=draws_table(data["rand_draws"]))
    S.connect()
    schedule_transmission(S)
    rule.set_weights(S, data["w_after_build"])
    weights = b2.StateMonitor(S, "w", record=True, when="end")
    neurons = b2.StateMonitor(group, ["V", "thresh", "refrac_count", "Isyn_used"],
                              record=True, when="end")
    spikes = b2.SpikeMonitor(group)
    net = b2.Network(source, group, S, weights, neurons, spikes)
    for _ in range(n_runs):
        rule.reset(S)
        run_start(group)
        net.run(n_steps * b2.defaultclock.dt)
    steps = n_runs * n_steps
    w = np.zeros((steps, n_post, n_pre))
    w[:, S.j[:], S.i[:]] = weights.w[:].T
    out = {key: getattr(neurons, name)[:].T.reshape(n_runs, n_steps, n_post)
           for key, name in zip(RECORDED, ("V", "thresh", "refrac_count", "Isyn_used"))}
    fired = np.zeros((steps, n_post))
    fired[np.round(spikes.t[:] / b2.defaultclock.dt).astype(int), spikes.i[:]] = 1
    out["out_spk"] = fired.reshape(n_runs, n_steps, n_post)
    return w.reshape(n_runs, n_steps, n_post, n_pre), out, group


@pytest.mark.golden
@pytest.mark.parametrize("name", ["postpreintstdp", "postpreintstdp_halving"])
def test_spec_reproduces_spaic_closed_loop(golden, name):
    data = golden(name)
    weights, out = closed_loop_spec(data, float_shift=True)
    np.testing.assert_array_equal(weights, data["weight"])
    for key in ("thresh", "refrac_count", "out_spk", "Isyn"):
        np.testing.assert_array_equal(out[key], data[key][:, :, 0], err_msg=key)
    np.testing.assert_allclose(out["V"], data["V"][:, :, 0], atol=1e-3, rtol=0)  # float32


@pytest.mark.golden
@pytest.mark.parametrize("name", ["postpreintstdp", "postpreintstdp_halving"])
def test_brian_float_shift_reproduces_spaic_closed_loop(golden, name):
    import brian2 as b2
    data = golden(name)
    weights, out, _ = closed_loop_brian(b2, data, float_shift=True)
    assert data["out_spk"].sum() > 50
    np.testing.assert_array_equal(weights, data["weight"])
    for key in ("thresh", "refrac_count", "out_spk", "Isyn"):
        np.testing.assert_array_equal(out[key], data[key][:, :, 0], err_msg=key)
    np.testing.assert_allclose(out["V"], data["V"][:, :, 0], atol=1e-3, rtol=0)


@pytest.mark.golden
@pytest.mark.parametrize("name", ["postpreintstdp", "postpreintstdp_halving"])
def test_brian_integer_neuron_matches_the_integer_spec(golden, name):
    import brian2 as b2
    data = golden(name)
    weights, out, group = closed_loop_brian(b2, data, float_shift=False)
    spec_weights, spec = closed_loop_spec(data, float_shift=False)
    assert np.issubdtype(group.variables["V"].dtype, np.integer)
    np.testing.assert_array_equal(weights, spec_weights)
    for key in RECORDED + ("out_spk",):
        np.testing.assert_array_equal(out[key], spec[key], err_msg=key)
    # integer semantics really differ from SPAIC's float shift somewhere (floors accumulate)
    assert np.any(out["V"] != data["V"][:, :, 0])
    assert np.all(out["V"] == np.round(out["V"]))


def test_threshold_refractory_and_halving_properties():
    import brian2 as b2
    b2.defaultclock.dt = 1 * b2.ms
    group = diehl_cook_int(1, max_threshold=300)
    group.Isyn = 0
    drive = b2.NeuronGroup(1, "", threshold="True", reset="")   # input every step
    S = b2.Synapses(drive, group, "w : integer", on_pre=TRANSMIT)
    S.connect()
    schedule_transmission(S)
    S.w = 5000        # (154 * 5000) // 1024 = 751 per step: fires whenever not refractory
    monitor = b2.StateMonitor(group, ["thresh", "refrac_count", "V"], record=0, when="end")
    spikes = b2.SpikeMonitor(group)
    b2.run(16 * b2.ms)
    steps = np.round(spikes.t[:] / b2.ms).astype(int)
    # first input arrives at step 1; refractory for reset_refrac steps after each spike
    assert list(steps) == [1, 7, 13]
    thresh = monitor.thresh[0]
    assert thresh[1] == 213 + 66 and thresh[7] == 213 + 2 * 66
    assert thresh[8] == (213 + 2 * 66) // 2         # above max_threshold: halved next step
    assert thresh[13] == (213 + 2 * 66) // 2 + 66
    assert np.all(monitor.V[0][2:7] == 0)           # held at reset while refractory
    assert monitor.refrac_count[0][1] == 5 and monitor.refrac_count[0][6] == 0


def _assert_same_closed_loop(result, expected, target, atol=0):
    """Integer state bit for bit; with ``float_shift`` the fractional ``V`` / ``thresh`` may
    differ in the last bit between numpy's and C's float operations (``atol``)."""
    for key in ("spike_i", "spike_step", "refrac_count"):
        np.testing.assert_array_equal(result[key], expected[key], err_msg=f"{key} in {target}")
    for key in ("V", "Isyn_used", "thresh", "w"):
        np.testing.assert_allclose(result[key], expected[key], rtol=0, atol=atol,
                                   err_msg=f"{key} in {target}")


@pytest.mark.parametrize("float_shift", [False, True])
def test_closed_loop_neuron_state_same_in_numpy_and_cython(float_shift):
    """Regression: in cython the integer neuron's update (``int(Isyn_used)`` on an int32) did
    not compile, Brian2 skipped it silently and the neurons never received any input."""
    expected = int_network.run("numpy", float_shift=float_shift)
    assert expected["Isyn_used"].max() > 0 and len(expected["spike_i"]) > 0  # not trivially 0
    result = int_network.run("cython", float_shift=float_shift)
    assert list(result["uncompiled"]) == [], "code blocks Brian2 failed to compile and skips"
    _assert_same_closed_loop(result, expected, "cython", atol=1e-9 if float_shift else 0)


# cpp_standalone: a case of the float64 batch (one build with the other modules' cases)
STANDALONE = standalone.batch("float64")
STANDALONE.add("diehl_cook_int:closed_loop", dict, builder="tests.support.int_network:build")


@STANDALONE
def test_closed_loop_neuron_state_same_in_cpp_standalone():
    result = STANDALONE.result("diehl_cook_int:closed_loop")
    expected = int_network.run("numpy")
    assert expected["Isyn_used"].max() > 0 and len(expected["spike_i"]) > 0
    _assert_same_closed_loop(result, expected, "cpp_standalone")


def test_bad_constants():
    with pytest.raises(ValueError, match="unknown constant"):
        diehl_cook_int(2, tau=3)
    with pytest.raises(TypeError, match="decay must be an integer"):
        diehl_cook_int(2, decay=0.5)
    with pytest.raises(ValueError, match="shift_voltage"):
        diehl_cook_int(2, shift_voltage=40)
