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

from .parameters import amplitude, decay_factor, parameter, positive
from .rule import STDPRule

__all__ = ["NearestOnlineSTDP"]

# The traces live once per neuron, in the helper groups (a value and the step it was set).
PRE_TRACE_MODEL = """
input_trace : 1          # pre trace right after its last spike
input_trace_step : 1     # the step of that spike
"""
POST_TRACE_MODEL = """
output_trace : 1         # post trace right after its last spike
output_trace_step : 1
"""
# ... and, taken once per neuron per step, at the step whose spikes the pathways deliver.
PRE_TRACE_AT_SPIKE_MODEL = "input_trace_at_spike : 1\n"
POST_TRACE_AT_SPIKE_MODEL = "output_trace_at_spike : 1\n"

# Inside the 'synapses' slot of a step, after the user's pathways (orders -1, +1): the spikes
# being delivered set their neurons' traces, each neuron's trace is read at that spike step,
# then the learning pathways visit the synapses of the spiking neurons.
ORDER_SET_PRE_TRACE, ORDER_SET_POST_TRACE = 6, 7
ORDER_POST_TRACE_AT_SPIKE, ORDER_PRE_TRACE_AT_SPIKE = 8, 9
ORDER_LEARN_PRE, ORDER_LEARN_POST = 10, 11

# A nearest-spike trace: the neuron's spike sets it to 1 (after the rule's DELAYED_SPIKE lines).
SET_TRACE = "{name} = 1\n{name}_step = spike_step\n"

# The traces are per-run state: cleared at every run start (reset() or a period's start), so
# that state carried into a new simulation (a restored or resumed network, whose clock may start
# again from 0) cannot pass for a spike of the current run.
PRE_TRACE_RESET = "input_trace = 0\ninput_trace_step = 0\n"
POST_TRACE_RESET = "output_trace = 0\noutput_trace_step = 0\n"

ROW_MODEL = """
row_sum : 1      # sum over the row of |w|, kept up to date as w changes
row_divisor : 1  # what the row is divided by this step (its sum; 1 for a zero row)
row_factor : 1   # w_norm / row_divisor
"""

# The first step of the SPAIC run that the delivery step belongs to: each period is a run when
# the synapses have a period, else reset() marks it.
RUN_START = ("int(period_steps > 0) * (timestep(t, dt) // (period_steps + int(period_steps == 0)))"
             " * period_steps + int(period_steps == 0) * run_start_step")

# The rule's pathways see the spike of step ``spike_step``, two steps after it happened.
SPIKE_CLOCK = f"""
spike_step = timestep(t, dt) - 2
run_start = {RUN_START}
"""
DELAYED_SPIKE = SPIKE_CLOCK + "learning = int(plastic) * int(spike_step >= run_start)\n"

# w_norm * w / row_sum, in the reference's order: w * (w_norm / row_sum) turns a row of zeros
# and one tiny weight (row_sum below w_norm / 1.8e308) into 0 * inf = NaN.
NORMALISED = "clip(w_norm * w / row_divisor, 0, 1)"
# The same with the division taken once per row instead of once per synapse and step (the pass
# over every synapse is most of this rule's time). The factor is capped at the largest double so
# that a zero weight stays 0 (0 * inf = NaN); a capped factor still takes every weight of at
# least 1e-308 to 1, as the uncapped one does: only subnormal weights could tell them apart.
ROW_FACTOR = "clip(w_norm / row_divisor, 0, 1.7976931348623157e308)"
NORMALISED_BY_FACTOR = "clip(w * row_factor, 0, 1)"

NORMALISE_AND_CLAMP = f"""
w = int(plastic) * {NORMALISED_BY_FACTOR} + (1 - int(plastic)) * w
"""

# The one pass over all synapses per step: normalise and clamp, and sum the rows for the next
# step while at it (the learning pathways add their changes to the sums as they make them).
NORMALISE_CLAMP_AND_SUM = NORMALISE_AND_CLAMP + """row_sum += abs(w)
"""

# A zero row stays zero instead of turning into NaN (SPAIC would divide 0 by 0).
NORMALISING_DIVISOR = "row_sum + int(row_sum == 0)"


def trace_value(name, decay):
    """The trace ``name`` at ``spike_step``: its value decayed since it was set, 0 if set in an
    earlier run, or after ``spike_step`` (state carried into a simulation whose clock started
    again: it must neither count nor overflow the power, which would make 0 * inf = NaN even
    where the change is multiplied by 0)."""
    return (f"{name} * {decay} ** clip(spike_step - {name}_step, 0, inf) "
            f"* int({name}_step >= run_start and {name}_step <= spike_step)")


def read_at_spike(side, decay, clock=SPIKE_CLOCK, spiked=False):
    """The step operation taking each ``side`` ("pre" or "post") neuron's trace at the spike
    step its pathways deliver (``clock`` defines ``spike_step`` and ``run_start``), once per
    neuron; with ``spiked``, also whether the neuron spiked at that step (a trace never set
    has step 0 and value 0: the value tells it from a spike at step 0)."""
    neuron = "input" if side == "pre" else "output"
    code = clock + f"{neuron}_trace_at_spike = {trace_value(neuron + '_trace', decay)}\n"
    if spiked:
        code += (f"{neuron}_spiked_at_spike = "
                 f"int({neuron}_trace_step == spike_step and {neuron}_trace > 0)\n")
    order = ORDER_PRE_TRACE_AT_SPIKE if side == "pre" else ORDER_POST_TRACE_AT_SPIKE
    return (side, code, "synapses", order)


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
    model: ClassVar[str] = "w : 1  # the weight\n"
    pre_model: ClassVar[str] = PRE_TRACE_MODEL + PRE_TRACE_AT_SPIKE_MODEL
    post_model: ClassVar[str] = ROW_MODEL + POST_TRACE_MODEL + POST_TRACE_AT_SPIKE_MODEL
    # Each spike sets its neuron's trace before the learning pathways of its step run, so both
    # see this step's spikes on both sides, as SPAIC's dw does.
    neuron_pathways: ClassVar[dict] = {
        "pre": (SPIKE_CLOCK + SET_TRACE.format(name="input_trace"), 2, ORDER_SET_PRE_TRACE),
        "post": (SPIKE_CLOCK + SET_TRACE.format(name="output_trace"), 2,
                 ORDER_SET_POST_TRACE)}
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
    pathway_orders: ClassVar[dict] = {"learn_pre": ORDER_LEARN_PRE,
                                      "learn_post": ORDER_LEARN_POST}
    pre_reset_code: ClassVar[str] = PRE_TRACE_RESET
    post_reset_code: ClassVar[str] = POST_TRACE_RESET
    summed: ClassVar[dict] = {"row_sum": "abs(w)"}
    summed_every_step: ClassVar[bool] = False
    # The traces are read once per neuron per step; then, after the synaptic pathways, one pass
    # over every synapse, in memory order. (Passing over only the rows that need it, by a row
    # pass, was measured slower, even with a fifth of the rows passed per step: a row's
    # synapses are spread through memory, one per pre neuron; bench_rules.py --row-passes.)
    step_operations: ClassVar[list] = [
        read_at_spike("post", "trace_post"),
        read_at_spike("pre", "trace_pre"),
        ("post", f"row_divisor = {NORMALISING_DIVISOR}\nrow_factor = {ROW_FACTOR}\nrow_sum = 0",
         "after_synapses"),
        ("synapses", NORMALISE_CLAMP_AND_SUM, "after_synapses"),
    ]

    @staticmethod
    def build_weights(w_init, w_norm=78.4):
        """SPAIC's build pass (normalise each row to ``w_norm`` once, clamp to [0, 1])."""
        from .reference import nearest_online_build
        return nearest_online_build(w_init, w_norm)
