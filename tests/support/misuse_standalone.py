"""Misuse in cpp_standalone (the standalone device is global state).

Refusals, one per process (``python -m tests.support.misuse_standalone ...`` from the
repository root):

``network_operation BUILD_DIR``: a rule's Synapses with a Python ``network_operation`` in the
network; ``run()`` must raise before anything is built. Prints the error's cause and exits 3
when refused, 0 when the run went through.

A run: :func:`build_hand_built`, a case of a standalone batch (:mod:`.standalone`): a hand-built
Synapses with the wrong delays on the rule's pathways, attached and run.
"""
import sys

import numpy as np


def network_operation(build_directory):
    import brian2 as b2
    from brian_stdp import NearestOnlineSTDP
    b2.set_device("cpp_standalone", directory=build_directory)   # build_on_run: run() builds
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    source = b2.PoissonGroup(5, rates=50 * b2.Hz)
    target = b2.NeuronGroup(2, "v : 1", threshold="v > 1", reset="v = 0")
    S = NearestOnlineSTDP(w_norm=1.0).synapses(source, target)
    S.connect()

    @b2.network_operation(dt=1 * b2.ms, name="normalise_from_python")
    def normalise_from_python():
        S.w = S.w[:] / 2

    net = b2.Network(source, target, S, normalise_from_python)
    try:
        net.run(10 * b2.ms)
    except Exception as error:       # Brian wraps what an object's before_run raises
        print(f"{type(error.__cause__).__name__}: {error.__cause__}")
        sys.exit(3)


def build_hand_built(b2):
    """The hand-built Synapses, run for 60 steps; ``read()`` gives the final weights ``w``
    and the case (``w_start``, ``in_spk``, ``out_spk``)."""
    from brian_stdp import FullOnlineSTDP

    from .openloop import spike_generator
    rng = np.random.default_rng(5)
    b2.defaultclock.dt = 1 * b2.ms
    in_spk = (rng.random((1, 60, 6)) < 0.3).astype(float)
    out_spk = (rng.random((1, 60, 3)) < 0.3).astype(float)
    rule = FullOnlineSTDP(w_norm=2.0)
    source, target = spike_generator(b2, in_spk), spike_generator(b2, out_spk)
    S = b2.Synapses(source, target, model=rule.model, on_pre=rule.on_pre, on_post=rule.on_post,
                    delay={"learn_pre": 0 * b2.ms, "learn_post": 5 * b2.ms},
                    namespace=rule.namespace())
    rule.attach(S)
    S.connect()
    w_start = rng.random((3, 6))
    rule.set_weights(S, w_start)
    b2.run(60 * b2.ms)       # collects source, target and S from this frame

    def read():
        return dict(w=rule.get_weights(S), w_start=w_start, in_spk=in_spk, out_spk=out_spk)

    read.objects = (source, target, S)
    return read


if __name__ == "__main__":
    if sys.argv[1] == "network_operation":
        network_operation(sys.argv[2])
    else:
        sys.exit(f"unknown case {sys.argv[1]!r}")
