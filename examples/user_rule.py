"""
Writing a rule SPAIC does not have: soft-bound STDP
===================================================

A new rule is a small class (:mod:`brian_stdp.authoring`): its parameters, with meaning and
allowed values, and its Brian2 code. Here, pair-based STDP with multiplicative (soft) bounds
(van Rossum et al. 2000): every pre and post neuron keeps a trace that decays by
``trace_decay`` per step and grows by 1 on each spike; a post spike potentiates by
``Apost * pre trace * (1 - w)``, a pre spike depresses by ``Apre * post trace * w``, so the
weights approach 0 and 1 without a clamp. The class gets for free what SPAIC's four rules get:
validation, time constants with units, JSON templates, ``rule.synapses``, the refusal of
names that clash with the user's model, and every Brian2 target. Its NumPy reference,
``reference_weights``, is the hook a parity test compares Brian2 against.
"""
import dataclasses
import os
import tempfile
from typing import ClassVar

import numpy as np
from brian2 import ms

from brian_stdp.authoring import (Order, STDPRule, amplitude, check_against_reference,
                                  decay_factor, parameter, replay)


@dataclasses.dataclass(frozen=True)
class SoftBoundSTDP(STDPRule):
    """Pair-based STDP with soft bounds: changes scale with the distance to the bound."""
    Apost: float = parameter(0.05, "potentiation on a post spike, times the pre trace and "
                                   "(1 - w)", amplitude)
    Apre: float = parameter(0.06, "depression on a pre spike, times the post trace and w",
                            amplitude)
    trace_decay: float = parameter(float(np.exp(-1 / 20)), "per-step decay of both traces",
                                   decay_factor)

    name: ClassVar[str] = "soft_bound_STDP"
    short_name: ClassVar[str] = "soft_bound"
    time_constants: ClassVar[dict] = {"tau_trace": "trace_decay"}   # tau_trace=20*ms works
    model: ClassVar[str] = "w : 1  # the weight\n"
    # one trace per neuron (in the rule's helper groups), not one per synapse
    pre_model: ClassVar[str] = "input_trace : 1\n"
    post_model: ClassVar[str] = "output_trace : 1\n"
    step_operations: ClassVar[list] = [("pre", "input_trace *= trace_decay", "start"),
                                       ("post", "output_trace *= trace_decay", "start")]
    # a spike adds to its neuron's trace before the learning pathways of its step run
    neuron_pathways: ClassVar[dict] = {
        "pre": ("input_trace += 1", 0, Order.SET_PRE_TRACE),
        "post": ("output_trace += 1", 0, Order.SET_POST_TRACE)}
    on_pre: ClassVar[dict] = {"learn_pre": "w -= int(plastic) * Apre * output_trace * w"}
    on_post: ClassVar[dict] = {"learn_post": "w += int(plastic) * Apost * input_trace * (1 - w)"}
    pathway_delay_steps: ClassVar[dict] = {"learn_pre": 0, "learn_post": 0}
    pathway_orders: ClassVar[dict] = {"learn_pre": Order.LEARN_PRE,
                                      "learn_post": Order.LEARN_POST}
    pre_reset_code: ClassVar[str] = "input_trace = 0\n"
    post_reset_code: ClassVar[str] = "output_trace = 0\n"

    def reference_weights(self, w_start, in_spk, out_spk):
        """The same rule in NumPy, step by step: the executable specification."""
        weights = []
        w = np.array(w_start, dtype=float)
        for run_in, run_out in zip(in_spk, out_spk):
            x_pre, x_post = np.zeros(run_in.shape[1]), np.zeros(run_out.shape[1])
            for p, q in zip(run_in, run_out):
                x_pre, x_post = x_pre * self.trace_decay + p, x_post * self.trace_decay + q
                w = w - self.Apre * np.outer(x_post, p) * w           # pre spikes: depress
                w = w + self.Apost * np.outer(q, x_pre) * (1 - w)     # post spikes: potentiate
                weights.append(w.copy())
        return np.array(weights).reshape(in_spk.shape[:2] + w.shape)


rule = SoftBoundSTDP(tau_trace=15 * ms)
print(rule)
print("template:", rule.to_dict())

# %%
# The same rule in three Brian2 targets against its reference, on random spikes (two runs of
# 80 steps, 6 inputs onto 3 neurons). The short build of the tests runs numpy and
# cpp_standalone (cython's first compile takes minutes there; ``tests/test_user_rule.py``
# checks cython).
rng = np.random.default_rng(3)
in_spk = (rng.random((2, 80, 6)) < 0.15).astype(float)
out_spk = (rng.random((2, 80, 3)) < 0.1).astype(float)
w_start = rng.uniform(0.2, 0.8, (3, 6))

short = bool(os.environ.get("BRIAN_STDP_EXAMPLE_SHORT"))
build_dir = os.path.join(os.environ.get("BRIAN_STDP_EXAMPLE_BUILD")
                         or tempfile.mkdtemp(prefix="user_rule_"), "user_rule")
for target in ["numpy", "cpp_standalone"] + ([] if short else ["cython"]):
    brian, expected = check_against_reference(
        rule, w_start, in_spk, out_spk, target=target,
        **({"directory": build_dir} if target == "cpp_standalone" else {}))
    print(f"{target}: largest difference to the reference {np.abs(brian - expected).max():.1e}")
print("soft-bound STDP matches its reference")

# %%
# Its learning window: one pre spike at step 50 and one post spike ``lag`` steps later, each
# pairing in a run of its own, from w = 0.5 (the change is ``Apost * 0.5 * decay**lag`` after,
# ``-Apre * 0.5 * decay**-lag`` before). Measured on Brian2 (numpy), through the same helper.
lags = np.arange(-40, 41, 2)
changes = []
for lag in lags:
    pre = np.zeros((1, 100, 1))
    post = np.zeros((1, 100, 1))
    pre[0, 50, 0] = 1
    post[0, 50 + lag, 0] = 1
    changes.append(replay(rule, np.full((1, 1), 0.5), pre, post)[0, -1, 0, 0] - 0.5)

import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.axhline(0, color="0.6", lw=0.8)
ax.axvline(0, color="0.6", lw=0.8)
ax.plot(lags, changes, ".-")
ax.set_xlabel("post step - pre step")
ax.set_ylabel("weight change from w = 0.5")
ax.set_title("soft-bound STDP, tau_trace = 15 ms")
fig.tight_layout()
plt.show()
