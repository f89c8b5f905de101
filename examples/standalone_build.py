"""
cpp_standalone: one build presenting many samples
=================================================

Build once with cpp_standalone, then present new inputs without recompiling.

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
after_chunk = [rule.get_weights(S)]
for chunk in range(1, n_chunks):
    new_rates = rng.uniform(0, 40, size=(n_samples, 100)) * Hz
    device.run(run_args={input_rates: new_rates, S.w: weights})      # no recompilation
    weights = np.asarray(S.w[:])
    after_chunk.append(rule.get_weights(S))
    print(f"chunk {chunk}: mean weight {weights.mean():.4f}, max {weights.max():.3f}")
print(f"{n_chunks * n_samples} presentations from one build in {build_dir}")

# %%
# The weights (SPAIC's ``[post, pre]`` matrix) after each chunk of presentations: every chunk
# is one run of the same compiled program, started from the weights the previous one ended
# with.
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(n_chunks, 1, figsize=(7, 1.6 * n_chunks + 0.6), sharex=True,
                         squeeze=False)
vmax = max(W.max() for W in after_chunk)
for chunk, (ax, W) in enumerate(zip(axes[:, 0], after_chunk)):
    image = ax.imshow(W, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0,
                      vmax=vmax)
    ax.set_ylabel("post")
    ax.set_title(f"after chunk {chunk} ({(chunk + 1) * n_samples} presentations)", fontsize=9)
axes[-1, 0].set_xlabel("input (pre) neuron")
fig.colorbar(image, ax=axes[:, 0], label="w")
plt.show()
