r"""SPAIC's ``full_online_STDP``: all-to-all traces, normalisation at the end of a run.

Every step ``k``, with ``p``, ``q`` the pre and post spikes of step ``k - 1``:

.. math::

    x_i &\leftarrow \lambda\,x_i + p, \qquad x_o \leftarrow \lambda\,x_o + q \\
    \Delta w^{new} &= A_{post}\, q^T x_i - A_{pre}\, x_o^T p \\
    W &\leftarrow W + \Delta w^{stored}; \quad
    W \leftarrow w_{norm} \frac{W}{\sum_{pre}|W|} \text{ on the last step of a run only}; \quad
    W \leftarrow \operatorname{clip}(W, 0, 1)

"The last step of a run" is the last step of every ``run()`` call, or, when the synapses were
made with ``period=...``, the last step of every period (one presentation). The timing machinery
(changes delivered two steps after their spikes by delayed pathways) is nearest_online's.

Only the synapses a change reaches can leave [0, 1], so the pathways clamp what they change.
Where a pre and a post spike of one step meet at a synapse, the post spike's pathway adds both
changes as one sum, SPAIC's ``dw``, and the pre spike's pathway leaves that synapse alone:
added one after the other, a large change and an opposite one would round a small weight away
(the clamp comes after the whole step's change in SPAIC too). The traces are one per neuron, in
the helper groups. The rows are passed over as a whole only on the first step of every
``run()`` call (clamping weights set from outside since the last step, as SPAIC's clamp of every
step would; between two periods of one call nothing outside can write them) and on the last
step of a run, where a first pass takes each row's sum of ``|w|`` afresh, as SPAIC does, and a
second normalises by it and clamps: the cost of a step follows its spikes, not the number of
synapses. (A sum kept up to date by the pathways, ``row_sum += |w| - |w_before|``, keeps the
rounding of every change made to the row since the last pass: where the row's weights have
fallen to almost nothing, that rounding is all that is left of the sum, and it can even be
negative.)
"""
import dataclasses
from typing import ClassVar

import numpy as np

from .. import reference
from ..parameters import amplitude, decay_factor, parameter, positive
from ..run_state import FIRST_STEP_OF_CALL
from ..schedule import Order
from .base import STDPRule
from .common import (LAST_STEP_OF_RUN, NORMALISED, NORMALISED_ROW_MODEL, NORMALISING_DIVISOR,
                     POST_TRACE_AT_SPIKE_MODEL, POST_TRACE_MODEL, POST_TRACE_RESET,
                     PRE_TRACE_AT_SPIKE_MODEL, PRE_TRACE_MODEL, PRE_TRACE_RESET, delayed_spike,
                     read_at_spike, spike_clock, trace_value)

__all__ = ["FullOnlineSTDP"]

# The pathways see the spike of step ``spike_step``, two steps after it happened.
DELAYED_SPIKE = delayed_spike(2)

# A spike adds 1 to its neuron's trace (all-to-all).
ADD_SPIKE = DELAYED_SPIKE + """
{name} = {decayed} + 1
{name}_step = spike_step
"""

# A changed weight is clamped at once, except on the last step of a run, whose row pass
# normalises first and clamps after. ``learning`` is 0 when nothing may change; ``{changed}``
# limits the clamp to the synapses the pathway changed.
CLAMP_CHANGE = "w = w + learning * (1 - last_step_of_run) * {changed}(clip(w, 0, 1) - w)\n"

# The last step of a run: each row's sum of |w| taken afresh (a pass of its own, before the
# rows divide by it), as SPAIC sums the weights it normalises.
SUM_ROWS = {"condition": "plastic and last_step_of_run > 0",
            "row_code": "row_sum = 0",
            "code": "row_sum += abs(w)"}

# The row pass: normalise on the last step of a run, clamp on both. Both branches are clamped
# before being weighted by 0 or 1, so that an overflowing branch not taken (inf) cannot turn
# into 0 * inf = NaN.
ROW_PASS = f"""
w = normalise_row * {NORMALISED} + (1 - normalise_row) * clip(w, 0, 1)
"""


@dataclasses.dataclass(frozen=True)
class FullOnlineSTDP(STDPRule):
    """SPAIC's ``full_online_STDP``, exact to SPAIC per step."""
    Apost: float = parameter(1e-2, "potentiation on a post spike, times the pre trace",
                             amplitude)
    Apre: float = parameter(1e-4, "depression on a pre spike, times the post trace",
                            amplitude)
    trace_decay: float = parameter(float(np.exp(-1 / 20)), "per-step decay of both traces",
                                   decay_factor)
    w_norm: float = parameter(78.4, "each post neuron's weights are scaled to sum to this on "
                                    "the last step of a run (then clamped to [0, 1])", positive)

    name: ClassVar[str] = "full_online_STDP"
    time_constants: ClassVar[dict] = {"tau_trace": "trace_decay"}
    short_name: ClassVar[str] = "full"
    spaic_reference: ClassVar[bool] = True
    model: ClassVar[str] = "w : 1  # the weight\n"
    pre_model: ClassVar[str] = PRE_TRACE_MODEL + PRE_TRACE_AT_SPIKE_MODEL + """
input_spiked_at_spike : 1            # 1 if the pre neuron spiked at that step
"""
    # Each spike adds to its neuron's trace before the learning pathways of its step run, so
    # both see this step's spikes on both sides, as SPAIC's dw does.
    neuron_pathways: ClassVar[dict] = {
        "pre": (ADD_SPIKE.format(name="input_trace",
                                 decayed=trace_value("input_trace", "trace_decay")), 2,
                Order.SET_PRE_TRACE),
        "post": (ADD_SPIKE.format(name="output_trace",
                                  decayed=trace_value("output_trace", "trace_decay")), 2,
                 Order.SET_POST_TRACE)}
    # A pre spike changes the synapses whose post neuron did not spike in the same step; where
    # it did, learn_post (after learn_pre) adds both changes as one, SPAIC's dw, and clamps.
    on_pre: ClassVar[dict] = {"learn_pre": DELAYED_SPIKE + """
pre_alone = 1 - output_spiked_at_spike
w += learning * pre_alone * -Apre * output_trace_at_spike
""" + CLAMP_CHANGE.format(changed="pre_alone * ")}
    on_post: ClassVar[dict] = {"learn_post": DELAYED_SPIKE + """
pre_change = -Apre * output_trace_at_spike * input_spiked_at_spike
w += learning * (Apost * input_trace_at_spike + pre_change)
""" + CLAMP_CHANGE.format(changed="")}
    pathway_delay_steps: ClassVar[dict] = {"learn_pre": 2, "learn_post": 2}
    pathway_orders: ClassVar[dict] = {"learn_pre": Order.LEARN_PRE,
                                      "learn_post": Order.LEARN_POST}
    post_model: ClassVar[str] = (NORMALISED_ROW_MODEL + POST_TRACE_MODEL
                                 + POST_TRACE_AT_SPIKE_MODEL) + """
output_spiked_at_spike : 1           # 1 if the post neuron spiked at that step
normalise_row : 1                    # 1 on the last step of a run
last_step_of_run : integer (shared)  # 1 on the last step of a run (taken once per step)
"""
    # The traces are read once per neuron per step, at the step the pathways deliver.
    step_operations: ClassVar[list] = [
        ("post", f"last_step_of_run = {LAST_STEP_OF_RUN}"),
        read_at_spike("post", "trace_decay", spike_clock(2), spiked=True),
        read_at_spike("pre", "trace_decay", spike_clock(2), spiked=True)]
    pre_reset_code: ClassVar[str] = PRE_TRACE_RESET
    post_reset_code: ClassVar[str] = POST_TRACE_RESET
    row_pass: ClassVar[dict] = {
        "condition": f"plastic and ({FIRST_STEP_OF_CALL} + last_step_of_run) > 0",
        "row_code": "normalise_row = last_step_of_run\n"
                    f"row_divisor = {NORMALISING_DIVISOR}",
        "code": ROW_PASS,
        "first_pass": SUM_ROWS,
    }

    def build_weights(self, w_init):
        """SPAIC's build pass: clamped to [0, 1]."""
        return reference.full_online_build(w_init)
