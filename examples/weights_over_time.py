"""
Weights evolving under Poisson input
====================================

How the weights of SPAIC's ``nearest_online_STDP`` move while 100 Poisson inputs drive 10
leaky neurons: inputs 0-19 fire at 45 Hz, the others at 5 Hz. A ``StateMonitor`` records every
synapse's weight ``w`` every 10 ms, as for any Brian2 ``Synapses``.
"""
import os

import numpy as np
from brian2 import NeuronGroup, PoissonGroup, StateMonitor, defaultclock, ms, run, seed

from brian_stdp import NearestOnlineSTDP

duration = 100 * ms if os.environ.get("BRIAN_STDP_EXAMPLE_SHORT") else 2000 * ms
seed(1)
defaultclock.dt = 1 * ms

inputs = PoissonGroup(100, rates="(5 + 40 * int(i < 20)) * Hz")
neurons = NeuronGroup(10, "dv/dt = -v / (20*ms) : 1", threshold="v > 1", reset="v = 0",
                      method="exact")
rule = NearestOnlineSTDP(w_norm=10.0)               # each neuron's weights sum to 10
S = rule.synapses(inputs, neurons, on_pre="v_post += w")
S.connect()
rule.set_weights(S, np.full((10, 100), 0.1))
# Recorded in the "end" slot: after the rule's work of the step.
monitor = StateMonitor(S, "w", record=True, dt=10 * ms, when="end")

run(duration)

busy = np.asarray(S.i[:]) < 20                     # synapses from the 45 Hz inputs
w = np.asarray(monitor.w)                          # [synapse, sample]
print(f"mean weight from the busy inputs: {w[busy, 0].mean():.3f} -> {w[busy, -1].mean():.3f}; "
      f"from the others: {w[~busy, 0].mean():.3f} -> {w[~busy, -1].mean():.3f} "
      f"({w.shape[1]} samples)")
print(f"each neuron's weights sum to {rule.get_weights(S).sum(axis=1).round(2)} at the end")

# %%
# Left, the mean weight from the busy and from the quiet inputs; right, the weights of one
# neuron's synapses (neuron 0), each line one input. The row normalisation keeps every
# neuron's weights summing to ``w_norm``, so what the busy inputs gain the others lose.
import matplotlib.pyplot as plt  # noqa: E402

t = np.asarray(monitor.t / ms)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
left.plot(t, w[busy].mean(axis=0), label="inputs 0-19 (45 Hz)")
left.plot(t, w[~busy].mean(axis=0), label="inputs 20-99 (5 Hz)")
left.set_xlabel("time (ms)")
left.set_ylabel("w")
left.set_title("mean weight", fontsize=10)
left.legend(fontsize=8)
neuron0 = np.asarray(S.j[:]) == 0
for rows, color in ((neuron0 & busy, "C0"), (neuron0 & ~busy, "C1")):
    right.plot(t, w[rows].T, color=color, lw=0.6, alpha=0.6)
right.set_xlabel("time (ms)")
right.set_title("neuron 0, each input", fontsize=10)
fig.tight_layout()
plt.show()
