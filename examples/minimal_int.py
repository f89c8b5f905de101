"""
PostPreIntSTDP: integer weights with SPAIC's integer neuron
===========================================================

A minimal network learning with SPAIC's PostPreIntSTDP and its integer Diehl & Cook neuron.

Everything is integer: weights in [w_min, w_max] = [0, 109], traces in Q15, stochastic rounding
drawn from Brian's random numbers. The rule reads the neurons' adaptive threshold ``thresh`` and
halves a neuron's weights while it exceeds ``max_threshold``. The weights reach the neurons
through the ``transmit`` pathway, scheduled after the rule (SPAIC's order).
"""
import os

import numpy as np
from brian2 import PoissonGroup, defaultclock, ms, run, seed

from brian_stdp.neurons import TRANSMIT, diehl_cook_int, schedule_transmission
from brian_stdp.rules.postpre_int import PostPreIntSTDP

duration = 50 * ms if os.environ.get("BRIAN_STDP_EXAMPLE_SHORT") else 1000 * ms
seed(1)
defaultclock.dt = 1 * ms

inputs = PoissonGroup(100, rates="(5 + 40 * int(i < 20)) * Hz")
neurons = diehl_cook_int(10)
rule = PostPreIntSTDP()
S = rule.synapses(inputs, neurons, on_pre=TRANSMIT)
S.connect()
schedule_transmission(S)
rule.set_weights(S, np.full((10, 100), 20))

run(duration)

W = rule.get_weights(S)
print(f"after {duration}: busy inputs {W[:, :20].mean():.1f}, others {W[:, 20:].mean():.1f} "
      f"(integers in [0, 109]); thresholds {np.asarray(neurons.thresh[:]).astype(int)}")

# %%
# The weight matrix as SPAIC stores it, ``[post, pre]``: one row per output neuron, one column
# per input. Inputs 0-19 fire at 45 Hz, the others at 5 Hz.
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(7, 2.8))
image = ax.imshow(W, aspect="auto", interpolation="nearest", cmap="viridis")
ax.set_xlabel("input (pre) neuron")
ax.set_ylabel("output (post) neuron")
ax.set_title(f"PostPreIntSTDP weights after {duration}")
fig.colorbar(image, ax=ax, label="w (integer)")
fig.tight_layout()
plt.show()
