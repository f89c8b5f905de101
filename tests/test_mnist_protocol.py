"""Diehl & Cook's protocol in the MNIST job: re-presentation and fixed thresholds.

A digit that draws fewer than ``min_spikes`` excitatory spikes is shown again, one intensity
step brighter, inside the simulation (the presenter of :mod:`brian_stdp.mnist.network`); the
NumPy account of it (:func:`brian_stdp.mnist.chunks.accepted_periods`) must agree. Labelling
and testing leave weights and thresholds as training left them, for every rule. Tiny networks,
numpy target; cpp_standalone runs the same presenter in tests/test_mnist_checkpoint.py, whose
tiny job repeats digits and must spike exactly as its numpy run.
"""
import numpy as np
import pytest

from brian_stdp import rule_class
from brian_stdp.mnist import chunks, network
from brian_stdp.mnist.defaults import tuned
from brian_stdp.mnist.pipeline import _initial_int_weights, _initial_weights

PERIOD_STEPS = 30


def test_accepted_periods_reads_the_presenter_rule():
    # 5 spikes accept; fewer repeat; a repetition carried in counts towards max_repeats.
    accepted, repeat, repeats = chunks.accepted_periods([5, 2, 7, 0, 0, 0], 0, 3, 5, 10)
    assert accepted.tolist() == [0, 2] and repeat == 3 and repeats == 4
    accepted, repeat, repeats = chunks.accepted_periods([0, 0, 9], 1, 2, 5, 2)
    assert accepted.tolist() == [1, 2] and repeat == 0 and repeats == 1  # capped at 2
    # After the table's digits, periods are idle: no repetition counted.
    accepted, repeat, repeats = chunks.accepted_periods([6, 0, 0], 0, 1, 5, 10)
    assert accepted.tolist() == [0] and repeat == 0 and repeats == 0
    # min_spikes 0: never shown again.
    assert chunks.accepted_periods([0, 0], 0, 2, 0, 10)[0].tolist() == [0, 1]


def _parts(rule_name, rows, min_spikes, max_repeats, neurons=4):
    import brian2 as b2
    b2.prefs.codegen.target = "numpy"
    rule = rule_class(rule_name)()
    rng = np.random.default_rng(0)
    protocol = dict(intensity=1.0, intensity_step=0.5, min_spikes=min_spikes,
                    max_repeats=max_repeats, theta_plus=0.05, inhibition=17.0)
    if rule.integer:
        protocol.update(tuned(rule, neurons))
        weights = _initial_int_weights(rule, neurons, rows.shape[1], rng)
        parts = network.build_int(rule, neurons, rows, PERIOD_STEPS, PERIOD_STEPS, 1.0, weights,
                                  protocol, seed=3)
    else:
        weights = _initial_weights(rule, neurons, rows.shape[1], rng)
        parts = network.build(rule, neurons, rows, PERIOD_STEPS, PERIOD_STEPS, 1.0, weights,
                              protocol, seed=3)
    return parts


def test_a_digit_with_too_few_spikes_is_shown_again_brighter():
    """Three digits, never enough spikes (min_spikes out of reach), at most 2 repetitions: each
    digit is shown 3 times at intensity 1, 1.5, 2, then the next digit; then idle."""
    import brian2 as b2
    rows = np.zeros((3, 784))
    rows[:, 0] = [40.0, 20.0, 10.0]  # pixel 0's base rate per digit, Hz
    parts = _parts("nearest", rows, min_spikes=10 ** 6, max_repeats=2)
    rates = b2.StateMonitor(parts["inputs"], "rates", record=[0], when="start")
    shown = b2.StateMonitor(parts["presenter"], ["digit", "repeat"], record=[0], when="start")
    parts["network"].add(rates, shown)
    runner = chunks.RuntimeRunner(parts, parts["network"], max_length=3)
    length = 11  # 9 periods for the digits, 2 idle
    state, spike_i, spike_t, end = runner.run(0, rows, length, True, 5, None, 0)
    at_period_start = np.arange(length) * PERIOD_STEPS
    observed = rates.rates[0][at_period_start] / b2.Hz
    expected = [base * factor for base in (40, 20, 10) for factor in (1.0, 1.5, 2.0)] + [0, 0]
    np.testing.assert_allclose(observed, expected)
    assert shown.digit[0][at_period_start].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]
    assert shown.repeat[0][at_period_start].tolist() == [0, 1, 2] * 3 + [0, 0]
    assert end == (3, 0)
    counts = chunks.spike_counts(spike_i, spike_t, runner.period_s, length, 4)
    accepted, repeat, repeats = chunks.accepted_periods(counts.sum(axis=1), 0, 3, 10 ** 6, 2)
    assert accepted.tolist() == [2, 5, 8] and repeats == 6


def test_enough_spikes_move_on_and_a_repetition_continues_into_the_next_chunk():
    """Bright digits with min_spikes 1 are accepted at once where they spike; a chunk that ends
    during a repetition hands it on (``repeat``), and the next chunk continues it."""
    rows = np.full((4, 784), 60.0)
    parts = _parts("nearest", rows, min_spikes=1, max_repeats=3)
    runner = chunks.RuntimeRunner(parts, parts["network"], max_length=4)
    state, spike_i, spike_t, end = runner.run(0, rows, 4, True, 5, None, 0)
    counts = chunks.spike_counts(spike_i, spike_t, runner.period_s, 4, 4)
    accepted, repeat, _ = chunks.accepted_periods(counts.sum(axis=1), 0, 4, 1, 3)
    assert end == (len(accepted), repeat)
    assert len(accepted) >= 1  # 784 inputs at 60 Hz for 30 ms drive the neurons
    # A chunk started in the middle of a repetition: the carried repeat sets its intensity.
    dark = np.zeros((2, 784))
    state, spike_i, spike_t, end = runner.run(1, dark, 2, True, 6, state, 2)
    assert end == (1, 0)  # repeat 2 -> 3 = max_repeats: the next period is accepted anyway


@pytest.mark.parametrize("rule_name", ["nearest", "full", "meta", "int"])
def test_labelling_and_testing_leave_weights_and_thresholds_unchanged(rule_name):
    """With learning off (``network.set_learning(parts, False)``, as for labelling and testing)
    a chunk that makes the neurons spike changes neither weights nor thresholds; the same chunk
    with learning on changes both (so the comparison can fail)."""
    rows = np.full((3, 784), 60.0)
    parts = _parts(rule_name, rows, min_spikes=0, max_repeats=0)
    runner = chunks.RuntimeRunner(parts, parts["network"], max_length=3)
    threshold = "excitatory.thresh" if rule_name == "int" else "excitatory.theta"
    trained, spike_i, _, _ = runner.run(0, rows, 3, True, 5, None, 0)
    assert len(spike_i) > 0
    frozen, spike_i, _, _ = runner.run(1, rows, 3, False, 6, trained, 0)
    assert len(spike_i) > 0, "the frozen chunk must make the neurons spike to show anything"
    np.testing.assert_array_equal(frozen["weights"], trained["weights"])
    np.testing.assert_array_equal(frozen[threshold], trained[threshold])
    learning, _, _, _ = runner.run(1, rows, 3, True, 6, trained, 0)
    assert not np.array_equal(learning["weights"], trained["weights"])
    assert not np.array_equal(learning[threshold], trained[threshold])
