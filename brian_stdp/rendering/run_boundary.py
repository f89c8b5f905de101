"""The object that prepares an attachment's state before each ``run()``."""
from brian2.core.base import BrianObject
from brian2.devices.device import get_device

from .. import checks
from ..schedule import Order
from .. import brian2_private

__all__ = ["RunBoundary"]


class RunBoundary(BrianObject):
    """Prepares the row state before each ``run()``, and refuses a run that would go wrong.

    It writes where the run ends (for rules acting on "the last step of each run"), and runs
    the row sums that a rule keeps up to date itself (``summed_every_step = False``) once, so
    that weights set from outside since the last step are counted. Both happen before the run
    starts: as Python in runtime mode, as part of the generated program in cpp_standalone (a
    code object queued before the run, like any assignment between runs).

    Being the one object of an attachment whose ``before_run`` Brian calls in every device and
    for every run, it is also where the run-time misuse is refused: a dt changed since the rule
    was attached, and (standalone) a ``network_operation`` in the network.
    """
    add_to_magic_network = True

    def __init__(self, synapses, rule, post_state, dt, name, seed_updaters=(), delays=None,
                 contained_synapses=()):
        super().__init__(when="start", order=Order.RUN_BOUNDARY, name=name)
        self.synapses_name = synapses.name
        self.rule = rule
        # {pathway: delay} to (re)write before each run (Brian2 refuses it before connect())
        self.pathway_delays = {getattr(synapses, p): d for p, d in (delays or {}).items()}
        self.clocks = checks.synapse_clocks(synapses)
        self.dt = dt
        self.post_state = post_state
        self.seed_updaters = list(seed_updaters)
        self.contained_synapses = list(contained_synapses)

    def before_run(self, run_namespace):
        checks.check_clocks(self.clocks, self.synapses_name, self.dt)
        checks.refuse_network_operations(self.synapses_name)
        # before the pathways' own before_run ('synapses' slot) reads the delays
        for pathway, delay in self.pathway_delays.items():
            pathway.delay = delay
        device = get_device()
        brian2_private.declare_contained_synapses(device, self.contained_synapses)
        # values passed with device.run(run_args=...) must be in place before the row sums
        brian2_private.apply_run_args_before_this_run(device)
        self.post_state.run_last_step = brian2_private.last_step_of_run(self.post_state.clock)
        # Only the simulation knows the step the call starts at: mark it, the first step takes it.
        self.post_state.call_start_step = -1
        for updater in self.seed_updaters:
            brian2_private.run_now(updater, run_namespace)
        super().before_run(run_namespace)
