r"""SPAIC's ``full_online_STDP``: all-to-all traces, normalisation at the end of a run.

Every step ``k``, with ``p``, ``q`` the pre and post spikes of step ``k - 1``:

.. math::

    x_i &\leftarrow \lambda\,x_i + p, \qquad x_o \leftarrow \lambda\,x_o + q \\
    \Delta w^{new} &= A_{post}\, q^T x_i - A_{pre}\, x_o^T p \\
    W &\leftarrow W + \Delta w^{stored}; \quad
    W \leftarrow w_{norm} \frac{W}{\sum_{pre}|W|} \text{ on the last step of a run only}; \quad
    W \leftarrow \operatorname{clip}(W, 0, 1)

"The last step of a run" is the last step of every ``run()`` call, or, when the synapses were
made with ``period=...``, the last step of every period (one presentation).
"""
import dataclasses
from typing import ClassVar

import numpy as np

from .nearest_online import (APPLY_STORED_CHANGE, NORMALISING_FACTOR, ROW_MODEL, TRACE_MODEL,
                             TRACE_RESET)
from .parameters import any_real, decay_factor, parameter, positive
from .rule import STDPRule

__all__ = ["FullOnlineSTDP"]

LAST_STEP_OF_PERIOD = ("int(period_steps > 0) * int((timestep(t, dt) + 1) % "
                       "(period_steps + int(period_steps == 0)) == 0) + "
                       "int(period_steps == 0) * int(timestep(t, dt) == run_last_step)")


@dataclasses.dataclass(frozen=True)
class FullOnlineSTDP(STDPRule):
    """SPAIC's ``full_online_STDP``, exact to SPAIC per step."""
    Apost: float = parameter(1e-2, "potentiation on a post spike, times the pre trace", any_real)
    Apre: float = parameter(1e-4, "depression on a pre spike, times the post trace", any_real)
    trace_decay: float = parameter(float(np.exp(-1 / 20)), "per-step decay of both traces",
                                   decay_factor)
    w_norm: float = parameter(78.4, "each post neuron's weights are scaled to sum to this on "
                                    "the last step of a run (then clamped to [0, 1])", positive)

    name: ClassVar[str] = "full_online_STDP"
    model: ClassVar[str] = TRACE_MODEL
    # Same timing as nearest_online (see there); here spikes add to the traces.
    on_pre: ClassVar[str] = """
step_now = timestep(t, dt)
dw_new += int(plastic) * -Apre * output_trace * trace_decay ** (step_now - output_trace_step)
input_trace = input_trace * trace_decay ** (step_now - input_trace_step) + 1
input_trace_step = step_now
"""
    on_post: ClassVar[str] = """
step_now = timestep(t, dt)
pre_spiked_now = int(input_trace_step == step_now and input_trace > 0)
dw_new += int(plastic) * (Apost * input_trace * trace_decay ** (step_now - input_trace_step) - Apre * pre_spiked_now)
output_trace = output_trace * trace_decay ** (step_now - output_trace_step) + 1
output_trace_step = step_now
"""
    post_model: ClassVar[str] = ROW_MODEL
    summed: ClassVar[dict] = {"row_sum": "abs(w + dw_stored)"}
    step_operations: ClassVar[list] = [
        ("post", f"row_factor = 1 + ({LAST_STEP_OF_PERIOD}) * ({NORMALISING_FACTOR} - 1)"),
        ("synapses", APPLY_STORED_CHANGE),
    ]
    reset_code: ClassVar[str] = TRACE_RESET
