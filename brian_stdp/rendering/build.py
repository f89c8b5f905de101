"""The two ways into the rendering: a ``Synapses`` built for the user, or one built by hand."""
from types import SimpleNamespace

import numpy as np
from brian2 import Equations, Synapses, defaultclock, second
from brian2.groups.group import Group
from brian2.utils.stringtools import get_identifiers

from .. import checks
from .attachment import attach_objects

__all__ = ["build_synapses", "attach", "merge_code"]


def merge_code(rule_code, user_code):
    """Rule code and user code in one pathway (user code first: it sees this step's weight)."""
    parts = [c.strip("\n") for c in (user_code, rule_code) if c and c.strip()]
    return "\n".join(parts)


def build_synapses(rule, source, target, model="", on_pre="", on_post="", namespace=None,
                   period=None, templates=None, **synapses_kwargs):
    """Create ``Synapses(source, target)`` running ``rule``, with the user's code merged in.

    ``templates`` (default: the rule) is what is rendered: see ``STDPRule.templates_for``.
    """
    templates = rule if templates is None else templates
    for role, group in (("source", source), ("target", target)):
        if not isinstance(group, Group) or not hasattr(group, "events"):
            raise TypeError(f"{role} must be a spiking Brian2 group (NeuronGroup, PoissonGroup, "
                            f"SpikeGeneratorGroup, ...), got {type(group).__name__}")
        if "spike" not in group.events:
            raise ValueError(f"the {role} group {group.name!r} emits no spikes, but the rule "
                             "learns from them: give it a threshold")
    checks.check_subgroups(source, target)
    rule.check_target(target)
    checks.check_user_code(templates, model, on_pre, on_post)
    clocks = {"the source group": source.clock, "the target group": target.clock}
    if synapses_kwargs.get("clock") is not None:
        clocks["the synapses"] = synapses_kwargs["clock"]
    if synapses_kwargs.get("dt") is not None:
        clocks["the synapses"] = SimpleNamespace(dt=synapses_kwargs["dt"])
    checks.check_clocks(clocks, synapses_kwargs.get("name", "the synapses"), defaultclock.dt)
    period_steps = period_in_steps(period)
    if "on_event" in synapses_kwargs:
        raise ValueError("rule.synapses does not accept on_event=: the rule learns from spike "
                         "events; build the Synapses by hand to change it")
    # the rendering's pathways (Meta's lazy rows add two of their own)
    delays = templates.pathway_delays()
    user_delay = synapses_kwargs.pop("delay", None)
    if user_delay is not None:
        user_delay = user_delay if isinstance(user_delay, dict) else {"pre": user_delay}
        # Every pathway running rule code is the rule's, delayed or not (PostPreIntSTDP learns in
        # 'pre' and 'post', where a user delay would silently delay the learning).
        rule_pathways = (set(delays) | _pathway_names(templates.on_pre, "pre")
                         | _pathway_names(templates.on_post, "post"))
        clashes = set(user_delay) & rule_pathways
        if clashes:
            raise ValueError(f"delay= may not set the rule's own pathway(s) {sorted(clashes)}: "
                             "their delays are part of SPAIC's timing. Put your code in a "
                             "pathway of its own and delay that one, e.g. "
                             "on_pre={'transmit': 'v_post += w'}, delay={'transmit': 2*ms}")
        delays.update(user_delay)
    constants = templates.namespace(defaultclock.dt)  # the decays of the run's dt
    for key, value in (namespace or {}).items():
        if key in constants and constants[key] is not value:
            raise ValueError(f"namespace entry {key!r} clashes with the rule's constant of that "
                             "name; rename it")
        constants[key] = value
    write_out = getattr(templates, "write_out", "")
    pre_code = _merged_pathways(templates.on_pre, on_pre, "on_pre", write_out)
    post_code = _merged_pathways(templates.on_post, on_post, "on_post", write_out)
    equations = Equations(templates.model)
    if model:
        equations = equations + Equations(model)
    S = Synapses(source, target, model=equations, on_pre=pre_code, on_post=post_code,
                 namespace=constants, delay=delays, **synapses_kwargs)
    attach_objects(rule, templates, S, period_steps)
    return S


def attach(rule, synapses, period=None):
    """Attach the rule's extra operations to a ``Synapses`` built by hand from its templates."""
    attached = getattr(synapses, "_brian_stdp", None)
    if attached is not None:
        raise ValueError(f"{synapses.name!r} already runs the rule {attached.rule.name}; a "
                         "Synapses learns with one rule: create a second Synapses (between the "
                         "same groups if need be) for another rule")
    checks.check_hand_built(rule, synapses)
    checks.check_subgroups(synapses.source, synapses.target)
    rule.check_target(synapses.target)
    checks.check_clocks(checks.synapse_clocks(synapses), synapses.name)
    checks.check_delays(rule, synapses, defaultclock.dt)
    checks.check_decays(rule, synapses, defaultclock.dt)
    # Where Brian2 cannot read the delays back (standalone, before the run) the run boundary
    # sets them, so that a hand-built Synapses keeps SPAIC's timing whatever it was built with.
    return attach_objects(rule, rule, synapses, period_in_steps(period), set_delays=True)


def _pathway_names(code, default):
    """The names of the pathways ``code`` (an ``on_pre``/``on_post`` argument) defines."""
    if isinstance(code, dict):
        return set(code)
    return {default} if code and code.strip() else set()


def _merged_pathways(rule_code, user_code, keyword, write_out=""):
    """The rule's pathways with the user's merged in; ``write_out``: code that user code
    reading ``w`` runs first (a rule keeping row factors apart from the weights)."""
    default = "pre" if keyword == "on_pre" else "post"
    merged = {default: rule_code} if isinstance(rule_code, str) else dict(rule_code)
    if isinstance(user_code, str):
        user_code = {default: user_code}
    if not isinstance(user_code, dict):
        raise TypeError(f"{keyword} must be a code string or a dict of them, got {user_code!r}")
    for name, code in user_code.items():
        if write_out and "w" in get_identifiers(code):
            code = write_out + code
        merged[name] = merge_code(merged.get(name, ""), code)
    return merged


def period_in_steps(period):
    """``period`` (a time, or None) as a whole number of steps of the default clock."""
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
