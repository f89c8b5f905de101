"""
nearest_online_STDP: a minimal network
======================================

A minimal network learning with SPAIC's nearest_online_STDP (Diehl & Cook's rule).

100 Poisson inputs drive 10 leaky neurons; the input weights learn. The rule's constants are
per time step, so pick dt first (traces decay by exp(-1/20) per step: tau = 20 steps).
"""
import os

import numpy as np
from brian2 import NeuronGroup, PoissonGroup, defaultclock, ms, run, seed

from brian_stdp import NearestOnlineSTDP

duration = 50 * ms if os.environ.get("BRIAN_STDP_EXAMPLE_SHORT") else 1000 * ms
seed(1)
defaultclock.dt = 1 * ms

inputs = PoissonGroup(100, rates="(5 + 40 * int(i < 20)) * Hz")   # inputs 0-19 fire more
neurons = NeuronGroup(10, "dv/dt = -v / (20*ms) : 1", threshold="v > 1", reset="v = 0",
                      method="exact")
rule = NearestOnlineSTDP(w_norm=10.0)               # each neuron's weights sum to 10
S = rule.synapses(inputs, neurons, on_pre="v_post += w")
S.connect()
rule.set_weights(S, np.full((10, 100), 0.1))        # SPAIC's [post, pre] matrix

run(duration)

W = rule.get_weights(S)
print(f"after {duration}: mean weight from the busy inputs {W[:, :20].mean():.3f}, "
      f"from the others {W[:, 20:].mean():.3f}; row sums {W.sum(axis=1).round(2)}")

# %%
# The weight matrix as SPAIC stores it, ``[post, pre]``: one row per output neuron, one column
# per input. Inputs 0-19 fire at 45 Hz, the others at 5 Hz.
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(7, 2.8))
image = ax.imshow(W, aspect="auto", interpolation="nearest", cmap="viridis")
ax.set_xlabel("input (pre) neuron")
ax.set_ylabel("output (post) neuron")
ax.set_title(f"nearest_online_STDP weights after {duration}")
fig.colorbar(image, ax=ax, label="w")
fig.tight_layout()
plt.show()
