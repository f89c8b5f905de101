r"""SPAIC's ``Meta_nearest_online_STDP``: nearest traces, homeostatic row means, soft bounds.

Every step ``k``, with ``p``, ``q`` the pre and post spikes of step ``k - 1`` (``N`` post
neurons, ``M`` pre neurons, :math:`\langle\cdot\rangle` the mean over the ``N`` post neurons):

.. math::

    x_i &\leftarrow \lambda_{pre}\,x_i\,[p \le 0] + p, \qquad
    x_o \leftarrow \lambda_{post}\,x_o\,[q \le 0] + q \\
    \Delta w &= A_{post}\, q^T x_i - A_{pre}\, x_o^T p \\
    \bar w &\leftarrow \big(\bar w - 0.1\,A_{pre}\,(x_o - \langle x_o \rangle)\big)\,
        \frac{\bar w_{all}}{\langle \bar w \rangle} \\
    s &= [\Delta w < 0]\, e^{-0.2 / \max(W - w_{min},\, 10^{-4})}
       + [\Delta w > 0]\, e^{-0.2 / \max(w_{max} - W,\, 10^{-4})} \\
    W &\leftarrow W\, \frac{\bar w}{\max(\operatorname{mean}_{pre} W,\, 10^{-6})}
       + \Delta w \cdot s

with ``s`` and the row mean taken from the weights before the step. ``w_mean`` (:math:`\bar w`)
and ``aw_mean`` (:math:`\bar w_{all}`) are taken from the weights at the first step of the first
run. The pre trace is cleared at every run start; the post trace, ``w_mean`` and the weights
carry over.

In Brian2 the rule's own pathways (``learn_pre``, ``learn_post``) receive each spike one step
late, after the user's pathways (so transmission sees the previous step's weights, as in SPAIC),
and write the synapse's change through the soft bounds in ``bounded_change`` (so the
exponential is computed only where spikes arrive). The pre trace is event-driven per pre neuron
(as in nearest_online), set by each pre spike and read once per neuron per step before the
learning pathways; the post trace, ``w_mean`` and the row sums of ``W`` are row state. After the
synaptic pathways of every step come the population sums of the new post trace and of
``w_mean`` (a summed variable into a one-neuron group), the row update, and, in the eager
rendering (``row_scaling="eager"``, SPAIC's way), the one pass over the synapses, which applies
and clears the change and sums the rows for the next step (a summed variable takes the sums
before each run, counting weights set from outside). The lazy rendering, the default, keeps
each row's factor apart from its weights instead (:class:`LazyMetaRows`, at the end of this
module). A spike from before the current run's start (see ``rule.reset``) changes nothing, as
SPAIC's first step of a run sees no spikes.
"""
import dataclasses
from typing import ClassVar

import numpy as np

from .. import reference
from ..parameters import amplitude, decay_factor, parameter, weight_bound
from ..schedule import Order
from .base import RuleTemplates, STDPRule
from .common import (GROWTH_OUT_OF_RANGE, GROWTH_TAKES_FACTOR, LAST_STEP_OF_RUN,
                     PRE_TRACE_AT_SPIKE_MODEL, PRE_TRACE_MODEL, PRE_TRACE_RESET, SET_TRACE,
                     TRUE_WEIGHT, WEIGHT_AT, delayed_spike, read_at_spike)

__all__ = ["MetaNearestOnlineSTDP"]

# The rule's pathways see the spike of step ``spike_step`` one step after it happened.
DELAYED_SPIKE = delayed_spike(1)

# The post trace after this step's update (post_spiked: the post neuron spiked last step).
# While not plastic SPAIC's learner does not run, so the trace is frozen too.
NEXT_OUTPUT_TRACE = ("int(plastic) * (post_decay * output_trace * (1 - post_spiked) + "
                     "post_spiked) + (1 - int(plastic)) * output_trace")
# The targets are taken from the weights at the first step, whatever the user set before it.
# The mean weight of the row before this step's change (a row without synapses counts as one).
ROW_MEAN = "row_weight_sum / (row_size + int(row_size == 0))"
CURRENT_W_MEAN = f"initialised * w_mean + (1 - initialised) * {ROW_MEAN}"

META_ROW_MODEL = """
output_trace : 1  # SPAIC's post trace xo, carried over runs
post_spiked : 1   # 1 if the post neuron spiked in the previous step (set by learn_post)
row_weight_sum : 1  # sum of the row's weights before this step's change
row_size : 1        # the row's number of synapses
row_factor : 1    # what the row is multiplied by this step
w_mean : 1        # the row's target mean weight
aw_mean : 1       # population mean of w_mean at initialisation (the same in every row)
initialised : 1   # 0 until the first step has taken w_mean and aw_mean from the weights
"""

# sum_output_trace and sum_w_mean are this step's sums over every row of this synapse object.
# The mean of w_mean after the drift equals its mean before (the drift sums to zero over the
# rows), which is what lets one reduction per step serve both means.
ROW_FACTOR_UPDATE = f"""
output_trace = {NEXT_OUTPUT_TRACE}
post_spiked = 0
w_mean = {CURRENT_W_MEAN}
aw_mean = initialised * aw_mean + (1 - initialised) * sum_w_mean / N
mean_of_w_mean = sum_w_mean / N
drifted = (w_mean - 0.1 * Apre * (output_trace - sum_output_trace / N)) * aw_mean / (mean_of_w_mean + int(mean_of_w_mean == 0))
w_mean = int(plastic) * drifted + (1 - int(plastic)) * w_mean
initialised = 1
row_factor = w_mean / clip({ROW_MEAN}, 1e-6, inf)  # SPAIC guards a zero row mean
"""  # noqa: E501 (a Brian2 statement is one line)
# the eager rendering's pass sums the rows afresh
ROW_UPDATE = ROW_FACTOR_UPDATE + "row_weight_sum = 0\n"

# The soft bounds, from the weight before this step's change and the sign of the synapse's whole
# change. Both distances are clipped before the sign picks one, so that an overflowing distance
# not picked cannot make 0 * inf = NaN (exp(-0.2 / 1e300) is exactly 1, as exp(-0.2 / inf) is).
BOUND_DISTANCE = """
bound_distance = int(change < 0) * clip(w - w_min, 1e-4, 1e300) + int(change > 0) * clip(w_max - w, 1e-4, 1e300)
"""  # noqa: E501 (a Brian2 statement is one line)
SOFT_BOUNDED = "change * exp(-0.2 / (bound_distance + int(change == 0)))"
BOUNDED_CHANGE = BOUND_DISTANCE + f"bounded_change = {SOFT_BOUNDED}\n"
# learn_pre's change: depression by the post trace as it is at the learning step when the post
# neuron did not spike; if it did, SPAIC's post trace is 1, and learn_post adds the difference.
PRE_CHANGE = "learning * -Apre * post_decay * output_trace"
# learn_post's change: learn_pre's where the pre neuron spiked too, with the post trace at 1.
POST_CHANGE = (f"input_spiked_at_spike * {PRE_CHANGE} "
               "+ learning * (Apost * input_trace_at_spike - depression_too)")

LEARN_PRE_CHANGE = f"change = {PRE_CHANGE}\n"
LEARN_POST_CHANGE = ("depression_too = Apre * input_spiked_at_spike * (1 - post_decay * "
                     f"output_trace)\nchange = {POST_CHANGE}\n")

# The one pass over all synapses per step, which also takes the row sums for the next step
# (the pathways write only bounded_change, never w).
WEIGHT_UPDATE = """
w = int(plastic) * (w * row_factor + bounded_change) + (1 - int(plastic)) * w
bounded_change = 0
row_weight_sum += w
"""


@dataclasses.dataclass(frozen=True)
class MetaNearestOnlineSTDP(STDPRule):
    """SPAIC's ``Meta_nearest_online_STDP``, exact to SPAIC per step."""
    Apost: float = parameter(1e-2, "potentiation on a post spike, times the pre trace",
                             amplitude)
    Apre: float = parameter(1e-4, "depression on a pre spike, times the post trace; also "
                                  "scales the drift of w_mean", amplitude)
    pre_decay: float = parameter(float(np.exp(-1 / 30)), "per-step decay of the pre trace",
                                 decay_factor)
    post_decay: float = parameter(float(np.exp(-1 / 200)), "per-step decay of the post trace",
                                  decay_factor)
    w_min: float = parameter(0.0, "soft lower bound of the weights (below w_max)",
                             weight_bound)
    w_max: float = parameter(1.0, "soft upper bound of the weights (above w_min)",
                             weight_bound)

    name: ClassVar[str] = "meta_nearest_online_STDP"
    time_constants: ClassVar[dict] = {"tau_pre": "pre_decay", "tau_post": "post_decay"}
    short_name: ClassVar[str] = "meta"
    spaic_reference: ClassVar[bool] = True
    # Lazy by default, as nearest_online (the same weights up to rounding,
    # tests/test_lazy_rows.py); row_scaling="eager" renders the rule itself, SPAIC's pass over
    # every weight every step: the reference.
    default_row_scaling: ClassVar[str] = "lazy"
    model: ClassVar[str] = """
w : 1                    # the weight
bounded_change : 1       # the change from the previous step's spikes through the soft
                         # bounds, applied this step
"""
    pre_model: ClassVar[str] = PRE_TRACE_MODEL + PRE_TRACE_AT_SPIKE_MODEL + """
input_spiked_at_spike : 1   # 1 if the pre neuron spiked at that step
"""
    pre_reset_code: ClassVar[str] = PRE_TRACE_RESET
    # Each pre spike sets its neuron's trace before the learning pathways of its step run.
    neuron_pathways: ClassVar[dict] = {
        "pre": (DELAYED_SPIKE + SET_TRACE.format(name="input_trace"), 1, Order.SET_PRE_TRACE)}
    # Brian runs learn_pre before learn_post; where both run on a synapse, learn_post's bounded
    # change (of the whole change) replaces learn_pre's. The pre trace of an earlier run is 0.
    on_pre: ClassVar[dict] = {"learn_pre": DELAYED_SPIKE + LEARN_PRE_CHANGE + BOUNDED_CHANGE}
    on_post: ClassVar[dict] = {"learn_post": DELAYED_SPIKE + LEARN_POST_CHANGE + BOUNDED_CHANGE
                               + "post_spiked = learning\n"}
    pathway_delay_steps: ClassVar[dict] = {"learn_pre": 1, "learn_post": 1}
    # After the user's own pathways (transmission sees the previous step's weights, as in SPAIC).
    pathway_orders: ClassVar[dict] = {"learn_pre": Order.LEARN_PRE,
                                      "learn_post": Order.LEARN_POST}
    post_model: ClassVar[str] = META_ROW_MODEL
    summed: ClassVar[dict] = {"row_weight_sum": "w", "row_size": "1"}
    summed_every_step: ClassVar[bool] = False
    population_summed: ClassVar[dict] = {"sum_output_trace": NEXT_OUTPUT_TRACE,
                                         "sum_w_mean": CURRENT_W_MEAN}
    summed_when: ClassVar[str] = "after_synapses"
    step_operations: ClassVar[list] = [
        # the pre traces, read once per neuron per step at the step the pathways deliver
        read_at_spike("pre", "pre_decay", DELAYED_SPIKE, spiked=True),
        ("post", ROW_UPDATE, "after_synapses"),
        ("synapses", WEIGHT_UPDATE, "after_synapses"),
    ]

    def build_weights(self, w_init):
        """SPAIC's build pass: the weights as given (the targets are taken from them at the
        first step)."""
        return reference.meta_nearest_online_build(w_init)

    def check(self):
        if not self.w_min < self.w_max:
            raise ValueError(f"w_min must be below w_max (w_min < w_max), got "
                             f"w_min={self.w_min!r} and w_max={self.w_max!r}")


# ---- lazy row scaling ---------------------------------------------------------------------
# Every step multiplies each row by its factor (w_mean over the row's mean): the rows keep that
# factor apart from the weights (WEIGHT_AT in .common), so a step touches only the synapses its
# spikes reach. A change made at step k goes into the weight after step k's factor (SPAIC's
# W * factor + change), a factor known only once every pathway of step k has run: the change
# waits in ``bounded_change``, and the pathways of step k + 1 on the same spikes (apply_pre,
# apply_post) put it into the weight, before anything else of that step reads it. Code reading
# ``w`` writes its synapse out first, pending change included (WRITE_OUT).
WRITE_OUT = f"w = {TRUE_WEIGHT} + bounded_change\nw_growth = row_growth\nbounded_change = 0\n"

LAZY_META_ROW_MODEL = META_ROW_MODEL + """
row_growth : 1      # the row's weights are w * (1 + row_growth) / (1 + w_growth)
row_change_sum : 1  # the sum of the row's changes made this step
pass_growth : 1     # the row's growth as its pass began, for the weights the pass writes out
last_step_of_run : integer (shared)  # 1 on the last step of a run (taken once per step)
"""

# A learning pathway writes its synapse out (the change of the previous step is in the weight
# by now; one of this step stays apart), takes the change through the soft bounds at that
# weight, and keeps the row's sum of changes: learn_post's change replaces learn_pre's.
LAZY_CHANGE = f"""
w = {TRUE_WEIGHT}
w_growth = row_growth
""" + BOUND_DISTANCE + f"""
new_change = {SOFT_BOUNDED}
row_change_sum += new_change - bounded_change
bounded_change = new_change
"""

# The factor goes into the growth, the row's sum follows it (the sum of this step's changes
# added), O(1) per row. (Brian2 wants the shared variable written first.)
LAZY_ROW_UPDATE = (f"last_step_of_run = {LAST_STEP_OF_RUN}" + ROW_FACTOR_UPDATE + f"""
row_factor = int(plastic) * row_factor + (1 - int(plastic))
{GROWTH_TAKES_FACTOR}
row_weight_sum = row_weight_sum * row_factor + row_change_sum
row_change_sum = 0
""")

# The rows passed over in full: every row on the last step of a run (every weight written out,
# for Python, monitors and the next run), a row whose scale left [1e-3, 1e3], and a row whose
# factor is over 2 (it lost over half its sum, which is kept by differences: taken afresh).
LAZY_PASS = (f"plastic and (last_step_of_run + int(row_factor > 2) + {GROWTH_OUT_OF_RANGE})"
             " > 0")


class LazyMetaRows(RuleTemplates):
    """Meta_nearest_online rendered with lazy row scaling (``row_scaling="lazy"``).

    The weights are those of the eager rendering up to rounding; a step costs in proportion
    to its spikes. ``w`` holds the true weight wherever code reads it, as for nearest_online's
    :class:`~brian_stdp.rules.nearest_online.LazyRows`.
    """
    model = ("w : 1  # the weight\n"
             "bounded_change : 1  # this step's change through the soft bounds, not yet in w\n"
             "w_growth : 1  # the row's growth when w was written\n")
    post_model = LAZY_META_ROW_MODEL
    on_pre = {"learn_pre": DELAYED_SPIKE + LEARN_PRE_CHANGE + LAZY_CHANGE,
              "apply_pre": WRITE_OUT}
    on_post = {"learn_post": DELAYED_SPIKE + LEARN_POST_CHANGE + LAZY_CHANGE
               + "post_spiked = learning\n",
               "apply_post": WRITE_OUT}
    pathway_delay_steps = {"learn_pre": 1, "learn_post": 1, "apply_pre": 2, "apply_post": 2}
    pathway_orders = {"learn_pre": Order.LEARN_PRE, "learn_post": Order.LEARN_POST,
                      "apply_pre": Order.APPLY_CHANGE_PRE, "apply_post": Order.APPLY_CHANGE_POST}
    step_operations = [
        read_at_spike("pre", "pre_decay", DELAYED_SPIKE, spiked=True),
        ("post", LAZY_ROW_UPDATE, "after_synapses"),
    ]
    row_pass = {
        "condition": LAZY_PASS,
        "row_code": "pass_growth = row_growth\nrow_growth = 0\nrow_weight_sum = 0",
        "code": (f"w = {WEIGHT_AT.format(growth='pass_growth')} + bounded_change\n"
                 "w_growth = 0\nbounded_change = 0\nrow_weight_sum += w"),
    }
    write_out = WRITE_OUT
    write_out_every_step = ("synapses", WRITE_OUT, "after_synapses", Order.WRITE_OUT_WEIGHTS)
    # the synapse variable holding a change not yet in its weight (written out with it)
    pending_change = "bounded_change"


MetaNearestOnlineSTDP.LAZY_ROWS = LazyMetaRows
