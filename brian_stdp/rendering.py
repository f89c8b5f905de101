"""The one place where a rule becomes Brian2 objects.

A rule (see :class:`brian_stdp.rule.STDPRule`) is a declarative record: per-synapse equations,
``on_pre``/``on_post`` code, per-post-neuron ("row") and per-pre-neuron ("column") helper
equations, summed row expressions, per-step operations and the code that clears per-run state.
:func:`attach` turns that record into Brian2 objects contained in the user's ``Synapses``, so that
``run()``, ``Network(collect())`` and ``cpp_standalone`` all pick them up. Everything is Brian2
code: no Python callback runs during a simulation.

The helper groups hold per-neuron learning state so that the user's own groups stay unmodified.
The synapses see the helper variables under their own names, through references indexed by the
synapse's post-synaptic (or pre-synaptic) neuron, exactly as Brian2 links ``x_post``.
"""
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from brian2 import NeuronGroup, Synapses, TimedArray, defaultclock, linked_var, second
from brian2.core.base import BrianObject
from brian2.equations.equations import Equations
from brian2.synapses.synapses import SummedVariableUpdater
from brian2.equations.codestrings import Expression
from brian2.utils.stringtools import word_substitute

from . import checks

__all__ = ["attach", "build_synapses", "reset", "attachment_of"]

# Shared state of every attachment: the learning switch (``S.plastic``, a reference to it) and
# where presentation periods end.
BASE_POST_MODEL = """
plastic : boolean (shared)        # False freezes the weights
run_last_step : integer (shared)  # the last step of the current run()
period_steps : integer (shared)   # steps per presentation period (0: one period per run)
run_start_step : integer (shared) # the first step of the current SPAIC run (set by reset)
call_start_step : integer (shared) # the first step of the current run() call (set before it)
"""

# The first step of each run() call: the only steps before which weights may have been set
# from outside (between calls).
FIRST_STEP_OF_CALL = "int(timestep(t, dt) == call_start_step)"

# Order of the learning machinery inside the 'start' slot of every step. User monitors at the
# default ('start', order 0) therefore see the weights of this step, as SPAIC's learner left them.
ORDER_PERIOD_RESET = -50
ORDER_SUMMED = -40
ORDER_POPULATION = -35
ORDER_POST = -30
ORDER_PRE = -25
ORDER_SYNAPSES = -20
ORDER_POST_AFTER = -10
# Inside the slot of a rule's row pass, after its step operations: the rows decide, the chosen
# rows run their row code, then their synapses run the pass.
ORDER_ROW_PASS_EVENT = -8
ORDER_ROW_PASS_ROWS = -7
ORDER_ROW_PASS = -6


@dataclass
class Attachment:
    """What :func:`attach` made for one ``Synapses``: kept on it as ``S._brian_stdp``."""
    rule: object
    synapses: object
    post_state: object
    pre_state: object = None
    period: object = None
    dt: object = None
    objects: list = field(default_factory=list)


def attachment_of(synapses):
    attached = getattr(synapses, "_brian_stdp", None)
    if attached is None:
        raise TypeError(f"{synapses.name!r} has no brian_stdp rule attached: create it with "
                        "rule.synapses(...) or call rule.attach(S) after building it by hand")
    return attached


class _RunBoundary(BrianObject):
    """Prepares the row state before each ``run()``, and refuses a run that would go wrong.

    It writes where the run ends (for rules acting on "the last step of each run"), and runs
    the row sums that a rule keeps up to date itself (``summed_every_step = False``) once, so
    that weights set from outside since the last step are counted. Both happen before the
    run starts: as Python in runtime mode, as part of the generated program in cpp_standalone
    (a code object queued before the run, like any assignment between runs).

    Being the one object of an attachment whose ``before_run`` Brian calls in every device and
    for every run, it is also where the run-time misuse is refused: a dt changed since the
    rule was attached, and (standalone) a ``network_operation`` in the network or OpenMP
    threads for a rule whose pass over every synapse writes row state.
    """
    add_to_magic_network = True

    def __init__(self, synapses, rule, post_state, dt, name, seed_updaters=(), delays=None,
                 contained_synapses=()):
        super().__init__(when="start", order=ORDER_PERIOD_RESET - 1, name=name)
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
        from brian2.devices.device import get_device
        checks.check_clocks(self.clocks, self.synapses_name, self.dt)
        checks.refuse_network_operations(self.synapses_name)
        checks.refuse_racing_openmp(self.synapses_name, self.rule)
        # before the pathways' own before_run ('synapses' slot) reads the delays
        for pathway, delay in self.pathway_delays.items():
            pathway.delay = delay
        device = get_device()
        # cpp_standalone declares the pathways of the Synapses it finds among a network's
        # top-level objects only; a Synapses contained in the user's must be made known.
        if hasattr(device, "synapses") and isinstance(device.synapses, set):
            device.synapses.update(self.contained_synapses)
        # Brian sets the clocks' interval before calling before_run, in every device.
        self.post_state.run_last_step = int(self.post_state.clock._i_end) - 1
        # Only the simulation knows the step the call starts at: mark it, the first step takes it.
        self.post_state.call_start_step = -1
        for updater in self.seed_updaters:
            updater.before_run(run_namespace)
            updater.codeobj()
        super().before_run(run_namespace)


def merge_code(rule_code, user_code):
    """Rule code and user code in one pathway (user code first: it sees this step's weight)."""
    parts = [c.strip("\n") for c in (user_code, rule_code) if c and c.strip()]
    return "\n".join(parts)


def build_synapses(rule, source, target, model="", on_pre="", on_post="", namespace=None,
                   period=None, **synapses_kwargs):
    """Create ``Synapses(source, target)`` running ``rule``, with the user's code merged in."""
    from brian2.groups.group import Group
    for role, group in (("source", source), ("target", target)):
        if not isinstance(group, Group) or not hasattr(group, "events"):
            raise TypeError(f"{role} must be a spiking Brian2 group (NeuronGroup, PoissonGroup, "
                            f"SpikeGeneratorGroup, ...), got {type(group).__name__}")
        if "spike" not in group.events:
            raise ValueError(f"the {role} group {group.name!r} emits no spikes, but the rule "
                             "learns from them: give it a threshold")
    rule.check_target(target)
    checks.check_user_code(rule, model, on_pre, on_post)
    clocks = {"the source group": source.clock, "the target group": target.clock}
    if synapses_kwargs.get("clock") is not None:
        clocks["the synapses"] = synapses_kwargs["clock"]
    if synapses_kwargs.get("dt") is not None:
        clocks["the synapses"] = SimpleNamespace(dt=synapses_kwargs["dt"])
    checks.check_clocks(clocks, synapses_kwargs.get("name", "the synapses"), defaultclock.dt)
    period_steps = _period_steps(period)
    if "on_event" in synapses_kwargs:
        raise ValueError("rule.synapses does not accept on_event=: the rule learns from spike "
                         "events; build the Synapses by hand to change it")
    delays = rule.pathway_delays()
    user_delay = synapses_kwargs.pop("delay", None)
    if user_delay is not None:
        user_delay = user_delay if isinstance(user_delay, dict) else {"pre": user_delay}
        clashes = set(user_delay) & set(delays)
        if clashes:
            raise ValueError(f"delay= may not set the rule's own pathway(s) {sorted(clashes)}: "
                             "their delays are part of SPAIC's timing")
        delays.update(user_delay)
    ns = rule.namespace()
    for key, value in (namespace or {}).items():
        if key in ns and ns[key] is not value:
            raise ValueError(f"namespace entry {key!r} clashes with the rule's constant of that "
                             "name; rename it")
        ns[key] = value
    pre_code = _pathways(rule.on_pre, on_pre, "on_pre")
    post_code = _pathways(rule.on_post, on_post, "on_post")
    equations = Equations(rule.model) + Equations(model) if model else Equations(rule.model)
    S = Synapses(source, target, model=equations, on_pre=pre_code, on_post=post_code,
                 namespace=ns, delay=delays, **synapses_kwargs)
    _attach(rule, S, period_steps)
    return S


def _pathways(rule_code, user_code, keyword):
    if isinstance(rule_code, str):
        rule_code = {_default_pathway(keyword): rule_code}
    merged = dict(rule_code)
    if isinstance(user_code, dict):
        for name, code in user_code.items():
            merged[name] = merge_code(merged.get(name, ""), code)
    elif isinstance(user_code, str):
        name = _default_pathway(keyword)
        merged[name] = merge_code(merged.get(name, ""), user_code)
    else:
        raise TypeError(f"{keyword} must be a code string or a dict of them, got {user_code!r}")
    return merged


def _default_pathway(keyword):
    return "pre" if keyword == "on_pre" else "post"


def _period_steps(period):
    if period is None:
        return None
    if not hasattr(period, "dim") or period.dim != second.dim:
        raise TypeError(f"period must be a time (e.g. 350*ms), got {period!r}")
    steps = float(period / defaultclock.dt)
    # NaN and inf must reach the message below (round() would raise its own, unnamed error).
    if not np.isfinite(steps) or steps < 1 or abs(steps - round(steps)) > 1e-6:
        raise ValueError(f"period must be a whole positive number of time steps "
                         f"(dt = {defaultclock.dt}), got {period!r}")
    return int(round(steps))


def attach(rule, synapses, period=None):
    """Attach the rule's extra operations to a ``Synapses`` built by hand from its templates."""
    attached = getattr(synapses, "_brian_stdp", None)
    if attached is not None:
        raise ValueError(f"{synapses.name!r} already runs the rule {attached.rule.name}; a "
                         "Synapses learns with one rule: create a second Synapses (between the "
                         "same groups if need be) for another rule")
    checks.check_hand_built(rule, synapses)
    rule.check_target(synapses.target)
    checks.check_clocks(checks.synapse_clocks(synapses), synapses.name)
    checks.check_delays(rule, synapses, defaultclock.dt)
    # Where Brian2 cannot read the delays back (standalone, before the run) the run boundary
    # sets them, so that a hand-built Synapses keeps SPAIC's timing whatever it was built with.
    return _attach(rule, synapses, _period_steps(period), set_delays=True)


def _attach(rule, S, period_steps, set_delays=False):
    n_post = len(S.target)
    row_pass = rule.row_pass
    post_state = NeuronGroup(n_post, Equations(rule.post_model) + Equations(
        BASE_POST_MODEL + _population_links(rule)),
        events={"row_pass": row_pass["condition"]} if row_pass else {},
        namespace=dict(S.namespace), name=S.name + "_post_state")
    objects = [post_state]
    objects.append(post_state.run_regularly(
        "run_start_step = run_start_step + int(run_start_step < 0) * "
        "(timestep(t, dt) - run_start_step)\n"
        "call_start_step = call_start_step + int(call_start_step < 0) * "
        "(timestep(t, dt) - call_start_step)", when="start", order=ORDER_PERIOD_RESET - 2,
        name=S.name + "_run_start"))
    for name in Equations(rule.post_model).names:
        S.variables.add_reference(name, post_state, name, index=_row_index(post_state, name))
    for name in checks.BASE_NAMES:
        S.variables.add_reference(name, post_state, name)
    pre_state = None
    if rule.pre_model:
        pre_state = NeuronGroup(len(S.source), rule.pre_model, namespace=dict(S.namespace),
                                name=S.name + "_pre_state")
        objects.append(pre_state)
        for name in Equations(rule.pre_model).names:
            S.variables.add_reference(name, pre_state, name, index="_presynaptic_idx")
        for name in checks.BASE_NAMES:
            pre_state.variables.add_reference(name, post_state, name)
    objects.extend(_neuron_pathways(rule, S, pre_state, post_state))
    seed_updaters = []
    for target_name, expression in rule.summed.items():
        updater = SummedVariableUpdater(Expression(expression), target_name, S, post_state,
                                        "N_post", "_postsynaptic_idx")
        updater.when, updater.order = rule.summed_when, ORDER_SUMMED
        (objects if rule.summed_every_step else seed_updaters).append(updater)
    objects.extend(_population_sums(rule, S, post_state))
    for operation in rule.step_operations:
        group_name, code, when, order = step_operation_fields(operation)
        group = {"post": post_state, "pre": pre_state, "synapses": S}[group_name]
        if order is None:
            order = {"post": ORDER_POST, "pre": ORDER_PRE, "synapses": ORDER_SYNAPSES}[group_name]
        suffix = "" if when == "start" else "_" + when
        runner = group.run_regularly(code, when=when, order=order,
                                     name=f"{S.name}_{group_name}_step{suffix}")
        if group is S:
            S.contained_objects.remove(runner)
        objects.append(runner)
    for pathway, order in rule.pathway_orders.items():
        getattr(S, pathway).order = order
    if row_pass:
        objects.extend(_row_pass(rule, S, post_state))
    if period_steps is not None:
        # A period boundary is a run start: each group is cleared as reset() clears it.
        post_state.period_steps = period_steps
        for group, code, suffix in ((S, rule.reset_code, ""),
                                    (pre_state, rule.pre_reset_code, "_pre"),
                                    (post_state, rule.post_reset_code, "_post")):
            if not code.strip():
                continue
            runner = group.run_regularly(code, dt=period_steps * defaultclock.dt, when="start",
                                         order=ORDER_PERIOD_RESET,
                                         name=f"{S.name}_period_reset{suffix}")
            if group is S:
                S.contained_objects.remove(runner)
            objects.append(runner)
    delays = rule.pathway_delays() if set_delays else {}
    objects.append(_RunBoundary(S, rule, post_state, defaultclock.dt,
                                name=S.name + "_run_boundary",
                                seed_updaters=seed_updaters, delays=delays,
                                contained_synapses=[o for o in objects
                                                    if isinstance(o, Synapses)]))
    S.contained_objects.extend(o for o in objects if o not in S.contained_objects)
    # Brian2's run_regularly on a Synapses makes it a contained object of its source group, so
    # that magic run() simulates it even when only a list holds it. Every rule used to have one;
    # the rules that no longer do keep that behaviour, the same for all four.
    if S not in S.source.contained_objects:
        S.source.contained_objects.append(S)
    post_state.plastic = True
    S._brian_stdp = Attachment(rule, S, post_state, pre_state, period_steps,
                               dt=defaultclock.dt, objects=objects)
    rule.after_attach(S)
    return S._brian_stdp


def step_operation_fields(operation):
    """``(group, code, when, order)`` of a rule's step operation, the omitted ones filled in.

    An optional third element moves the operation to another slot (e.g. 'after_resets', for a
    rule reading state the target's reset updated this step); a fourth sets its order in that
    slot (e.g. between two pathways of 'synapses'; None: the group's default order).
    """
    return tuple(operation) + ("start", None)[len(operation) - 2:]


def _row_index(group, name, index="_postsynaptic_idx"):
    """The index by which a synapse sees row variable ``name`` (none for a shared one)."""
    return None if group.variables[name].scalar else index


def _neuron_pathways(rule, S, pre_state, post_state):
    """``rule.neuron_pathways``: per-neuron code on each spike, through one-to-one synapses.

    A pathway of ``S`` itself would visit every synapse of the spiking neuron (a row's synapses
    lie ``N_post`` apart in memory) to update one neuron's state; a one-to-one ``Synapses`` from
    the user's group to the helper group makes one visit per spike. The code sees the helper
    group's variables and the shared state of post_state under their own names.
    """
    objects = []
    for side, (code, delay_steps, order) in rule.neuron_pathways.items():
        source, helper = (S.source, pre_state) if side == "pre" else (S.target, post_state)
        relay = Synapses(source, helper, on_pre=code, delay=delay_steps * S.clock.dt,
                         namespace=dict(S.namespace), clock=S.clock,
                         name=f"{S.name}_{side}_spikes")
        if helper is not post_state:
            for name in checks.BASE_NAMES:
                relay.variables.add_reference(name, post_state, name)
        relay.connect(j="i")
        relay.pre.order = order
        objects.append(relay)
    return objects


def _row_pass(rule, S, post_state):
    """``rule.row_pass``: code run on the synapses of the rows where a condition holds.

    Brian2 runs synapse code either on every synapse (``run_regularly``) or on the synapses of
    the neurons that had an event (a pathway). The rows are the post_state neurons, which are not
    a side of ``S``; so a second ``Synapses``, from post_state to the source, is made to share
    ``S``'s connectivity arrays, transposed, and to see ``S``'s variables through references
    (same synapse index). A ``row_pass`` event of post_state then runs its pathway on exactly
    the synapses of the chosen rows: work in proportion to those rows, in every target.
    """
    from brian2 import ms
    spec = rule.row_pass
    when = spec.get("when", "after_synapses")
    post_state.thresholder["row_pass"].when = when
    post_state.thresholder["row_pass"].order = ORDER_ROW_PASS_EVENT
    objects = []
    if spec.get("row_code", "").strip():
        objects.append(post_state.run_on_event("row_pass", spec["row_code"], when=when,
                                               order=ORDER_ROW_PASS_ROWS))
    rows = Synapses(post_state, S.source, namespace=dict(S.namespace), name=S.name + "_row_pass")
    shared = rows.variables._variables
    for name, of_S in (("_synaptic_pre", "_synaptic_post"), ("_synaptic_post", "_synaptic_pre"),
                       ("_presynaptic_idx", "_synaptic_post"),
                       ("_postsynaptic_idx", "_synaptic_pre"), ("i", "_synaptic_post"),
                       ("j", "_synaptic_pre"), ("N", "N"), ("N_incoming", "N_outgoing"),
                       ("N_outgoing", "N_incoming")):
        shared[name] = S.variables[of_S]
    for name in Equations(rule.model).names:
        rows.variables.add_reference(name, S, name, index="_idx")
    for name in Equations(rule.post_model).names:
        rows.variables.add_reference(name, post_state, name,
                                     index=_row_index(post_state, name, "_presynaptic_idx"))
    for name in checks.BASE_NAMES:
        rows.variables.add_reference(name, post_state, name)
    # Brian2 refuses new attributes once a group is built; a pathway is one (rows.pre).
    del rows.__dict__["_group_attribute_access_active"]
    rows._add_updater(spec["code"], "pre", delay=0 * ms, event="row_pass")
    rows._enable_group_attributes()
    rows.pre.when, rows.pre.order = when, ORDER_ROW_PASS
    return objects + [rows]


def _population_links(rule):
    return "".join(f"\n{name} : 1 (linked)" for name in rule.population_summed)


def _population_sums(rule, S, post_state):
    """``rule.population_summed``: sums over every row, seen by each row as a linked variable.

    Brian2's only reduction is a summed variable, so the rows feed a one-neuron group through
    all-to-one synapses. The sums are taken after the row sums (in the same slot) and before the
    post operations, which can therefore use both.
    """
    if not rule.population_summed:
        return []
    n_post = len(post_state)
    population = NeuronGroup(1, "\n".join(f"{name} : 1" for name in rule.population_summed),
                             name=S.name + "_population")
    as_source = {name: name + "_pre" for name in post_state.variables
                 if not name.startswith("_")}
    model = "\n".join(f"{name}_post = {word_substitute(expression, as_source)} : 1 (summed)"
                      for name, expression in rule.population_summed.items())
    sums = Synapses(post_state, population, model, namespace=dict(S.namespace),
                    name=S.name + "_population_sums")
    sums.connect()
    for name in rule.population_summed:
        updater = sums.summed_updaters[name + "_post"]
        updater.when, updater.order = rule.summed_when, ORDER_POPULATION
        setattr(post_state, name, linked_var(population, name,
                                             index=np.zeros(n_post, dtype=int)))
    return [population, sums]


def reset(rule, synapses):
    """SPAIC's run boundary: clear the per-run state (traces, pending changes)."""
    attached = attachment_of(synapses)
    if getattr(attached.rule, "_rule", attached.rule) != rule:
        raise ValueError(f"{synapses.name!r} runs {attached.rule!r}, not {rule!r}: reset it "
                         "with the rule it was built with (another rule's reset clears other "
                         "variables)")
    # Only the simulation knows the step the next run starts at (Python cannot tell which
    # network runs next, nor, in standalone, read its clock): mark it, the next step takes it.
    attached.post_state.run_start_step = -1
    _assign(synapses, rule.reset_code)
    _assign(attached.post_state, rule.post_reset_code)
    _assign(attached.pre_state, rule.pre_reset_code)


def _assign(group, code):
    """Carry out ``name = value`` lines on ``group`` from Python (code strings in standalone)."""
    for line in code.strip().splitlines():
        name, value = (part.strip() for part in line.split("=", 1))
        setattr(group, name, float(value) if _is_number(value) else value)


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


_table_counter = [0]


def set_from_matrix(synapses, variable, matrix):
    """``synapses.<variable>[k] = matrix[j_k, i_k]`` (``[post, pre]``), as Brian2 code.

    Written as a string assignment through a one-row ``TimedArray`` so that it also works in
    cpp_standalone before the synapses exist (their indices are only known once built).
    """
    matrix = np.asarray(matrix, dtype=float)
    expected = (len(synapses.target), len(synapses.source))
    if matrix.shape != expected:
        raise ValueError(f"the weight matrix must have shape [post, pre] = {expected}, "
                         f"got {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("the weight matrix must be finite (no NaN or inf)")
    _table_counter[0] += 1
    name = f"brian_stdp_matrix_{_table_counter[0]}"
    synapses.namespace[name] = TimedArray(matrix.reshape(1, -1), dt=defaultclock.dt,
                                          name=name)
    setattr(synapses, variable, f"{name}(0*second, j * N_pre + i)")
