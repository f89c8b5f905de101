"""Helpers of tests/test_misuse_matrix.py: the four rules on replayed spikes, and the NumPy
reference of SPAIC's rules on a network where some synapses do not exist.

Run as ``python -m tests.support.misuse_matrix BUILD_DIR OUT.npz`` (from the repository root) for
the one cpp_standalone program of that file: Meta across ``device.run(run_args=...)``.
"""
import sys
from dataclasses import replace

import numpy as np

from brian_stdp import reference
from brian_stdp.rendering import attachment_of

#: The rules of the matrix, by short name: amplitudes large enough that a few steps change
#: every rule's weights visibly; the integer rule halves its rows once the replayed threshold
#: passes 1200 (late in the second run).
PARAMS = {
    "nearest": dict(Apost=0.1, Apre=0.05, w_norm=1.5),
    "full": dict(Apost=0.1, Apre=0.05, w_norm=1.5),
    "meta": dict(Apost=0.05, Apre=0.02),
    "int": dict(max_threshold=1200),
}


def make_rules():
    from brian_stdp import rule_class
    return {name: rule_class(name)(**params) for name, params in PARAMS.items()}


def replay_group(b2, spikes, thresh=None, name="replay*"):
    """A NeuronGroup spiking as ``spikes [R, T, N]`` (steps of the current ``dt``), with a
    variable ``thresh`` replaying ``thresh [R, T, N]`` (zeros by default) and ``v`` (for user
    transmission code). Unlike a SpikeGeneratorGroup it can be sliced (``G[:3]``). Returns the
    group and its two TimedArrays."""
    n_runs, n_steps, n = spikes.shape
    thresh = np.zeros(spikes.shape) if thresh is None else np.asarray(thresh, dtype=float)
    dt = b2.defaultclock.dt
    spike_table = b2.TimedArray(spikes.reshape(n_runs * n_steps, n).astype(float), dt=dt,
                                name="replay_spikes*")
    thresh_table = b2.TimedArray(thresh.reshape(n_runs * n_steps, n), dt=dt,
                                 name="replay_thresh*")
    group = b2.NeuronGroup(n, "thresh : 1\nv : 1", threshold="spike_table(t, i) > 0.5",
                           reset="", name=name, namespace={"spike_table": spike_table,
                                                           "thresh_table": thresh_table})
    group.run_regularly("thresh = thresh_table(t, i)", when="start")
    return group, spike_table, thresh_table


def make_case(seed, n_pre=6, n_post=4, n_runs=2, n_steps=25, n_groups=None):
    """Random spikes ``in_spk [R, T, n_pre]``, ``out_spk [R, T, n_post]``, a threshold that
    grows with the post spikes ``thresh [R, T, n_post]``, rounding draws
    ``[R, T, 2, n_post, n_pre]`` and start weights per rule (``{short name: [post, pre]}``)."""
    rng = np.random.default_rng(seed)
    in_spk = (rng.random((n_runs, n_steps, n_pre)) < 0.3).astype(float)
    out_spk = (rng.random((n_runs, n_steps, n_post)) < 0.3).astype(float)
    counts = np.cumsum(out_spk.reshape(-1, n_post), axis=0).reshape(out_spk.shape)
    thresh = 213.0 + 66.0 * counts
    draws = rng.integers(0, 2 ** 14, (n_runs, n_steps, 2, n_post, n_pre))
    w_start = {"nearest": rng.uniform(0.1, 0.6, (n_post, n_pre)),
               "full": rng.uniform(0.1, 0.6, (n_post, n_pre)),
               "meta": rng.uniform(0.2, 0.8, (n_post, n_pre)),
               "int": rng.integers(20, 100, (n_post, n_pre)).astype(float)}
    return dict(in_spk=in_spk, out_spk=out_spk, thresh=thresh, draws=draws, w_start=w_start)


def expected(name, rule, case, mask=None):
    """The reference's weights after every step ``[R, T, post, pre]`` for ``case`` (keys as
    :func:`make_case`), on the synapses of ``mask [post, pre]`` (all by default)."""
    kwargs = {}
    if name == "int":
        kwargs = dict(thresh=case["thresh"], draws=case["draws"])
    import brian2
    rule = rule.at_dt(brian2.defaultclock.dt)  # the decays the network runs with
    params = (rule.namespace() if name != "int"
              else {**PARAMS["int"], "trace_decay": rule.trace_decay})
    if mask is None or mask.all():
        result = reference.simulate(name, case["w_start"][name], case["in_spk"],
                                    case["out_spk"], params, **kwargs)
        return result[0] if name == "meta" else result
    return masked_simulate(name, case["w_start"][name], case["in_spk"], case["out_spk"],
                           mask, params, **kwargs)


# ---- the reference where some synapses do not exist --------------------------------------------
def masked_simulate(name, w_start, in_spk, out_spk, mask, params, thresh=None, draws=None):
    """SPAIC's rule on a network whose synapse ``(post, pre)`` exists where ``mask`` is True:
    the expected semantics of sparse connectivity, stated as changes to the reference.

    - nearest, full: an absent synapse has weight 0 and receives no change (the reference's
      ``dw`` is masked before it is stored), so it stays 0: a row's normalisation sums the
      existing synapses only.
    - meta: the same, and a row's mean weight (at initialisation and at every step) is over
      the row's existing synapses (``sum / count``; a row without synapses has mean 0), where
      SPAIC's dense matrix divides by the number of pre neurons. ``aw_mean`` and the drift
      stay means over every post neuron.
    - int: every synapse learns from its own pre and post neuron alone (traces, draws, the
      row's halving and the clamp are per synapse), so the dense reference, read on the
      existing synapses, is exact.

    Returns ``[R, T, post, pre]``, 0 where no synapse exists.
    """
    mask = np.asarray(mask, dtype=bool)
    if name == "int":
        return reference.simulate("int", w_start, in_spk, out_spk, params, thresh=thresh,
                                  draws=draws) * mask
    weight = np.where(mask, w_start, 0.0)
    n_runs, n_steps = in_spk.shape[:2]
    weights = np.zeros((n_runs, n_steps) + mask.shape)
    meta_state = None
    for run in range(n_runs):
        if name == "meta":
            meta_state = (_masked_meta_initial(weight, mask) if meta_state is None
                          else reference.meta_nearest_online_run_start(meta_state))
            state = meta_state
        else:
            state = reference.nearest_online_initial_state(weight)
        for k in range(n_steps):
            p = in_spk[run, k - 1] if k else np.zeros(in_spk.shape[2])
            q = out_spk[run, k - 1] if k else np.zeros(out_spk.shape[2])
            if name == "nearest":
                state = reference.nearest_online_step(state, p, q, **params)
            elif name == "full":
                state = reference.full_online_step(state, p, q, k == n_steps - 1, **params)
            else:
                state = _masked_meta_step(state, p, q, mask, **params)
            if name != "meta":
                state = replace(state, dw_stored=state.dw_stored * mask)
            weights[run, k] = state.weight
        weight = state.weight
        meta_state = state if name == "meta" else None
    return weights


def _row_means(weight, mask):
    count = mask.sum(axis=1)
    return (weight * mask).sum(axis=1) / (count + (count == 0))


def _masked_meta_initial(weight, mask):
    w_mean = _row_means(weight, mask)
    return reference.MetaState(weight, np.zeros(mask.shape[1]), np.zeros(mask.shape[0]),
                               w_mean, float(w_mean.mean()))


def _masked_meta_step(state, p, q, mask, Apost, Apre, pre_decay, post_decay, w_min, w_max):
    """reference.meta_nearest_online_step with the row means over existing synapses."""
    input_trace = pre_decay * state.input_trace * (p <= 0) + p
    output_trace = post_decay * state.output_trace * (q <= 0) + q
    dw = (Apost * np.outer(q, input_trace) - Apre * np.outer(output_trace, p)) * mask
    w_mean = state.w_mean - 0.1 * Apre * (output_trace - output_trace.mean())
    w_mean = w_mean * state.aw_mean / w_mean.mean()
    weight = state.weight
    soft_clamp = ((dw < 0) * np.exp(-0.2 / np.maximum(weight - w_min, 1e-4))
                  + (dw > 0) * np.exp(-0.2 / np.maximum(w_max - weight, 1e-4)))
    row_mean = np.maximum(_row_means(weight, mask), 1e-6)
    weight = weight * (w_mean / row_mean)[:, None] + dw * soft_clamp
    return reference.MetaState(weight, input_trace, output_trace, w_mean, state.aw_mean)


# ---- the four rules in one network ------------------------------------------------------------
def learn(b2, case, source, target, connect, rules=None, groups=None, objects=(), **kwargs):
    """Every rule of ``rules`` (default :func:`make_rules`) from ``source`` to ``target`` (both
    replaying ``case``'s spikes), connected by ``connect(S)``, started from ``case``'s
    weights, run for ``case``'s runs with ``rule.reset`` before each, in
    a ``b2.Network`` of ``groups`` (default: source and target; the whole groups of
    subgroups), the synapses and ``objects``, built by hand. ``kwargs`` go to
    ``rule.synapses``. Returns ``{name: (rule, S)}`` and ``{"network": net}``."""
    from brian_stdp.rules.postpre_int import draws_table
    rules = make_rules() if rules is None else rules
    built = {}
    for name, rule in rules.items():
        extra = dict(kwargs)
        if name == "int":
            extra["draws"] = draws_table(case["draws"])
        S = rule.synapses(source, target, **extra)
        connect(S)
        set_start_weights(name, rule, S, case["w_start"][name])
        built[name] = (rule, S)
    groups = groups or [source] + ([target] if target is not source else [])
    net = b2.Network(*groups, *(S for _, S in built.values()), *objects)
    n_runs, n_steps = case["in_spk"].shape[:2]
    for _ in range(n_runs):
        for rule, S in built.values():
            rule.reset(S)
        net.run(n_steps * b2.defaultclock.dt)
    built["network"] = net
    return built


def set_start_weights(name, rule, S, w_start):
    """``w_start [post, pre]`` into ``S`` (per synapse: multisynapses too)."""
    S.w[:] = w_start[np.asarray(S.j[:]), np.asarray(S.i[:])]


def weights_by_synapse(S):
    return np.asarray(S.w[:], dtype=float)


# ---- Meta across device.run(run_args=...) (one cpp_standalone build) -----------------------------
ROW_STATE = ("w_mean", "aw_mean", "output_trace", "initialised", "row_weight_sum")


def meta_run_args(build_directory, out_file):
    """One program: Meta and full_online from replayed spikes (chunk A), built and run; then
    run again with chunk B's spikes through ``run_args`` and, for Meta, with and without the
    row state passed back. Saves every result in ``out_file``."""
    import brian2 as b2
    from brian_stdp import FullOnlineSTDP, MetaNearestOnlineSTDP, brian2_private
    b2.set_device("cpp_standalone", build_on_run=False)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    b2.defaultclock.dt = 1 * b2.ms
    rng = np.random.default_rng(3)
    n_steps, n_pre, n_post = 30, 6, 4
    in_spk = (rng.random((2, n_steps, n_pre)) < 0.3).astype(float)
    out_spk = (rng.random((2, n_steps, n_post)) < 0.3).astype(float)
    source, in_table, _ = replay_group(b2, in_spk[:1], name="source")
    target, out_table, _ = replay_group(b2, out_spk[:1], name="target")
    meta = MetaNearestOnlineSTDP(Apre=0.01, Apost=0.05)
    full = FullOnlineSTDP(Apost=0.1, Apre=0.05, w_norm=1.5)
    w_meta = rng.uniform(0.2, 0.8, (n_post, n_pre))
    w_full = rng.uniform(0.1, 0.6, (n_post, n_pre))
    S = meta.synapses(source, target, name="meta")
    F = full.synapses(source, target, name="full")
    # (no local named like a model variable: Brian2 also looks names up in this frame)
    for rule, syn, start in ((meta, S, w_meta), (full, F, w_full)):
        syn.connect()
        rule.set_weights(syn, start)
    rows = attachment_of(S).post_state
    b2.run(n_steps * b2.ms)
    with brian2_private.code_objects_in_one_file(b2.device):
        b2.device.build(directory=build_directory, compile=True, run=True, with_output=False)
    out = dict(in_spk=in_spk, out_spk=out_spk, w_meta=w_meta, w_full=w_full,
               meta_a=meta.get_weights(S), full_a=full.get_weights(F))
    w_a, f_a = np.array(S.w[:]), np.array(F.w[:])
    state = {name: np.array(getattr(rows, name)[:]) for name in ROW_STATE}
    chunk_b = {in_table: in_spk[1], out_table: out_spk[1]}
    for label, passed in (("meta_b_all_state", ROW_STATE),
                          ("meta_b_without_row_sums", ROW_STATE[:4]),
                          ("meta_b_weights_only", ())):
        run_args = dict(chunk_b)
        run_args[S.w] = w_a
        run_args[F.w] = f_a
        run_args.update({getattr(rows, name): state[name] for name in passed})
        b2.device.run(run_args=run_args, with_output=False)
        out[label] = meta.get_weights(S)
        out["full_b"] = full.get_weights(F)
    np.savez(out_file, **out)


if __name__ == "__main__":
    meta_run_args(sys.argv[1], sys.argv[2])
