"""Drive a rule open loop with recorded spikes: the Brian2 side of a parity test.

Recorded (or made-up) pre and post spikes ``[R, T, N]`` are replayed step for step into a
rule's ``Synapses`` over ``R`` runs of ``T`` steps, and its weights are read after every step,
``[R, T, post, pre]``: the same layout as the NumPy references (:mod:`brian_stdp.reference`,
:meth:`brian_stdp.rules.base.STDPRule.reference_weights`), so the two compare directly.
"""
import numpy as np


def _standalone(b2):
    return isinstance(b2.get_device(), b2.devices.cpp_standalone.device.CPPStandaloneDevice)


def object_name(b2, name):
    """``name`` for an object of an open-loop job. In runtime, the same name in every job:
    Brian2 writes object names into the generated code, so that two jobs of one rule then give
    the same cython code, compiled once and found in the cache the next time. In cpp_standalone
    a unique name (``name*``): several jobs share one program."""
    return name + "*" if _standalone(b2) else name


def spike_generator(b2, spikes, name="spikegeneratorgroup*"):
    """A SpikeGeneratorGroup replaying ``spikes [R, T, N]`` (one step = one dt)."""
    n_runs, n_steps, n = spikes.shape
    run, step, index = np.nonzero(spikes)
    times = (run * n_steps + step) * b2.defaultclock.dt
    return b2.SpikeGeneratorGroup(n, index, times, name=name)


def replay_target(b2, out_spk, thresh, name="thresh"):
    """A NeuronGroup spiking as ``out_spk [R, T, N]`` whose variable ``name`` replays
    ``thresh [R, T, N]`` (set at the start of each step, so it holds that step's value)."""
    n_runs, n_steps, n = out_spk.shape
    spikes = b2.TimedArray(out_spk.reshape(n_runs * n_steps, n).astype(float),
                           dt=b2.defaultclock.dt, name=object_name(b2, "replay_spikes"))
    values = b2.TimedArray(np.asarray(thresh, dtype=float).reshape(n_runs * n_steps, n),
                           dt=b2.defaultclock.dt, name=object_name(b2, "replay_thresh"))
    group = b2.NeuronGroup(n, f"{name} : 1", threshold="replay_spikes(t, i) > 0.5", reset="",
                           namespace={"replay_spikes": spikes, "replay_thresh": values},
                           name=object_name(b2, "replay_target"))
    group.run_regularly(f"{name} = replay_thresh(t, i)", when="start")
    return group


def build_open_loop(b2, rule, w_start, in_spk, out_spk, period=False, record="w",
                    target_model=None, plastic=True, thresh=None, draws=None, connect=None,
                    row_scaling=None):
    """Build and run (in cpp_standalone: record the runs of) ``rule`` over ``R`` runs of ``T``
    steps, in a ``Network`` of its own. Returns ``read()``, which gives ``{var: [R, T, ...]}``
    recorded at the end of every step (in cpp_standalone: after ``device.build``), and
    ``w_end``, the weights after the last step as Python reads them.
    ``b2`` is the ``brian2`` module with the device already chosen.
    ``thresh [R, T, post]``: the target also replays this as the rule's threshold variable;
    ``draws [R, T, 2, post, pre]``: recorded uniform integers replacing Brian's RNG;
    ``connect``: ``{"i": pre indices, "j": post indices}`` of the synapses, in their order
    (default: all-to-all, ``S.connect()``); ``row_scaling``: see ``rule.synapses`` (None: the
    rule's default). In cpp_standalone ``read()`` also gives
    ``dense_passes``: the steps whose compiled pass took the dense loop."""
    in_spk = np.asarray(in_spk).reshape(in_spk.shape[0], in_spk.shape[1], -1)
    out_spk = np.asarray(out_spk).reshape(out_spk.shape[0], out_spk.shape[1], -1)
    n_runs, n_steps, n_pre = in_spk.shape
    n_post = out_spk.shape[2]
    source = spike_generator(b2, in_spk, object_name(b2, "pre_spikes"))
    if thresh is not None:
        target = replay_target(b2, out_spk, np.asarray(thresh).reshape(out_spk.shape),
                               getattr(rule, "thresh_variable", "thresh"))
        # Brian also resolves names in this frame: keep the array out of the replay's code.
        del thresh
    elif target_model is None:
        target = spike_generator(b2, out_spk, object_name(b2, "post_spikes"))
    else:
        target = target_model(out_spk)
    kwargs = {"period": n_steps * b2.defaultclock.dt} if period else {}
    if row_scaling is not None:
        kwargs["row_scaling"] = row_scaling
    if draws is not None:
        from brian_stdp.rules.postpre_int import draws_table
        kwargs["draws"] = draws_table(draws)
    S = rule.synapses(source, target, name=object_name(b2, "open_loop"), **kwargs)
    if connect is None:
        S.connect()
    else:
        S.connect(i=np.asarray(connect["i"]), j=np.asarray(connect["j"]))
    rule.set_weights(S, w_start)
    # Brian resolves names in this frame too: keep a local called 'plastic' out of it.
    frozen = not plastic
    del plastic
    if frozen:
        S.plastic = False
    names = record if isinstance(record, (list, tuple)) else [record]
    n_synapses = n_pre * n_post if connect is None else len(connect["i"])
    monitor = b2.StateMonitor(S, names, record=np.arange(n_synapses), when="end",
                              name=object_name(b2, "open_loop_monitor"))
    net = b2.Network(b2.collect())
    net.add(S, source, target, monitor)
    for _ in range(n_runs):
        if not period:
            rule.reset(S)
        net.run(n_steps * b2.defaultclock.dt)

    def read():
        out = {"w_end": rule.get_weights(S)}
        i, j = np.asarray(S.i[:]), np.asarray(S.j[:])
        for name in names:
            values = getattr(monitor, name)  # [synapse, time]
            matrix = np.zeros((n_runs * n_steps, n_post, n_pre))
            matrix[:, j, i] = np.asarray(values).T
            out[name] = matrix.reshape(n_runs, n_steps, n_post, n_pre)
        counters = [obj for obj in S._brian_stdp.objects
                    if "dense_passes" in getattr(obj, "variables", {})]
        if counters:
            out["dense_passes"] = sum(np.asarray(counter.dense_passes[:]).item()
                                      for counter in counters)
        return out

    read.network = net      # keeps every object alive until the standalone build
    return read


def run_open_loop(b2, rule, w_start, in_spk, out_spk, build_directory=None, **kwargs):
    """:func:`build_open_loop`, built (cpp_standalone) and read: ``{var: [R, T, ...]}``."""
    read = build_open_loop(b2, rule, w_start, in_spk, out_spk, **kwargs)
    if _standalone(b2):
        b2.device.build(directory=build_directory, compile=True, run=True, with_output=False)
    return read()


TARGETS = ("numpy", "cython", "cpp_standalone")


def replay(rule, w_start, in_spk, out_spk, target="numpy", dt=None, directory=None, **kwargs):
    """``rule``'s weights after every step, ``[R, T, post, pre]``, in Brian2's ``target``
    (``"numpy"``, ``"cython"`` or ``"cpp_standalone"``, built in ``directory``, a temporary
    one by default), driven open loop by the spikes ``in_spk [R, T, pre]`` and
    ``out_spk [R, T, post]`` from the weights ``w_start [post, pre]``, with ``rule.reset``
    before each of the ``R`` runs, at time step ``dt`` (default: the rule's own). ``kwargs``
    go to :func:`build_open_loop` (``thresh`` and ``draws`` for the integer rule).

    Brian2's state is put back afterwards: the code generation target, ``defaultclock.dt``
    and, after a cpp_standalone build, the runtime device."""
    import tempfile

    import brian2 as b2
    from brian2 import ms
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    in_spk, out_spk = np.asarray(in_spk, dtype=float), np.asarray(out_spk, dtype=float)
    if in_spk.ndim != 3 or out_spk.ndim != 3 or in_spk.shape[:2] != out_spk.shape[:2]:
        raise ValueError("in_spk and out_spk must be [runs, steps, neurons] with the same runs "
                         f"and steps, got shapes {in_spk.shape} and {out_spk.shape}")
    w_start = np.asarray(w_start)
    if w_start.shape != (out_spk.shape[2], in_spk.shape[2]):
        raise ValueError(f"w_start must be [post, pre] = {(out_spk.shape[2], in_spk.shape[2])}, "
                         f"got shape {w_start.shape}")
    saved_target, saved_dt = b2.prefs.codegen.target, b2.defaultclock.dt
    b2.defaultclock.dt = (rule.dt * ms) if dt is None else dt
    standalone = target == "cpp_standalone"
    if standalone:
        directory = directory or tempfile.mkdtemp(prefix="brian_stdp_replay_")
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    else:
        b2.prefs.codegen.target = target
    try:
        return run_open_loop(b2, rule, w_start, in_spk, out_spk, build_directory=directory,
                             **kwargs)["w"]
    finally:
        b2.prefs.codegen.target, b2.defaultclock.dt = saved_target, saved_dt
        if standalone:
            b2.device.reinit()
            b2.set_device("runtime")
