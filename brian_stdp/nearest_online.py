r"""SPAIC's ``nearest_online_STDP``: nearest-spike traces, per-step row normalisation.

Every step ``k``, with ``p``, ``q`` the pre and post spikes of step ``k - 1``:

.. math::

    x_i &\leftarrow (1 - p)\,\lambda_{pre}\,x_i + p, \qquad
    x_o \leftarrow (1 - q)\,\lambda_{post}\,x_o + q \\
    \Delta w^{new} &= A_{post}\, q^T x_i - A_{pre}\, x_o^T p \\
    W &\leftarrow \operatorname{clip}\!\Big(w_{norm}\,
        \frac{W + \Delta w^{stored}}{\sum_{pre} |W + \Delta w^{stored}|},\ 0,\ 1\Big),
    \qquad \Delta w^{stored} \leftarrow \Delta w^{new}

so a change shows two steps after the spikes that caused it. In Brian2 the traces are
event-driven (a value and the step it was set), the change from step ``n``'s spikes is collected
in ``dw_new`` by the spike pathways, and one operation at the start of every step applies the
stored change, normalises the row and clamps.
"""
import dataclasses
from typing import ClassVar

import numpy as np

from .parameters import any_real, decay_factor, parameter, positive
from .rule import STDPRule

__all__ = ["NearestOnlineSTDP"]

# Per-synapse state shared by the two trace-based rules (nearest and full).
TRACE_MODEL = """
w : 1                    # the weight
dw_new : 1               # change from this step's spikes, stored at the next step
dw_stored : 1            # SPAIC's stored dw: added to w at the start of the next step
input_trace : 1          # pre trace at its last update
input_trace_step : 1     # the step of that update
output_trace : 1         # post trace at its last update
output_trace_step : 1
"""

TRACE_RESET = """
dw_new = 0
dw_stored = 0
input_trace = 0
output_trace = 0
"""

ROW_MODEL = """
row_sum : 1      # sum over the row of |w + dw_stored|, this step
row_factor : 1   # what the row is multiplied by this step
"""

APPLY_STORED_CHANGE = """
w = int(plastic) * clip((w + dw_stored) * row_factor, 0, 1) + (1 - int(plastic)) * w
dw_stored = dw_new
dw_new = 0
"""

# A zero row stays zero instead of turning into NaN (SPAIC would divide 0 by 0).
NORMALISING_FACTOR = "w_norm / (row_sum + int(row_sum == 0))"


@dataclasses.dataclass(frozen=True)
class NearestOnlineSTDP(STDPRule):
    """SPAIC's ``nearest_online_STDP`` (Diehl & Cook 2015's rule), exact to SPAIC per step."""
    Apost: float = parameter(1e-2, "potentiation on a post spike, times the pre trace", any_real)
    Apre: float = parameter(1e-4, "depression on a pre spike, times the post trace", any_real)
    trace_pre: float = parameter(float(np.exp(-1 / 20)), "per-step decay of the pre trace",
                                 decay_factor)
    trace_post: float = parameter(float(np.exp(-1 / 20)), "per-step decay of the post trace",
                                  decay_factor)
    w_norm: float = parameter(78.4, "each post neuron's weights are scaled to sum to this "
                                    "every step (then clamped to [0, 1])", positive)

    name: ClassVar[str] = "nearest_online_STDP"
    model: ClassVar[str] = TRACE_MODEL
    # A pre spike depresses by the post trace. When the post neuron spikes in the same step,
    # on_post (which Brian runs after on_pre) adds the part of the depression on_pre could not
    # see: SPAIC's post trace already includes that spike (it is then 1).
    on_pre: ClassVar[str] = """
step_now = timestep(t, dt)
dw_new += int(plastic) * -Apre * output_trace * trace_post ** (step_now - output_trace_step)
input_trace = 1
input_trace_step = step_now
"""
    on_post: ClassVar[str] = """
step_now = timestep(t, dt)
pre_spiked_now = int(input_trace_step == step_now and input_trace > 0)
dw_new += int(plastic) * (Apost * input_trace * trace_pre ** (step_now - input_trace_step) - Apre * pre_spiked_now * (1 - output_trace * trace_post ** (step_now - output_trace_step)))
output_trace = 1
output_trace_step = step_now
"""
    post_model: ClassVar[str] = ROW_MODEL
    summed: ClassVar[dict] = {"row_sum": "abs(w + dw_stored)"}
    step_operations: ClassVar[list] = [
        ("post", f"row_factor = {NORMALISING_FACTOR}"),
        ("synapses", APPLY_STORED_CHANGE),
    ]
    reset_code: ClassVar[str] = TRACE_RESET

    @staticmethod
    def build_weights(w_init, w_norm=78.4):
        """SPAIC's build pass (normalise each row to ``w_norm`` once, clamp to [0, 1])."""
        from .reference import nearest_online_build
        return nearest_online_build(w_init, w_norm)
