"""
meta_nearest_online_STDP: a minimal network
===========================================

A minimal network learning with SPAIC's Meta_nearest_online_STDP.

This rule keeps each neuron's mean weight near a slowly drifting target instead of normalising
the row sum, with soft bounds w_min/w_max.
"""
import os

import numpy as np
from brian2 import NeuronGroup, PoissonGroup, defaultclock, ms, run, seed

from brian_stdp.rules.meta_nearest_online import MetaNearestOnlineSTDP

duration = 50 * ms if os.environ.get("BRIAN_STDP_EXAMPLE_SHORT") else 1000 * ms
seed(1)
defaultclock.dt = 1 * ms

inputs = PoissonGroup(100, rates="(5 + 40 * int(i < 20)) * Hz")
neurons = NeuronGroup(10, "dv/dt = -v / (20*ms) : 1", threshold="v > 1", reset="v = 0",
                      method="exact")
rule = MetaNearestOnlineSTDP()
S = rule.synapses(inputs, neurons, on_pre="v_post += w")
S.connect()
rule.set_weights(S, np.full((10, 100), 0.1))

run(duration)

W = rule.get_weights(S)
print(f"after {duration}: busy inputs {W[:, :20].mean():.3f}, others {W[:, 20:].mean():.3f}; "
      f"row means {W.mean(axis=1).round(3)}")

# %%
# The weight matrix as SPAIC stores it, ``[post, pre]``: one row per output neuron, one column
# per input. Inputs 0-19 fire at 45 Hz, the others at 5 Hz.
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(7, 2.8))
image = ax.imshow(W, aspect="auto", interpolation="nearest", cmap="viridis")
ax.set_xlabel("input (pre) neuron")
ax.set_ylabel("output (post) neuron")
ax.set_title(f"meta_nearest_online_STDP weights after {duration}")
fig.colorbar(image, ax=ax, label="w")
fig.tight_layout()
plt.show()
