"""Refusals of misuse: what :mod:`brian_stdp.rendering` checks before it builds or runs.

Each check raises before any Brian2 object is created (or, for what only exists at run time,
before the simulation starts), naming what is wrong and what to do instead. A check exists where
the misuse would otherwise give a silently wrong result or an error deep inside Brian2;
docs/reliability.rst lists them with the tests that show them.
"""

from brian2 import Equations, Synapses, defaultclock
from brian2.devices.device import RuntimeDevice, get_device
from brian2.groups.subgroup import Subgroup

from .brian2_private import network_being_prepared, network_operations_in
from .names import assigned_names, local_names
from .run_state import RUN_STATE_NAMES

__all__ = ["rule_owned_names", "check_user_code", "check_hand_built", "check_delays",
           "synapse_clocks", "check_clocks", "refuse_network_operations", "check_subgroups",
           "pathway_codes"]


def rule_owned_names(rule):
    """``{name: where}`` of every variable the rule keeps in (or makes visible in) a Synapses."""
    owned = {name: "rule.model" for name in Equations(rule.model).names}
    for attribute in ("post_model", "pre_model"):
        owned.update((name, f"rule.{attribute}")
                     for name in Equations(getattr(rule, attribute)).names)
    owned.update((name, "rule.population_summed") for name in rule.population_summed)
    owned.update((name, "brian_stdp's run state") for name in RUN_STATE_NAMES)
    return owned


def _pathway_codes(code):
    if isinstance(code, dict):
        return code.items()
    return [("", code)] if isinstance(code, str) else []


def check_user_code(rule, model, on_pre, on_post):
    """Refuse user code that would redefine or overwrite the rule's own state.

    A user variable named like a rule variable would clash or, worse, shadow the rule's constant
    of that name (Brian2 resolves a synapse variable before the namespace) and change the
    learning without a word; so would user pathway code assigning to the rule's state.
    """
    owned = rule_owned_names(rule)
    constants = set(rule.namespace())
    locals_ = local_names(rule)
    user_names = Equations(model).names if model else set()
    for name in sorted(user_names):
        if name in locals_:
            raise ValueError(f"model= declares {name!r}, a name the rule's code uses for a "
                             "value of its own (it would write your variable): rename your "
                             "variable")
        if name in owned:
            raise ValueError(f"model= declares {name!r}, which the rule defines itself "
                             f"({owned[name]}): rename your variable (the rule's weight is "
                             "'w'; read it, do not redeclare it)")
        if name in constants:
            raise ValueError(f"model= declares {name!r}, which is the name of one of the "
                             f"rule's parameters: it would shadow the rule's constant; rename "
                             "your variable")
    for keyword, code in (("on_pre", on_pre), ("on_post", on_post)):
        for _, text in _pathway_codes(code):
            for name in assigned_names(text):
                if name in owned:
                    raise ValueError(f"{keyword}= assigns to {name!r}, which the rule owns "
                                     f"({owned[name]}): changing it from user code would "
                                     "change the learning; read it only, or keep your own "
                                     "variable in model=")


def _describe(equation):
    flags = f" ({', '.join(equation.flags)})" if equation.flags else ""
    return (f"a {equation.type} of {equation.var_type} type with dimensions "
            f"{equation.dim or '1'}{flags}")


def pathway_codes(code, keyword):
    """``{pathway: code}`` of an ``on_pre``/``on_post`` argument (``keyword``)."""
    if isinstance(code, dict):
        return dict(code)
    return {"pre" if keyword == "on_pre" else "post": code} if code else {}


def check_hand_built(rule, synapses):
    """Refuse a hand-built ``Synapses`` that does not carry the rule's templates exactly."""
    if not isinstance(synapses, Synapses):
        raise TypeError(f"rule.attach needs a brian2.Synapses, got {type(synapses).__name__}: "
                        "use rule.synapses(source, target) to create one")
    how = ("build it as Synapses(source, target, model=rule.model, on_pre=rule.on_pre, "
           "on_post=rule.on_post, delay=rule.pathway_delays(), "
           "namespace=rule.namespace(defaultclock.dt)), "
           "or use rule.synapses(...)")
    expected = Equations(rule.model)
    missing = [name for name in expected.names if name not in synapses.variables]
    if missing:
        raise TypeError(f"{synapses.name!r} lacks the variable(s) {', '.join(missing)} that "
                        f"the rule needs: {how}")
    for name in expected.names:
        want = expected[name]
        have = synapses.equations[name] if name in synapses.equations else None
        if have is None or (have.type, have.var_type, have.dim, sorted(have.flags)) != (
                want.type, want.var_type, want.dim, sorted(want.flags)):
            got = _describe(have) if have is not None else "not a model variable"
            raise TypeError(f"{synapses.name!r} defines {name!r} as {got}; the rule needs "
                            f"{_describe(want)}: {how}")
    present = {p.objname: p for p in synapses._pathways}
    for keyword, prepost in (("on_pre", "pre"), ("on_post", "post")):
        for pathway, code in pathway_codes(getattr(rule, keyword), keyword).items():
            path = present.get(pathway)
            if path is None or path.prepost != prepost:
                raise TypeError(f"{synapses.name!r} has no {keyword} pathway {pathway!r} (it "
                                f"has {sorted(present) or 'none'}): {how}")
            if code.strip("\n") not in path.code:
                raise TypeError(f"the pathway {pathway!r} of {synapses.name!r} does not run "
                                f"the rule's {keyword} code for it: {how}")
    for pathway in rule.pathway_delay_steps:
        if not getattr(synapses, pathway).variables["delay"].scalar:
            raise TypeError(f"{synapses.name!r} needs the pathway {pathway!r} with a fixed "
                            f"delay (delay=rule.pathway_delays()): {how}")


def check_decays(rule, synapses, dt):
    """Refuse a hand-built ``Synapses`` whose namespace holds decay factors of another dt
    than the one it runs at: the rule would keep its numbers per step and change its time
    constants without a word."""
    wanted = rule.namespace(dt)
    for decay in rule.time_constants.values():
        have = synapses.namespace.get(decay)
        if have is not None and abs(have - wanted[decay]) > 1e-12 * abs(wanted[decay]):
            raise ValueError(
                f"{synapses.name!r} holds {decay} = {have!r}, but the rule's {decay} at this "
                f"dt ({dt}) is {wanted[decay]!r} ({rule.name} states it at dt = {rule.dt} ms): "
                "build the Synapses with namespace=rule.namespace(defaultclock.dt) (the same "
                "time constants), or state the rule at this dt (e.g. dt=0.5*ms) to keep its "
                "numbers per step")


def check_delays(rule, synapses, dt):
    """Refuse rule pathways whose delay is not the rule's number of steps, where Brian2 lets
    the value be read (runtime mode); :func:`brian_stdp.rendering.attach` then sets it anyway,
    which is what makes a hand-built standalone Synapses right."""
    if not isinstance(get_device(), RuntimeDevice):
        return
    for pathway, steps in rule.pathway_delay_steps.items():
        delay = float(getattr(synapses, pathway).variables["delay"].get_value()[0])
        if abs(delay - steps * float(dt)) > 1e-3 * float(dt):
            raise ValueError(f"the pathway {pathway!r} of {synapses.name!r} has delay "
                             f"{delay * 1e3:g} ms; the rule needs {steps} time step(s) = "
                             f"{steps * float(dt) * 1e3:g} ms: use delay=rule.pathway_delays() "
                             "after setting defaultclock.dt")


def synapse_clocks(synapses):
    """The clocks a rule's timing depends on, by what they belong to."""
    return {"the synapses": synapses.clock, "the source group": synapses.source.clock,
            "the target group": synapses.target.clock, "defaultclock": defaultclock}


def check_clocks(clocks, name, dt=None):
    """Refuse clocks (``{whose: clock}``) other than one common ``dt`` (by default the first's).

    The rule counts in time steps (trace decay, pathway delays, periods): a second dt among its
    groups, or a dt changed after the delays and the period were converted to time, shifts
    SPAIC's timing silently.
    """
    for where, clock in clocks.items():
        if dt is None:
            dt = clock.dt
        if abs(float(clock.dt) - float(dt)) > 1e-9 * float(dt):
            raise ValueError(f"the dt of {where} of {name!r} is {clock.dt}, but the rule was "
                             f"set up with dt = {dt}: a rule counts in steps of one dt; give "
                             "the source, target and synapses the default clock and set "
                             "defaultclock.dt once, before creating the synapses")
    return dt


def refuse_network_operations(name):
    """In a standalone device, refuse a network holding a ``network_operation``: Brian2 drops
    it from the generated program without a word."""
    if isinstance(get_device(), RuntimeDevice):
        return
    network = network_being_prepared()
    if network is None:
        raise RuntimeError(f"brian_stdp could not find the network that is running "
                           f"{name!r}, so it cannot check it for network_operation "
                           "objects (which standalone mode drops); this Brian2 version is "
                           "not supported")
    operations = network_operations_in(network)
    if operations:
        raise RuntimeError(f"the network running {name!r} contains the Python "
                           f"network_operation(s) {', '.join(operations)}, which a "
                           "standalone device (cpp_standalone) silently drops: they would "
                           "never be called. Remove them (write the operation as Brian2 code, "
                           "e.g. G.run_regularly(...)), or use runtime mode")


def check_subgroups(source, target):
    """Refuse a subgroup that the rule's per-neuron state cannot follow.

    The rule keeps one row per target neuron and one column per source neuron in helper groups
    of the subgroup's size, which the synapses index by Brian2's neuron index in the WHOLE
    group: from a subgroup starting above neuron 0 (``G[a:b]``, ``a > 0``) those indices run
    past the helper groups (an error in numpy, memory outside the arrays in compiled code).
    """
    for role, group in (("source", source), ("target", target)):
        if isinstance(group, Subgroup) and group.start > 0:
            parent = group.source.name
            instead = (f"connect from the whole group {parent!r} with a condition on i (a "
                       "source neuron without synapses changes nothing), or "
                       if role == "source" else "")
            raise ValueError(f"the {role} {group.name!r} is the subgroup {parent}"
                             f"[{group.start}:{group.stop}]: a rule indexes its per-neuron "
                             f"state by the neuron's index in the whole group, so a subgroup "
                             f"must start at neuron 0 ({parent}[:{group.stop}]); {instead}"
                             "create a separate group for these neurons")
