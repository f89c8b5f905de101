r"""SPAIC's ``nearest_online_STDP``: nearest-spike traces, per-step row normalisation.

Every step ``k``, with ``p``, ``q`` the pre and post spikes of step ``k - 1``:

.. math::

    x_i &\leftarrow (1 - p)\,\lambda_{pre}\,x_i + p, \qquad
    x_o \leftarrow (1 - q)\,\lambda_{post}\,x_o + q \\
    \Delta w^{new} &= A_{post}\, q^T x_i - A_{pre}\, x_o^T p \\
    W &\leftarrow \operatorname{clip}\!\Big(w_{norm}\,
        \frac{W + \Delta w^{stored}}{\sum_{pre} |W + \Delta w^{stored}|},\ 0,\ 1\Big),
    \qquad \Delta w^{stored} \leftarrow \Delta w^{new}

so the change caused by the spikes of step ``s`` is added at step ``s + 2``. In Brian2 that delay
is a synaptic delay: the rule's own pathways (``learn_pre``, ``learn_post``) receive each spike
two steps late and add its change to ``w`` then, with the traces as they were at the spike. The
traces are event-driven (a value and the step it was set), one per neuron in the helper groups,
set by each spike just before the learning pathways of its step and read once per neuron and
step (``input_trace_at_spike``, ``output_trace_at_spike``) for every visit of that step. After
the synaptic pathways of every step, each row is normalised and clamped. A spike from before
the current run's start (see ``rule.reset``) changes nothing, as SPAIC discards pending changes
at a run start.
"""
import dataclasses
from typing import ClassVar

import numpy as np

from .. import reference
from ..parameters import amplitude, decay_factor, parameter, positive
from ..schedule import Order
from .base import STDPRule
from .common import (NORMALISED_BY_FACTOR, NORMALISED_ROW_MODEL, NORMALISING_DIVISOR,
                     POST_TRACE_AT_SPIKE_MODEL, POST_TRACE_MODEL, POST_TRACE_RESET,
                     PRE_TRACE_AT_SPIKE_MODEL, PRE_TRACE_MODEL, PRE_TRACE_RESET, ROW_FACTOR,
                     SET_TRACE, read_at_spike, spike_clock)

__all__ = ["NearestOnlineSTDP"]

# The rule's pathways see the spike of step ``spike_step``, two steps after it happened.
SPIKE_CLOCK = spike_clock(2)

# The one pass over all synapses per step: normalise and clamp, and sum the rows for the next
# step while at it (the learning pathways add their changes to the sums as they make them).
NORMALISE_CLAMP_AND_SUM = f"""
w = int(plastic) * {NORMALISED_BY_FACTOR} + (1 - int(plastic)) * w
row_sum += abs(w)
"""


@dataclasses.dataclass(frozen=True)
class NearestOnlineSTDP(STDPRule):
    """SPAIC's ``nearest_online_STDP`` (Diehl & Cook 2015's rule), exact to SPAIC per step."""
    Apost: float = parameter(1e-2, "potentiation on a post spike, times the pre trace",
                             amplitude)
    Apre: float = parameter(1e-4, "depression on a pre spike, times the post trace",
                            amplitude)
    trace_pre: float = parameter(float(np.exp(-1 / 20)), "per-step decay of the pre trace",
                                 decay_factor)
    trace_post: float = parameter(float(np.exp(-1 / 20)), "per-step decay of the post trace",
                                  decay_factor)
    w_norm: float = parameter(78.4, "each post neuron's weights are scaled to sum to this "
                                    "every step (then clamped to [0, 1])", positive)

    name: ClassVar[str] = "nearest_online_STDP"
    # The decays as time constants: NearestOnlineSTDP(tau_pre=20*ms) (STDPRule.dt).
    time_constants: ClassVar[dict] = {"tau_pre": "trace_pre", "tau_post": "trace_post"}
    short_name: ClassVar[str] = "nearest"
    spaic_reference: ClassVar[bool] = True
    model: ClassVar[str] = "w : 1  # the weight\n"
    pre_model: ClassVar[str] = PRE_TRACE_MODEL + PRE_TRACE_AT_SPIKE_MODEL
    post_model: ClassVar[str] = (NORMALISED_ROW_MODEL + POST_TRACE_MODEL
                                 + POST_TRACE_AT_SPIKE_MODEL)
    # Each spike sets its neuron's trace before the learning pathways of its step run, so both
    # see this step's spikes on both sides, as SPAIC's dw does.
    neuron_pathways: ClassVar[dict] = {
        "pre": (SPIKE_CLOCK + SET_TRACE.format(name="input_trace"), 2, Order.SET_PRE_TRACE),
        "post": (SPIKE_CLOCK + SET_TRACE.format(name="output_trace"), 2,
                 Order.SET_POST_TRACE)}
    # A trace set before the current run reads 0 (trace_value), so the pathways need no test
    # of the run start of their own.
    on_pre: ClassVar[dict] = {"learn_pre": """
w_before = w
w += int(plastic) * -Apre * output_trace_at_spike
row_sum += abs(w) - abs(w_before)
"""}
    on_post: ClassVar[dict] = {"learn_post": """
w_before = w
w += int(plastic) * Apost * input_trace_at_spike
row_sum += abs(w) - abs(w_before)
"""}
    pathway_delay_steps: ClassVar[dict] = {"learn_pre": 2, "learn_post": 2}
    # After the user's own pathways (transmission sees the previous step's weights, as in SPAIC).
    pathway_orders: ClassVar[dict] = {"learn_pre": Order.LEARN_PRE,
                                      "learn_post": Order.LEARN_POST}
    pre_reset_code: ClassVar[str] = PRE_TRACE_RESET
    post_reset_code: ClassVar[str] = POST_TRACE_RESET
    summed: ClassVar[dict] = {"row_sum": "abs(w)"}
    summed_every_step: ClassVar[bool] = False
    # One pass over every synapse in memory order, not a row pass: a row's synapses are spread
    # through memory (docs/benchmarks.rst, "row passes").
    step_operations: ClassVar[list] = [
        read_at_spike("post", "trace_post", SPIKE_CLOCK),
        read_at_spike("pre", "trace_pre", SPIKE_CLOCK),
        ("post", f"row_divisor = {NORMALISING_DIVISOR}\nrow_factor = {ROW_FACTOR}\nrow_sum = 0",
         "after_synapses"),
        ("synapses", NORMALISE_CLAMP_AND_SUM, "after_synapses"),
    ]

    def build_weights(self, w_init):
        """SPAIC's build pass: each row normalised to ``w_norm`` once, clamped to [0, 1]."""
        return reference.nearest_online_build(w_init, self.w_norm)
