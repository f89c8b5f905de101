"""How the rules drop into ordinary Brian2 networks."""
import brian2 as b2
import numpy as np
import pytest

from brian_stdp import FullOnlineSTDP, NearestOnlineSTDP, reference
from tests.support.cases import random_spikes, spike_groups
from tests.support.openloop import spike_generator


def test_quickstart_network_runs_and_learns():
    b2.defaultclock.dt = 0.5 * b2.ms
    inputs = b2.PoissonGroup(50, rates=40 * b2.Hz)
    exc = b2.NeuronGroup(5, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0",
                         method="exact")
    rule = NearestOnlineSTDP(w_norm=5.0)
    S = rule.synapses(inputs, exc, on_pre="v_post += w")
    S.connect()
    S.w = "rand() * 0.3"
    start = np.array(S.w[:])
    b2.run(100 * b2.ms)
    weights = rule.get_weights(S)
    assert weights.shape == (5, 50)
    assert not np.allclose(S.w[:], start)
    np.testing.assert_allclose(weights.sum(axis=1), 5.0, rtol=1e-9)


def test_closed_loop_transmission_sees_the_previous_steps_weights():
    """SPAIC's order inside a step: synapses transmit, neurons update, then the learner runs.
    Transmission at step k therefore uses the weights the learner left at step k-1."""
    b2.defaultclock.dt = 1 * b2.ms
    rng = np.random.default_rng(8)
    in_spk, out_spk, source, target = spike_groups(b2, rng, n_pre=5, n_post=2, steps=40)
    rule = NearestOnlineSTDP(Apost=0.2, Apre=0.05, w_norm=2.0)
    S = rule.synapses(source, target)
    S.connect()
    w_start = rng.random((2, 5))
    rule.set_weights(S, w_start)
    monitor = b2.StateMonitor(S, "w", record=np.arange(10), when="end")
    # what a transmitting pathway (order -1 in the 'synapses' slot) reads
    seen = b2.StateMonitor(S, "w", record=np.arange(10), when="synapses", order=0)
    b2.run(40 * b2.ms)
    expected = reference.simulate("nearest", w_start, in_spk, out_spk, rule.namespace())[0]
    i, j = np.asarray(S.i[:]), np.asarray(S.j[:])
    at_end = np.asarray(monitor.w).T            # [step, synapse]
    during = np.asarray(seen.w).T
    np.testing.assert_allclose(at_end, expected[:, j, i], atol=1e-9)
    # during step k (transmission time) the weights are those after step k-1
    np.testing.assert_allclose(during[1:], expected[:-1, j, i], atol=1e-9)
    np.testing.assert_allclose(during[0], w_start[j, i], atol=1e-12)


def test_two_rules_with_different_parameters_stay_independent():
    rng = np.random.default_rng(3)
    b2.defaultclock.dt = 1 * b2.ms
    in_spk, out_spk, source, target = spike_groups(b2, rng)
    w_start = rng.random((3, 6))
    rules = [NearestOnlineSTDP(Apost=0.05, w_norm=2.0), NearestOnlineSTDP(Apost=0.2, w_norm=3.0)]
    synapses = []
    for rule in rules:
        S = rule.synapses(source, target)
        S.connect()
        rule.set_weights(S, w_start)
        synapses.append(S)
    b2.run(60 * b2.ms)
    for rule, S in zip(rules, synapses):
        expected = reference.simulate("nearest", w_start, in_spk, out_spk, rule.namespace())
        np.testing.assert_allclose(rule.get_weights(S), expected[0, -1], atol=1e-9)


def test_hand_built_synapses_from_templates():
    rng = np.random.default_rng(4)
    b2.defaultclock.dt = 1 * b2.ms
    in_spk, out_spk, source, target = spike_groups(b2, rng)
    rule = FullOnlineSTDP(w_norm=2.0)
    S = b2.Synapses(source, target, model=rule.model, on_pre=rule.on_pre, on_post=rule.on_post,
                    delay=rule.pathway_delays(), namespace=rule.namespace())
    rule.attach(S)
    S.connect()
    w_start = rng.random((3, 6))
    rule.set_weights(S, w_start)
    net = b2.Network(b2.collect())
    net.run(60 * b2.ms)
    expected = reference.simulate("full", w_start, in_spk, out_spk, rule.namespace())
    np.testing.assert_allclose(rule.get_weights(S), expected[0, -1], atol=1e-9)


def test_attach_refuses_synapses_without_the_rule_variables():
    source = b2.PoissonGroup(3, rates=10 * b2.Hz)
    S = b2.Synapses(source, source, model="v : 1")
    with pytest.raises(TypeError, match="lacks the variable.s. w that the rule needs"):
        NearestOnlineSTDP().attach(S)


def test_attach_refuses_synapses_without_the_delayed_pathways():
    source = b2.PoissonGroup(3, rates=10 * b2.Hz)
    rule = NearestOnlineSTDP()
    S = b2.Synapses(source, source, model=rule.model, on_pre=rule.on_pre, on_post=rule.on_post,
                    namespace=rule.namespace())
    with pytest.raises(TypeError, match="pathway_delays"):
        rule.attach(S)


def test_target_without_spikes_is_refused():
    source = b2.PoissonGroup(3, rates=10 * b2.Hz)
    with pytest.raises(ValueError, match="threshold"):
        NearestOnlineSTDP().synapses(source, b2.NeuronGroup(2, "v : 1"))


def test_attach_twice_is_refused():
    source = b2.PoissonGroup(3, rates=10 * b2.Hz)
    rule = NearestOnlineSTDP()
    S = rule.synapses(source, source)
    with pytest.raises(ValueError, match="already"):
        rule.attach(S)


def test_user_model_and_pathways_are_merged():
    b2.defaultclock.dt = 1 * b2.ms
    source = b2.SpikeGeneratorGroup(2, [0, 1], [1, 2] * b2.ms)
    target = b2.NeuronGroup(1, "x : 1", threshold="False")
    rule = NearestOnlineSTDP(w_norm=1.0)
    S = rule.synapses(source, target, model="count : 1", on_pre="count += 1\nx_post += w")
    S.connect()
    S.w = 0.5
    b2.run(5 * b2.ms)
    np.testing.assert_array_equal(S.count[:], [1, 1])
    assert target.x[0] > 0


@pytest.mark.parametrize("bad, match", [
    (dict(trace_pre=0.0), "trace_pre"), (dict(trace_pre=1.5), "trace_pre"),
    (dict(trace_post=-0.1), "trace_post"), (dict(w_norm=0), "w_norm"),
    (dict(w_norm=-2.0), "w_norm"), (dict(Apost=float("nan")), "Apost"),
    (dict(Apre=float("inf")), "Apre"),
])
def test_bad_values_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        NearestOnlineSTDP(**bad)


@pytest.mark.parametrize("bad, match", [
    (dict(Apost="0.01"), "Apost"), (dict(w_norm=True), "w_norm"),
    (dict(trace_decay=0.9 * b2.ms), "trace_decay"),
])
def test_bad_types_are_refused(bad, match):
    with pytest.raises(TypeError, match=match):
        FullOnlineSTDP(**bad)


def test_unknown_keyword_is_refused():
    with pytest.raises(TypeError, match="lr"):
        NearestOnlineSTDP(lr=0.5)


def test_parameters_are_frozen():
    rule = NearestOnlineSTDP()
    with pytest.raises(AttributeError):
        rule.Apost = 1.0


def test_spaic_defaults():
    rule = NearestOnlineSTDP()
    assert (rule.Apost, rule.Apre, rule.w_norm) == (1e-2, 1e-4, 78.4)
    assert rule.trace_pre == rule.trace_post == pytest.approx(np.exp(-1 / 20))
    assert FullOnlineSTDP().trace_decay == pytest.approx(np.exp(-1 / 20))


@pytest.mark.parametrize("period, error", [(10, TypeError), (0.25 * b2.ms, ValueError),
                                            (-1 * b2.ms, ValueError)])
def test_bad_period_is_refused(period, error):
    source = b2.PoissonGroup(3, rates=10 * b2.Hz)
    with pytest.raises(error, match="period"):
        NearestOnlineSTDP().synapses(source, source, period=period)


def test_weight_matrix_round_trip_with_sparse_connectivity():
    source = b2.PoissonGroup(4, rates=10 * b2.Hz)
    target = b2.NeuronGroup(3, "v : 1", threshold="False")
    rule = NearestOnlineSTDP()
    S = rule.synapses(source, target)
    S.connect(condition="i != j")
    matrix = np.arange(12, dtype=float).reshape(3, 4) / 20
    rule.set_weights(S, matrix)
    got = rule.get_weights(S, fill=np.nan)
    mask = ~np.isnan(got)
    np.testing.assert_array_equal(got[mask], matrix[mask])
    assert np.isnan(got[[0, 1, 2], [0, 1, 2]]).all()
    with pytest.raises(ValueError, match="shape"):
        rule.set_weights(S, np.zeros((4, 3)))


def test_one_rule_object_for_two_synapses_and_two_rules_on_one_target():
    """A rule is a frozen parameter record: the same object may drive several Synapses, and
    several rules may learn onto the same target group; each keeps its own state."""
    rng = np.random.default_rng(12)
    b2.defaultclock.dt = 1 * b2.ms
    in_a, out_spk, source_a, target = spike_groups(b2, rng)
    in_b = random_spikes(rng, 1, 60, 6, 0.3)
    source_b = spike_generator(b2, in_b)
    shared = NearestOnlineSTDP(w_norm=2.0)
    other = FullOnlineSTDP(w_norm=2.5)
    cases = [(shared, source_a, in_a, "nearest"), (shared, source_b, in_b, "nearest"),
             (other, source_a, in_a, "full")]
    w_start = rng.random((3, 6))
    synapses = []
    for rule, source, _, _ in cases:
        S = rule.synapses(source, target)
        S.connect()
        rule.set_weights(S, w_start)
        synapses.append(S)
    b2.run(60 * b2.ms)
    for (rule, _, in_spk, name), S in zip(cases, synapses):
        expected = reference.simulate(name, w_start, in_spk, out_spk, rule.namespace())
        np.testing.assert_allclose(rule.get_weights(S), expected[0, -1], atol=1e-9)


def test_a_weight_kept_as_a_row_factor_times_a_value_would_break_brian2_idioms():
    """Why ``w`` stays a stored per-synapse variable (docs/benchmarks.rst): as a subexpression
    ``w = scale_post * u`` (normalising a row in O(1) by changing its factor), Brian2 2.9.0 would
    refuse both ``S.w = ...`` and a StateMonitor recording ``w``."""
    b2.start_scope()
    group = b2.NeuronGroup(3, "scale : 1")
    S = b2.Synapses(group, group, "u : 1\nw = scale_post * u : 1")
    S.connect()
    with pytest.raises(TypeError, match="read-only"):
        S.w = 0.5
    with pytest.raises(TypeError, match="precalculate direct indices"):
        b2.StateMonitor(S, "w", record=[0, 1])
    # the stored weight every rule uses takes both
    rule = NearestOnlineSTDP()
    stored = rule.synapses(b2.PoissonGroup(3, 10 * b2.Hz), b2.PoissonGroup(3, 10 * b2.Hz))
    stored.connect()
    stored.w = 0.5
    b2.StateMonitor(stored, "w", record=[0, 1])


OPENMP_CODE = '''
import sys
import brian2 as b2
b2.set_device("cpp_standalone", directory=sys.argv[1], build_on_run=False)
b2.prefs.devices.cpp_standalone.openmp_threads = 2
source = b2.NeuronGroup(4, "v : 1", threshold="v > 1")
target = b2.NeuronGroup(3, "total : 1")
S = b2.Synapses(source, target, "w : 1", on_pre="total_post += w", name="synapses")
S.connect()
S.run_regularly("total_post += w", name="every_synapse")
b2.run(1 * b2.ms)
b2.device.build(directory=sys.argv[1], compile=False, run=False)
'''


def test_openmp_splits_a_synapse_run_regularly_over_threads_but_not_a_pathway_writing_rows(
        tmp_path):
    """Why brian_stdp refuses OpenMP threads for nearest_online and Meta (whose pass over every
    synapse adds into row sums) and allows them for full_online and PostPreIntSTDP (whose row
    writes are in pathways): Brian2 2.9.0 generates a ``run_regularly`` over synapses as one
    loop shared out over the threads, a post-synaptic write in it unprotected, while a
    pathway that writes post-synaptic state runs on one thread."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", OPENMP_CODE, str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    code = tmp_path / "code_objects"
    every_synapse = (code / "every_synapse_codeobject.cpp").read_text()
    loop = every_synapse[every_synapse.index("#pragma omp parallel for schedule(static)"):]
    # the row written by every synapse of the loop shared out over the threads, unprotected
    assert "_total[_postsynaptic_idx] = total_post;" in loop.split("}")[0]
    assert "atomic" not in every_synapse and "critical" not in every_synapse
    pathway = (code / "synapses_pre_codeobject.cpp").read_text()
    assert "#pragma omp master" in pathway and "omp for" not in pathway
    assert "_total[_postsynaptic_idx] = total_post;" in pathway
