"""Building blocks the float rules share: traces, spike clocks, run starts, normalisation.

Each block is Brian2 code (or a function returning it) that a rule module puts together into
its templates. The scheduling orders are in :mod:`brian_stdp.schedule`.
"""
from ..schedule import Order

__all__ = ["PRE_TRACE_MODEL", "POST_TRACE_MODEL", "PRE_TRACE_AT_SPIKE_MODEL",
           "POST_TRACE_AT_SPIKE_MODEL", "SET_TRACE", "PRE_TRACE_RESET", "POST_TRACE_RESET",
           "RUN_START", "LAST_STEP_OF_RUN", "spike_clock", "delayed_spike", "trace_value",
           "read_at_spike",
           "NORMALISED_ROW_MODEL", "NORMALISING_DIVISOR", "NORMALISED", "ROW_FACTOR",
           "NORMALISED_BY_FACTOR", "WEIGHT_AT", "TRUE_WEIGHT", "GROWTH_TAKES_FACTOR",
           "GROWTH_OUT_OF_RANGE"]

# ---- traces: one per neuron, in the helper groups (a value and the step it was set) ----------
PRE_TRACE_MODEL = """
input_trace : 1          # pre trace right after its last spike
input_trace_step : 1     # the step of that spike
"""
POST_TRACE_MODEL = """
output_trace : 1         # post trace right after its last spike
output_trace_step : 1
"""
# Taken once per neuron per step, at the step whose spikes the pathways deliver.
PRE_TRACE_AT_SPIKE_MODEL = "input_trace_at_spike : 1\n"
POST_TRACE_AT_SPIKE_MODEL = "output_trace_at_spike : 1\n"

# A nearest-spike trace: the neuron's spike sets it to 1.
SET_TRACE = "{name} = 1\n{name}_step = spike_step\n"

# Per-run state: a restored or resumed network's clock may start again from 0, and a trace
# carried into it must not pass for a spike of the current run.
PRE_TRACE_RESET = "input_trace = 0\ninput_trace_step = 0\n"
POST_TRACE_RESET = "output_trace = 0\noutput_trace_step = 0\n"

# ---- spike clocks: which SPAIC run a delivered spike belongs to ------------------------------
# The first step of the SPAIC run of the delivery step: each period is a run when the synapses
# have a period, else reset() marks it.
RUN_START = ("int(period_steps > 0) * (timestep(t, dt) // (period_steps + int(period_steps == 0)))"
             " * period_steps + int(period_steps == 0) * run_start_step")

# 1 on the last step of a run: of every ``run()`` call, or of every period.
LAST_STEP_OF_RUN = ("int(period_steps > 0) * int((timestep(t, dt) + 1) % "
                    "(period_steps + int(period_steps == 0)) == 0) + "
                    "int(period_steps == 0) * int(timestep(t, dt) == run_last_step)")


def spike_clock(delay_steps):
    """``spike_step`` (the step of the spike a pathway delayed by ``delay_steps`` delivers)
    and the ``run_start`` of the delivery step."""
    return f"""
spike_step = timestep(t, dt) - {delay_steps}
run_start = {RUN_START}
"""


def delayed_spike(delay_steps):
    """:func:`spike_clock`, and ``learning``: 1 where the spike may change weights (plastic,
    and not from before the current run's start, whose changes SPAIC discards)."""
    return spike_clock(delay_steps) + "learning = int(plastic) * int(spike_step >= run_start)\n"


def trace_value(name, decay):
    """The trace ``name`` at ``spike_step``: its value decayed since it was set, 0 if set in an
    earlier run, or after ``spike_step`` (state carried into a simulation whose clock started
    again: it must neither count nor overflow the power, which would make 0 * inf = NaN even
    where the change is multiplied by 0)."""
    return (f"{name} * {decay} ** clip(spike_step - {name}_step, 0, inf) "
            f"* int({name}_step >= run_start and {name}_step <= spike_step)")


def read_at_spike(side, decay, clock, spiked=False):
    """The step operation taking each ``side`` ("pre" or "post") neuron's trace at the spike
    step its pathways deliver (``clock`` defines ``spike_step`` and ``run_start``), once per
    neuron; with ``spiked``, also whether the neuron spiked at that step (a trace never set
    has step 0 and value 0: the value tells it from a spike at step 0)."""
    neuron = "input" if side == "pre" else "output"
    code = clock + f"{neuron}_trace_at_spike = {trace_value(neuron + '_trace', decay)}\n"
    if spiked:
        code += (f"{neuron}_spiked_at_spike = "
                 f"int({neuron}_trace_step == spike_step and {neuron}_trace > 0)\n")
    order = Order.PRE_TRACE_AT_SPIKE if side == "pre" else Order.POST_TRACE_AT_SPIKE
    return (side, code, "synapses", order)


# ---- row normalisation to w_norm --------------------------------------------------------------
NORMALISED_ROW_MODEL = """
row_sum : 1      # sum over the row of |w|, kept up to date as w changes
row_divisor : 1  # what the row is divided by this step (its sum; 1 for a zero row)
row_factor : 1   # w_norm / row_divisor
"""

# A zero row stays zero instead of turning into NaN (SPAIC would divide 0 by 0).
NORMALISING_DIVISOR = "row_sum + int(row_sum == 0)"

# In the reference's order: w * (w_norm / row_sum) turns a row of zeros and one tiny weight
# (row_sum below w_norm / 1.8e308) into 0 * inf = NaN.
NORMALISED = "clip(w_norm * w / row_divisor, 0, 1)"

# The division once per row. Capped at the largest double so that a zero weight stays 0
# (0 * inf = NaN); the capped factor still takes every weight of at least 1e-308 to 1.
ROW_FACTOR = "clip(w_norm / row_divisor, 0, 1.7976931348623157e308)"
NORMALISED_BY_FACTOR = "clip(w * row_factor, 0, 1)"


# ---- lazy row scaling: a row's factor kept apart from its weights -----------------------------
# Scaling a row multiplies all of its weights by one factor, so a rule may keep that factor
# apart: a weight is ``w * (1 + row_growth) / (1 + w_growth)``, ``w`` as written last and
# ``w_growth`` the row's growth then (growths rather than scales, so that Brian2's initial
# zeros are the identity). Scaling a row is then O(1) (GROWTH_TAKES_FACTOR).
# a stored weight's value at the row growth ``growth``
WEIGHT_AT = "w * (1 + {growth}) / (1 + w_growth)"
TRUE_WEIGHT = WEIGHT_AT.format(growth="row_growth")
GROWTH_TAKES_FACTOR = "row_growth = (1 + row_growth) * row_factor - 1"
# A growth near -1 keeps few digits of 1 + growth, and a large one scales the rounding of
# every weight written at 0 up: such a row is written out and starts again at 0.
GROWTH_OUT_OF_RANGE = "int(row_growth > 999) + int(row_growth < -0.999)"
