"""Learning windows: the weight change one pre/post spike pair causes, against their timing.

Each window is measured on :mod:`brian_stdp.reference` (the executable spec that the Brian2
renderings are tested against): one pre and one post neuron, one run of ``RUN_STEPS`` steps,
the pre spike at step ``PRE_STEP`` and the post spike ``dt`` steps later (``dt < 0``: post
first). The plotted change is the sum over the run of the change the rule computes each step,
read from the reference's state, before the row normalisation and clamping that some rules add.

Run ``python docs/learning_window.py OUTDIR [RULE ...]`` to write ``<rule>_window.png`` for
each rule named (every rule by default). ``docs/conf.py`` runs it when building, for every
figure missing or older than this script or the reference. A new rule joins with one entry in
``WINDOWS``.
"""
import os
import sys

import numpy as np

from brian_stdp import reference

RUN_STEPS = 200
PRE_STEP = 100
DTS = np.arange(-60, 61)



def pair(dt, n_steps=RUN_STEPS):
    """Pre and post spike trains ``[T]`` (0/1) with the post spike ``dt`` steps after the pre."""
    pre, post = np.zeros(n_steps), np.zeros(n_steps)
    pre[PRE_STEP] = 1
    post[PRE_STEP + dt] = 1
    return pre, post


def active_steps(dt, lag):
    """The steps at which the pair can change anything: from the first spike to ``lag`` steps
    after the last (before, every trace is still zero; after, nothing is left to change)."""
    first, last = min(PRE_STEP, PRE_STEP + dt), max(PRE_STEP, PRE_STEP + dt)
    return range(first, min(last + lag + 1, RUN_STEPS))


def stored_change_window(step, **params):
    """Rules whose state holds the change computed this step (``dw_stored``): nearest, full."""
    def window(dt):
        pre, post = pair(dt)
        state = reference.nearest_online_initial_state(np.full((1, 1), 0.5))
        total = 0.0
        for k in active_steps(dt, 1):   # step k sees the spikes of step k - 1, as in SPAIC
            state = step(state, pre[k - 1:k], post[k - 1:k], **params)
            total += state.dw_stored[0, 0]
        return total
    return window


def meta_window(**params):
    """Meta: with one post and one pre neuron the homeostatic scaling puts the weight back to
    its target mean every step, so each step's change is ``dw`` times the soft bound, taken at
    the starting weight 0.5."""
    def window(dt):
        pre, post = pair(dt)
        start = np.full((1, 1), 0.5)
        state = reference.meta_nearest_online_initial_state(start)
        total = 0.0
        for k in active_steps(dt, 1):
            state = reference.meta_nearest_online_step(state, pre[k - 1:k], post[k - 1:k],
                                                       **params)
            total += state.weight[0, 0] - start[0, 0]
            state = reference.MetaState(start.copy(), state.input_trace, state.output_trace,
                                        state.w_mean, state.aw_mean)
        return total
    return window


def int_window(shift=14, **params):
    """PostPreInt: the expected change (stochastic rounding averaged exactly, by giving 2**shift
    identical synapses every possible random draw), in weight units of the integer rule."""
    n = 2 ** shift
    draws = np.broadcast_to(np.arange(n), (2, 1, n))

    def window(dt):
        pre, post = pair(dt)
        state = reference.postpre_int_initial_state(np.full((1, n), 50))
        for k in active_steps(dt, 0):   # this rule sees the spikes of this step
            state = reference.postpre_int_step(state, np.full(n, pre[k]), post[k:k + 1],
                                               np.zeros(1), draws, shift=shift, **params)
        return float(state.weight.mean() - 50)
    return window


#: rule name (as in ``STDPRule.name``) -> (function of dt giving the change, y-axis label)
WINDOWS = {
    "nearest_online_STDP": (stored_change_window(reference.nearest_online_step), "weight change"),
    "full_online_STDP": (stored_change_window(
        lambda state, p, q: reference.full_online_step(state, p, q, normalise=False)),
        "weight change"),
    "meta_nearest_online_STDP": (meta_window(), "weight change at w = 0.5"),
    "PostPreIntSTDP": (int_window(), "expected weight change (integer units)"),
}


def window_values(rule_name, dts=DTS):
    function, _ = WINDOWS[rule_name]
    return np.array([function(int(dt)) for dt in dts])


def plot(rule_name, path, dts=DTS):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    values = window_values(rule_name, dts)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), dpi=100,
                             gridspec_kw={"width_ratios": [2, 1]})
    negative = dts < 0
    for ax, keep, title in ((axes[0], slice(None), rule_name),
                            (axes[1], negative, "post first (zoom)")):
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.plot(dts[keep], values[keep], ".-", ms=3, lw=1)
        ax.set_xlabel("post spike step - pre spike step")
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel(WINDOWS[rule_name][1])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(outdir, names=None):
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for name in names or WINDOWS:
        path = os.path.join(outdir, f"{name}_window.png")
        plot(name, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    print("\n".join(main(sys.argv[1] if len(sys.argv) > 1 else "_generated", sys.argv[2:])))
