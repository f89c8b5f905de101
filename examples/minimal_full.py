"""
full_online_STDP: one presentation per period
=============================================

A minimal network learning with SPAIC's full_online_STDP, one presentation per period.

The rule normalises each neuron's weights on the last step of a SPAIC run. ``period=`` makes
every 100 ms one such run inside a single Brian2 run: traces are cleared at each period start
and the weights normalised at its end, with no Python between presentations.
"""
import os

import numpy as np
from brian2 import NeuronGroup, PoissonGroup, defaultclock, ms, run, seed

from brian_stdp import FullOnlineSTDP

periods = 2 if os.environ.get("BRIAN_STDP_EXAMPLE_SHORT") else 20
seed(1)
defaultclock.dt = 1 * ms

inputs = PoissonGroup(100, rates="(5 + 40 * int(i < 20)) * Hz")
neurons = NeuronGroup(10, "dv/dt = -v / (20*ms) : 1", threshold="v > 1", reset="v = 0",
                      method="exact")
rule = FullOnlineSTDP(w_norm=10.0)
S = rule.synapses(inputs, neurons, on_pre="v_post += w", period=100 * ms)
S.connect()
rule.set_weights(S, np.full((10, 100), 0.1))

run(periods * 100 * ms)

W = rule.get_weights(S)
print(f"after {periods} presentations: busy inputs {W[:, :20].mean():.3f}, others "
      f"{W[:, 20:].mean():.3f}; row sums {W.sum(axis=1).round(2)} (normalised each period)")

# %%
# The weight matrix as SPAIC stores it, ``[post, pre]``: one row per output neuron, one column
# per input. Inputs 0-19 fire at 45 Hz, the others at 5 Hz.
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(7, 2.8))
image = ax.imshow(W, aspect="auto", interpolation="nearest", cmap="viridis")
ax.set_xlabel("input (pre) neuron")
ax.set_ylabel("output (post) neuron")
ax.set_title(f"full_online_STDP weights after {periods} presentations")
fig.colorbar(image, ax=ax, label="w")
fig.tight_layout()
plt.show()
