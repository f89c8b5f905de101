"""
Loading a rule from a template
==============================

Rules as plain data: write a template, edit it, load it, train with it.

The same JSON is what ``brian-stdp template nearest > my_rule.json`` prints and what
``brian-stdp mnist --rule-file my_rule.json`` reads.
"""
import json
import os
import tempfile

import numpy as np
from brian2 import Hz, NeuronGroup, PoissonGroup, defaultclock, ms, run, seed

from brian_stdp import NearestOnlineSTDP, load_rule

path = os.path.join(tempfile.mkdtemp(), "my_rule.json")
NearestOnlineSTDP().save(path)                       # the defaults, as JSON

with open(path) as handle:                           # edit it as any JSON file
    template = json.load(handle)
template["parameters"]["Apost"] = 0.02
template["parameters"]["w_norm"] = 10.0
with open(path, "w") as handle:
    json.dump(template, handle, indent=2)

rule = load_rule(path)                               # checks the name and every value
print(f"loaded {rule!r}")

try:                                                 # a typo is named, not ignored
    NearestOnlineSTDP.from_dict({"rule": "nearest_online_STDP", "parameters": {"Apots": 0.1}})
except ValueError as error:
    print(f"refused: {error}")

duration = 50 * ms if os.environ.get("BRIAN_STDP_EXAMPLE_SHORT") else 500 * ms
seed(1)
defaultclock.dt = 1 * ms
inputs = PoissonGroup(100, rates=20 * Hz)
neurons = NeuronGroup(10, "dv/dt = -v / (20*ms) : 1", threshold="v > 1", reset="v = 0",
                      method="exact")
S = rule.synapses(inputs, neurons, on_pre="v_post += w")
S.connect()
rule.set_weights(S, np.full((10, 100), 0.1))
run(duration)
print(f"row sums after {duration}: {rule.get_weights(S).sum(axis=1).round(2)}")

# %%
# The weights the edited rule learned, as SPAIC's ``[post, pre]`` matrix (every input at
# 20 Hz).
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(7, 2.8))
image = ax.imshow(rule.get_weights(S), aspect="auto", interpolation="nearest", cmap="viridis")
ax.set_xlabel("input (pre) neuron")
ax.set_ylabel("output (post) neuron")
ax.set_title(f"weights of the loaded rule (Apost = 0.02, w_norm = 10) after {duration}")
fig.colorbar(image, ax=ax, label="w")
fig.tight_layout()
plt.show()
