"""The run state every attachment keeps, shared by the rendering, the checks and the rules.

One shared variable of each attachment's row group per entry: the learning switch and the
steps that bound SPAIC's runs. The synapses, the helper groups and the relays see them under
these names. This module imports nothing of the package, so that everything else can import it.
"""
from brian2 import Equations

__all__ = ["RUN_STATE_MODEL", "RUN_STATE_NAMES", "FIRST_STEP_OF_CALL", "MARK_RUN_STARTS"]

RUN_STATE_MODEL = """
plastic : boolean (shared)         # False freezes the weights
run_last_step : integer (shared)   # the last step of the current run() call
period_steps : integer (shared)    # steps per presentation period (0: one period per run)
run_start_step : integer (shared)  # the first step of the current SPAIC run (set by reset)
call_start_step : integer (shared) # the first step of the current run() call (set before it)
"""

#: The names :data:`RUN_STATE_MODEL` declares, in its order.
RUN_STATE_NAMES = tuple(Equations(RUN_STATE_MODEL).keys())

#: 1 on the first step of each run() call: weights can be set from outside only before it.
FIRST_STEP_OF_CALL = "int(timestep(t, dt) == call_start_step)"

#: Python marks a start step as -1 (it cannot read the simulation's clock); the first step
#: after the mark writes its own step there.
MARK_RUN_STARTS = ("run_start_step = run_start_step + int(run_start_step < 0) * "
                   "(timestep(t, dt) - run_start_step)\n"
                   "call_start_step = call_start_step + int(call_start_step < 0) * "
                   "(timestep(t, dt) - call_start_step)")
