"""One closed-loop network with all four rules, for the cross-target determinism test.

Run as a script (``python determinism_network.py TARGET OUT.npz``) so that every target, the
standalone device included, starts from a fresh Brian2 state.
"""
import sys

import numpy as np


def run(target, build_directory=None):
    import brian2 as b2
    from brian_stdp import (FullOnlineSTDP, MetaNearestOnlineSTDP, NearestOnlineSTDP,
                            PostPreIntSTDP)
    from brian_stdp.neurons import TRANSMIT, diehl_cook_int, schedule_transmission
    from targets import use_target
    use_target(b2, target)
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
    if target == "cpp_standalone":
        b2.device.build(directory=build_directory, compile=True, run=True, with_output=False)
    return {name: np.asarray(S.w[:]) for name, S in synapses.items()}


if __name__ == "__main__":
    result = run(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 else None)
    np.savez(sys.argv[2], **result)
