"""Build once with cpp_standalone, then present new inputs without recompiling.

The rates of every presentation are a TimedArray (one row per presentation); ``period=`` makes
each presentation one SPAIC run inside the simulation. ``device.run(run_args=...)`` re-runs the
compiled program with other rates and the weights learned so far: the way to stream many
samples through one compilation.
"""
import os
import tempfile

import numpy as np
from brian2 import (Hz, NeuronGroup, PoissonGroup, TimedArray, defaultclock, device, ms, prefs,
                    run, seed, set_device)

from brian_stdp import NearestOnlineSTDP

short = bool(os.environ.get("BRIAN_STDP_EXAMPLE_SHORT"))
n_samples, n_chunks = (2, 2) if short else (20, 3)
build_dir = os.environ.get("BRIAN_STDP_EXAMPLE_BUILD") or tempfile.mkdtemp(prefix="stdp_build_")

set_device("cpp_standalone", build_on_run=False, directory=build_dir)
prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]   # brian2 2.9 runs make -j unbounded
seed(1)
defaultclock.dt = 1 * ms
presentation = 100 * ms

rng = np.random.default_rng(0)
input_rates = TimedArray(rng.uniform(0, 40, size=(n_samples, 100)) * Hz, dt=presentation)
inputs = PoissonGroup(100, rates="input_rates(t, i)")
neurons = NeuronGroup(10, "dv/dt = -v / (20*ms) : 1", threshold="v > 1", reset="v = 0",
                      method="exact")
rule = NearestOnlineSTDP(w_norm=10.0)
S = rule.synapses(inputs, neurons, on_pre="v_post += w", period=presentation)
S.connect()
rule.set_weights(S, np.full((10, 100), 0.1))

run(n_samples * presentation)
device.build(directory=build_dir, compile=True, run=True)     # compiles once
weights = np.asarray(S.w[:])
for chunk in range(1, n_chunks):
    new_rates = rng.uniform(0, 40, size=(n_samples, 100)) * Hz
    device.run(run_args={input_rates: new_rates, S.w: weights})      # no recompilation
    weights = np.asarray(S.w[:])
    print(f"chunk {chunk}: mean weight {weights.mean():.4f}, max {weights.max():.3f}")
print(f"{n_chunks * n_samples} presentations from one build in {build_dir}")
