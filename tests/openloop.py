"""Drive a rule open loop with recorded spikes, as shared/golden/README.md describes."""
import json
import os

import numpy as np

GOLDEN = os.environ.get("BRIAN_STDP_GOLDEN",
                        os.path.join(os.path.dirname(__file__), "..", "..", "shared", "golden"))


def load_golden(name):
    data = dict(np.load(os.path.join(GOLDEN, name + ".npz")))
    data["params"] = json.loads(str(data["params_json"]))
    return data


def spike_generator(b2, spikes):
    """A SpikeGeneratorGroup replaying ``spikes [R, T, N]`` (one step = one dt)."""
    n_runs, n_steps, n = spikes.shape
    run, step, index = np.nonzero(spikes)
    times = (run * n_steps + step) * b2.defaultclock.dt
    return b2.SpikeGeneratorGroup(n, index, times)


def replay_target(b2, out_spk, thresh, name="thresh"):
    """A NeuronGroup spiking as ``out_spk [R, T, N]`` whose variable ``name`` replays
    ``thresh [R, T, N]`` (set at the start of each step, so it holds that step's value)."""
    n_runs, n_steps, n = out_spk.shape
    spikes = b2.TimedArray(out_spk.reshape(n_runs * n_steps, n).astype(float),
                           dt=b2.defaultclock.dt, name="replay_spikes")
    values = b2.TimedArray(np.asarray(thresh, dtype=float).reshape(n_runs * n_steps, n),
                           dt=b2.defaultclock.dt, name="replay_thresh")
    group = b2.NeuronGroup(n, f"{name} : 1", threshold="replay_spikes(t, i) > 0.5", reset="",
                           namespace={"replay_spikes": spikes, "replay_thresh": values})
    group.run_regularly(f"{name} = replay_thresh(t, i)", when="start")
    return group


def run_open_loop(b2, rule, w_start, in_spk, out_spk, period=False, record="w",
                  target_model=None, build_directory=None, plastic=True, thresh=None,
                  draws=None):
    """Run ``rule`` over ``R`` runs of ``T`` steps; returns ``{var: [R, T, ...]}`` recorded at
    the end of every step. ``b2`` is the ``brian2`` module with the device already chosen.
    ``thresh [R, T, post]``: the target also replays this as the rule's threshold variable;
    ``draws [R, T, 2, post, pre]``: recorded uniform integers replacing Brian's RNG."""
    in_spk = np.asarray(in_spk).reshape(in_spk.shape[0], in_spk.shape[1], -1)
    out_spk = np.asarray(out_spk).reshape(out_spk.shape[0], out_spk.shape[1], -1)
    n_runs, n_steps, n_pre = in_spk.shape
    n_post = out_spk.shape[2]
    source = spike_generator(b2, in_spk)
    if thresh is not None:
        target = replay_target(b2, out_spk, np.asarray(thresh).reshape(out_spk.shape),
                               getattr(rule, "thresh_variable", "thresh"))
        # Brian also resolves names in this frame: keep the array out of the replay's code.
        del thresh
    elif target_model is None:
        target = spike_generator(b2, out_spk)
    else:
        target = target_model(out_spk)
    kwargs = {"period": n_steps * b2.defaultclock.dt} if period else {}
    if draws is not None:
        from brian_stdp.rules.postpre_int import draws_table
        kwargs["draws"] = draws_table(draws)
    S = rule.synapses(source, target, **kwargs)
    S.connect()
    rule.set_weights(S, w_start)
    # Brian resolves names in this frame too: keep a local called 'plastic' out of it.
    frozen = not plastic
    del plastic
    if frozen:
        S.plastic = False
    names = record if isinstance(record, (list, tuple)) else [record]
    monitor = b2.StateMonitor(S, names, record=np.arange(n_pre * n_post), when="end")
    net = b2.Network(b2.collect())
    net.add(S, source, target, monitor)
    for run in range(n_runs):
        if not period:
            rule.reset(S)
        net.run(n_steps * b2.defaultclock.dt)
    if isinstance(b2.get_device(), b2.devices.cpp_standalone.device.CPPStandaloneDevice):
        b2.device.build(directory=build_directory, compile=True, run=True, with_output=False)
    out = {}
    i, j = np.asarray(S.i[:]), np.asarray(S.j[:])
    for name in names:
        values = getattr(monitor, name)  # [synapse, time]
        matrix = np.zeros((n_runs * n_steps, n_post, n_pre))
        matrix[:, j, i] = np.asarray(values).T
        out[name] = matrix.reshape(n_runs, n_steps, n_post, n_pre)
    return out


def run_job(job):
    """Run one open-loop job (a dict: ``rule`` as ``to_dict()``, ``w_start``, ``in_spk``,
    ``out_spk`` and optional ``period``, ``record``, ``plastic``, ``thresh``, ``draws``,
    ``seed``, ``float32``, ``openmp_threads``) in the current target."""
    import brian2 as b2
    from brian_stdp import rule_class
    b2.defaultclock.dt = 1 * b2.ms
    job = dict(job)
    rule_data = job.pop("rule")
    rule = rule_class(rule_data["rule"]).from_dict(rule_data)
    if job.get("seed") is not None:
        b2.seed(job["seed"])
    job.pop("seed", None)
    # float32: Brian2's default float type for everything built (a global preference, put back
    # afterwards for the tests that follow in this process).
    float_dtype = b2.prefs.core.default_float_dtype
    if job.pop("float32", False):
        b2.prefs.core.default_float_dtype = np.float32
    if "openmp_threads" in job:
        # cpp_standalone's OpenMP threads (only a standalone process, which builds one
        # program and ends, gets such a job)
        b2.prefs.devices.cpp_standalone.openmp_threads = job.pop("openmp_threads")
    try:
        return run_open_loop(b2, rule, **job)
    finally:
        b2.prefs.core.default_float_dtype = float_dtype


if __name__ == "__main__":
    import pickle
    import sys
    import brian2 as b2
    with open(sys.argv[1], "rb") as handle:
        job = pickle.load(handle)
    from targets import use_target
    use_target(b2, "cpp_standalone")
    result = run_job(job)
    with open(sys.argv[1] + ".out", "wb") as handle:
        pickle.dump(result, handle)
