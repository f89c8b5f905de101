"""A small closed loop of PostPreIntSTDP and SPAIC's integer neuron, for cross-target checks.

numpy and cython: :func:`run` in this process; cpp_standalone: :func:`build` as a case of a
standalone batch (:mod:`.standalone`), which starts from a fresh Brian2 state.
"""
import numpy as np

STATE = ("V", "Isyn_used", "thresh", "refrac_count")


def build(b2, float_shift=False, steps=300):
    """Build and run (cpp_standalone: record) the 30 -> 4 closed loop in the current target;
    returns ``read()``: neuron state at every step, spikes and final weights."""
    from brian_stdp import PostPreIntSTDP
    from brian_stdp.neurons import TRANSMIT, diehl_cook_int, schedule_transmission
    b2.defaultclock.dt = 1 * b2.ms
    b2.seed(11)
    inputs = b2.PoissonGroup(30, rates="(5 + 60 * int(i < 10)) * Hz")
    neurons = diehl_cook_int(4, float_shift=float_shift)
    rule = PostPreIntSTDP(halving="float" if float_shift else "floor")
    S = rule.synapses(inputs, neurons, on_pre=TRANSMIT)
    S.connect()
    schedule_transmission(S)
    S.w = "int(rand() * 60)"
    spikes = b2.SpikeMonitor(neurons)
    state = b2.StateMonitor(neurons, list(STATE), record=True, when="end")
    net = b2.Network(inputs, neurons, S, spikes, state)
    net.run(steps * b2.defaultclock.dt)

    def read():
        out = {name: np.asarray(getattr(state, name)[:]) for name in STATE}
        out.update(spike_i=np.asarray(spikes.i[:]),
                   spike_step=np.round(np.asarray(spikes.t[:] / b2.defaultclock.dt)).astype(int),
                   w=np.asarray(S.w[:]))
        return out

    read.network = net
    return read


def run(target, float_shift=False, steps=300):
    """:func:`build` in ``target`` (numpy or cython), in this process, and read. In cython,
    ``uncompiled`` lists the code objects whose compilation failed."""
    import brian2 as b2

    from .targets import use_target
    use_target(b2, target)
    read = build(b2, float_shift=float_shift, steps=steps)
    out = read()
    if target == "cython":
        # Brian2 2.9 swallows a Cython compile error and then skips that code block at every
        # step; make such a failure visible instead of a silently frozen object.
        skipped = [codeobj.name for obj in read.network.objects for codeobj in _code_objects(obj)
                   for block, compiled in codeobj.compiled_code.items()
                   if compiled is None and getattr(codeobj.code, block, "").strip()
                   and "EMPTY_CODE_BLOCK" not in getattr(codeobj.code, block)]
        out["uncompiled"] = np.array(sorted(set(skipped)), dtype=str)
    return out


def _code_objects(obj):
    found = [c for c in getattr(obj, "_code_objects", []) if hasattr(c, "compiled_code")]
    for contained in getattr(obj, "contained_objects", []):
        found.extend(_code_objects(contained))
    return found
