"""The object that prepares an attachment's state before each ``run()``."""
import inspect
import os
import sys
import threading
import weakref

import numpy as np

from brian2 import Network, StateMonitor, prefs
from brian2.core.base import BrianObject
from brian2.core.operations import NetworkOperation
from brian2.core.variables import Subexpression
from brian2.devices.device import RuntimeDevice, get_device
from brian2.groups.group import CodeRunner
from brian2.utils.stringtools import get_identifiers

from .. import checks
from ..schedule import Order
from .. import brian2_private

__all__ = ["RunBoundary", "COMPILE_NOTICE_AFTER_S"]

#: Seconds a runtime ``run()`` may spend preparing before the one-line notice that cython is
#: compiling: reading compiled code from the cache takes well under this, compiling longer.
COMPILE_NOTICE_AFTER_S = 3.0
COMPILE_NOTICE = ("brian_stdp: cython is compiling this network's code (a minute or more for "
                  "code it has not compiled before; cached in {cache}, later runs start at "
                  "once)\n")
#: Brian2 console log levels that show no INFO line: no notice either.
QUIET_LEVELS = ("WARNING", "ERROR", "CRITICAL")
#: Where runtime cython compiles: every object's before_run, called from the network's.
_NETWORK_BEFORE_RUN = inspect.unwrap(Network.before_run).__code__


class _CompileNotice:
    """One timer per process that prints the notice, unless cancelled first: every
    attachment of a network starts it (once) and the first step ends it. The notice goes to
    the stderr of the moment the run began: Brian2 points file descriptors 1 and 2 at
    temporary files while it compiles, so Python's streams (and Brian2's log) show nothing
    then. Quiet when Brian2's console log shows no INFO lines."""
    timer = None
    stream = None
    thread = None
    lock = threading.Lock()

    @staticmethod
    def wanted():
        """Runtime cython compiles in ``before_run``; numpy and cpp_standalone do not."""
        return (prefs.codegen.target == "cython" and isinstance(get_device(), RuntimeDevice)
                and prefs.logging.console_log_level not in QUIET_LEVELS)

    @classmethod
    def start(cls):
        if cls.timer is not None and cls.timer.is_alive():  # another attachment of this run
            return
        cls.end()  # what a run stopped before its first step left
        cache = prefs.codegen.runtime.cython.cache_dir or "~/.cython/brian_extensions"
        cls.stream = os.fdopen(os.dup(2), "w")
        cls.thread = threading.get_ident()
        cls.timer = threading.Timer(COMPILE_NOTICE_AFTER_S, cls._say,
                                    args=(COMPILE_NOTICE.format(cache=cache),))
        cls.timer.daemon = True
        cls.timer.start()

    @staticmethod
    def preparing(thread):
        """Whether ``thread`` is still inside a network's ``before_run``. A run stopped there
        (Ctrl-C, an error in a later object's code) never reaches the first step that ends the
        notice, and the notice would then speak of a compilation that is over."""
        frame = sys._current_frames().get(thread)
        while frame is not None:
            if frame.f_code is _NETWORK_BEFORE_RUN:
                return True
            frame = frame.f_back
        return False

    @classmethod
    def _say(cls, text):
        with cls.lock:
            if cls.stream is not None and cls.preparing(cls.thread):
                cls.stream.write(text)
                cls.stream.flush()

    @classmethod
    def end(cls):
        if cls.timer is None:
            return
        cls.timer.cancel()
        with cls.lock:
            cls.stream.close()
            cls.timer = cls.stream = cls.thread = None


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
                 contained_synapses=(), write_out=(), templates=None, own_objects=()):
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
        self.write_out = list(write_out)
        if self.write_out:
            self.synapses = weakref.ref(synapses)
            self.rule_pathways = (set(checks.pathway_codes(templates.on_pre, "on_pre"))
                                  | set(checks.pathway_codes(templates.on_post, "on_post")))
            self.own_names = {obj.name for obj in own_objects}
            self.write_out_code = templates.write_out.strip("\n")
            self.pending_change = getattr(templates, "pending_change", None)

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
        if self.write_out:
            readers = self.weight_readers()
            for operation in self.write_out:
                operation.active = bool(readers)
        super().before_run(run_namespace)
        # In runtime cython the objects after this one compile their code now: a notice if that
        # takes long, ended by the first step.
        if _CompileNotice.wanted():
            _CompileNotice.start()

    def weight_readers(self):
        """The names of the objects in the network being prepared, other than the rule's own
        code and the pathways that write their weights out first, that read the weights
        (directly or through a subexpression of the synapses)."""
        synapses, network = self.synapses(), brian2_private.network_being_prepared()
        if network is None:
            return ["a network brian_stdp could not find"]   # so: write them out
        readers = []
        for obj in brian2_private.objects_in(network):
            if isinstance(obj, NetworkOperation):
                readers.append(obj.name)   # Python may read S.w (runtime mode only)
            elif isinstance(obj, StateMonitor):
                if obj.source.name == synapses.name and _reads_w(synapses,
                                                                 obj.record_variables):
                    readers.append(obj.name)
            elif isinstance(obj, CodeRunner) and getattr(obj.group, "name", None) == synapses.name:
                if (getattr(obj, "objname", None) in self.rule_pathways
                        or obj.name in self.own_names):
                    continue
                code = obj.abstract_code or ""
                if isinstance(code, dict):
                    code = "\n".join(code.values())
                if (_reads_w(synapses, get_identifiers(code))
                        and not code.lstrip("\n").startswith(self.write_out_code)):
                    readers.append(obj.name)
        return readers

    def run(self):
        _CompileNotice.end()
        super().run()

    def after_run(self):
        _CompileNotice.end()
        if self.write_out and isinstance(get_device(), RuntimeDevice):
            self.write_out_now()
        super().after_run()

    def write_out_now(self):
        """Write every weight out, in Python: a run stopped before its last step (``stop()``,
        an interrupted job) left rows with their factors apart."""
        synapses = self.synapses()
        variables = synapses.variables
        row_growth = self.post_state.variables["row_growth"].get_value()
        w_growth = variables["w_growth"].get_value()
        row_of = variables["_synaptic_post"].get_value()
        # a change of the last step run not yet in its weight (Meta's), written out with it
        pending = (variables[self.pending_change].get_value() if self.pending_change
                   else np.zeros(0))
        if not (row_growth.any() or w_growth.any() or pending.any()):
            return
        w = variables["w"].get_value()
        w[:] = w * (1 + row_growth[row_of]) / (1 + w_growth)
        w_growth[:] = row_growth[row_of]
        if pending.size:
            w += pending
            pending[:] = 0


def _reads_w(synapses, names, seen=()):
    """Whether ``names`` (of the synapses' variables) include ``w`` or a subexpression that
    reads it."""
    for name in names:
        if name == "w":
            return True
        variable = synapses.variables.get(name)
        if isinstance(variable, Subexpression) and name not in seen:
            if _reads_w(synapses, get_identifiers(variable.expr), (*seen, name)):
                return True
    return False

