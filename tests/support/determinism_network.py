"""One closed-loop network with all four rules, for the cross-target determinism test.

numpy and cython: ``python -m tests.support.determinism_network TARGET OUT.npz``, a fresh
Brian2 state per target; cpp_standalone: :func:`build` as a case of a standalone batch
(:mod:`.standalone`), also a fresh process.
"""
import sys

import numpy as np


def build(b2):
    """Build and run (cpp_standalone: record) the network in the current target; returns
    ``read()``: ``{rule: final weights}``."""
    from brian_stdp import (FullOnlineSTDP, MetaNearestOnlineSTDP, NearestOnlineSTDP,
                            PostPreIntSTDP)
    from brian_stdp.neurons import TRANSMIT, diehl_cook_int, schedule_transmission
    b2.defaultclock.dt = 1 * b2.ms
    b2.seed(11)
    inputs = b2.PoissonGroup(30, rates="(5 + 60 * int(i < 10)) * Hz")
    lif = "dv/dt = -v / (10*ms) : 1"
    synapses, groups = {}, [inputs]
    for name, rule in [("nearest", NearestOnlineSTDP(w_norm=3.0)),
                       ("full", FullOnlineSTDP(w_norm=3.0)),
                       ("meta", MetaNearestOnlineSTDP())]:
        exc = b2.NeuronGroup(4, lif, threshold="v > 1", reset="v = 0", method="exact")
        groups.append(exc)
        S = rule.synapses(inputs, exc, on_pre="v_post += 0.3 * w", period=100 * b2.ms)
        S.connect()
        S.w = "rand() * 0.3"
        synapses[name] = S
    neurons = diehl_cook_int(4)
    groups.append(neurons)
    rule = PostPreIntSTDP()
    S = rule.synapses(inputs, neurons, on_pre=TRANSMIT, period=100 * b2.ms)
    S.connect()
    schedule_transmission(S)
    S.w = "int(rand() * 60)"
    synapses["int"] = S
    net = b2.Network(groups, list(synapses.values()))
    net.run(300 * b2.ms)

    def read():
        return {name: np.asarray(S.w[:]) for name, S in synapses.items()}

    read.network = net
    return read


if __name__ == "__main__":
    import brian2

    from .targets import use_target
    if sys.argv[1] == "cpp_standalone":
        sys.exit("cpp_standalone: build() as a case of a standalone batch")
    use_target(brian2, sys.argv[1])
    np.savez(sys.argv[2], **build(brian2)())
