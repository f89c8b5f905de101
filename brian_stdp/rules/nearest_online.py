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
from ..run_state import FIRST_STEP_OF_CALL
from ..schedule import Order
from .base import RuleTemplates, STDPRule
from .common import (GROWTH_OUT_OF_RANGE, GROWTH_TAKES_FACTOR, LAST_STEP_OF_RUN,
                     NORMALISED_BY_FACTOR, NORMALISED_ROW_MODEL, NORMALISING_DIVISOR,
                     POST_TRACE_AT_SPIKE_MODEL, POST_TRACE_MODEL, POST_TRACE_RESET,
                     PRE_TRACE_AT_SPIKE_MODEL, PRE_TRACE_MODEL, PRE_TRACE_RESET, ROW_FACTOR,
                     SET_TRACE, TRUE_WEIGHT, WEIGHT_AT, read_at_spike, spike_clock)

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

    # Lazy by default: the same weights up to rounding (tests/test_lazy_rows.py), at a cost
    # in proportion to the spikes while few rows clip, and no more than the eager pass's once
    # training has taken many weights to the bound (docs/benchmarks.rst). row_scaling="eager"
    # renders the rule itself, SPAIC's pass over every weight every step: the reference.
    default_row_scaling: ClassVar[str] = "lazy"


# ---- lazy row scaling ---------------------------------------------------------------------
# A row's normalisation multiplies all of its weights by one factor, kept apart from the
# weights (WEIGHT_AT in .common); only a row that clips is passed over in full. Code reading
# ``w`` first writes the weight out (WRITE_OUT).
WRITE_OUT = f"w = {TRUE_WEIGHT}\nw_growth = row_growth\n"

LAZY_ROW_MODEL = """
row_sum : 1      # sum over the row of |w|, kept up to date as w changes
row_divisor : 1  # what the row is divided by this step (its sum; 1 for a zero row)
row_factor : 1   # w_norm / row_divisor
row_growth : 1   # the row's weights are w * (1 + row_growth) / (1 + w_growth)
row_power : 1    # a bound of the row's sum of max(w, 0)**64: above 1 wherever a weight is
row_clips : 1    # weights of the row that a change took below 0 this step
pass_growth : 1  # the row's growth as its pass began, for the weights the pass writes out
last_step_of_run : integer (shared)  # 1 on the last step of a run (taken once per step)
"""

# A change, at the weight as it is now. The clamp's test is a bound of the row's sum of 64th
# powers, which exceeds 1 wherever a weight exceeds 1: a pass sets it to that sum, and a change
# adds the changed weight's new power, so that every value a weight took since is counted.
# It never subtracts: a sum of 64th powers kept by differences loses its small terms when a
# large one leaves it (1 + (0.5**64 - 1) is 0 in doubles), and the row's factors then scale
# that loss up past any margin. The old values it keeps cost at most a pass more (a row's
# bound passes 1 after about 1 / (its sum of powers) changes of its weights).
LAZY_CHANGE = f"""
w_before = {TRUE_WEIGHT}
w = w_before + int(plastic) * {{change}}
w_growth = row_growth
row_sum += abs(w) - abs(w_before)
row_power += clip(w, 0, inf)**64
row_clips += int(w < 0)
"""

# Each row's normalisation, O(1): the factor goes into the growth, the sums follow it.
LAZY_ROW_UPDATE = f"""
last_step_of_run = {LAST_STEP_OF_RUN}
row_divisor = {NORMALISING_DIVISOR}
row_factor = int(plastic) * {ROW_FACTOR} + (1 - int(plastic))
{GROWTH_TAKES_FACTOR}
row_power = row_power * row_factor**64
row_sum = row_sum * row_factor
"""

# The rows passed over in full: those whose clamp may bite (a weight within 2e-6 of 1 or
# above, the margin covering the rounding the bound of the powers gathers; below 0), those
# whose factor is over 2 (the row lost over half its sum: the sum kept by differences has lost
# that many digits, and is taken afresh), those whose scale left [1e-3, 1e3] (a growth near -1
# keeps few digits of 1 + growth; a weight whose power underflowed, below 1e-5, passes 1 only
# at a growth over 1e5), and every row on the first step of a call (weights set from outside)
# and the last step of a run (every weight written out, for Python, monitors and the next
# run).
LAZY_PASS = (f"plastic and ({FIRST_STEP_OF_CALL} + last_step_of_run + int(row_power > 0.9999) "
             f"+ int(row_factor > 2) + row_clips + {GROWTH_OUT_OF_RANGE}) > 0")


class LazyRows(RuleTemplates):
    """nearest_online rendered with lazy row scaling (``row_scaling="lazy"``).

    The weights are those of the eager rendering up to rounding; a step costs in proportion
    to its spikes. ``w`` holds the true weight wherever code reads it: in the rule's own
    pathways and in the user's pathways of ``rule.synapses`` (which write their synapses'
    weights out first), and everywhere after the last step of each run. On the runs where
    other code reads ``w`` (a StateMonitor recording it, a summed variable or run_regularly of
    the synapses using it, a pathway built by hand, a network_operation), every weight is
    written out at the end of every step, at the eager rendering's cost.
    """
    model = "w : 1  # the weight\nw_growth : 1  # the row's growth when w was written\n"
    post_model = LAZY_ROW_MODEL + POST_TRACE_MODEL + POST_TRACE_AT_SPIKE_MODEL
    on_pre = {"learn_pre": LAZY_CHANGE.format(change="-Apre * output_trace_at_spike")}
    on_post = {"learn_post": LAZY_CHANGE.format(change="Apost * input_trace_at_spike")}
    summed = {"row_sum": "abs(w)"}
    step_operations = [
        read_at_spike("post", "trace_post", SPIKE_CLOCK),
        read_at_spike("pre", "trace_pre", SPIKE_CLOCK),
        ("post", LAZY_ROW_UPDATE, "after_synapses"),
    ]
    # One pass writes a row out, clamped, and sums it afresh: the row code keeps the growth
    # the weights are written out with before it starts the row's new sums.
    row_pass = {
        "condition": LAZY_PASS,
        "row_code": ("pass_growth = row_growth\nrow_growth = 0\nrow_sum = 0\nrow_power = 0\n"
                     "row_clips = 0"),
        "code": (f"w = clip({WEIGHT_AT.format(growth='pass_growth')}, 0, 1)\nw_growth = 0\n"
                 "row_sum += abs(w)\nrow_power += w**64"),
    }
    # what user code reading w runs first, and the operation writing every weight out
    write_out = WRITE_OUT
    write_out_every_step = ("synapses", WRITE_OUT, "after_synapses", Order.WRITE_OUT_WEIGHTS)


NearestOnlineSTDP.LAZY_ROWS = LazyRows
