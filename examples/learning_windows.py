"""
The four learning windows side by side
======================================

The weight change that one pre and one post spike cause, against the number of steps from the
pre spike to the post spike (negative: the post neuron fires first), for SPAIC's four rules
with their default parameters. The values are measured on :mod:`brian_stdp.reference`, the
executable specification that the Brian2 synapses are tested against, by the helper
``docs/learning_window.py`` that also draws the figure of each rule's page (one pair of spikes
in a run of 200 steps; the change summed over the run, before any row normalisation or
clamping).
"""
import os
import sys

import numpy as np

# This script lives in examples/ beside docs/ (sphinx-gallery runs it from examples/, without
# __file__).
HERE = os.path.dirname(os.path.abspath(globals().get("__file__", "learning_windows.py")))
sys.path.insert(0, os.path.join(HERE, os.pardir, "docs"))
import learning_window  # noqa: E402

short = bool(os.environ.get("BRIAN_STDP_EXAMPLE_SHORT"))
dts = np.arange(-40, 41, 4) if short else np.arange(-60, 61)

windows = {}
for name, (_, label) in learning_window.WINDOWS.items():
    windows[name] = (learning_window.window_values(name, dts), label)
    at = dict(zip(dts.tolist(), windows[name][0]))
    print(f"{name}: change {at[4]:.4g} when post fires 4 steps after pre, {at[-4]:.4g} when "
          f"4 steps before")
print(f"four learning windows over {len(dts)} spike timings")

# %%
# For the three float rules, potentiation when the post spike follows the pre spike and a
# depression a hundred times smaller when it precedes it (``Apre = 1e-4`` against
# ``Apost = 1e-2``); PostPreIntSTDP's default ``pre_term="add"`` adds the pre spike's term, so
# both of its sides are positive (the numbers printed above). Each panel has its own scale.
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
for ax, (name, (values, label)) in zip(axes, windows.items()):
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.plot(dts, values, ".-", ms=3, lw=1)
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("post step - pre step")
    ax.set_ylabel(label, fontsize=8)
fig.tight_layout()
plt.show()
