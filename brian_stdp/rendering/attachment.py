"""A rule's templates turned into Brian2 objects contained in the user's ``Synapses``.

The helper groups hold per-neuron learning state so that the user's own groups stay unmodified:
``post_state`` one neuron per post neuron (a "row" of the weight matrix), ``pre_state`` one per
pre neuron (a "column"). The synapses see their variables under their own names, through
references indexed by the synapse's post- (or pre-) synaptic neuron, as Brian2 links ``x_post``.
Every object is contained in the ``Synapses``, so that ``run()``, ``Network(collect())`` and
``cpp_standalone`` all pick them up.
"""
from dataclasses import dataclass, field

import numpy as np
from brian2 import Equations, NeuronGroup, Synapses, defaultclock, linked_var
from brian2.utils.stringtools import word_substitute

from ..names import row_pass_code_names, synapse_code_names
from ..run_state import MARK_RUN_STARTS, RUN_STATE_MODEL, RUN_STATE_NAMES
from ..schedule import Order, step_operation_fields
from .. import brian2_private
from .compiled_pass import compiled_synapse_pass, compiles_synapse_passes
from .run_boundary import RunBoundary

__all__ = ["Attachment", "attachment_of", "attach_objects"]

#: The default order of a step operation, by the group it runs on.
_STEP_ORDER = {"post": Order.POST, "pre": Order.PRE, "synapses": Order.SYNAPSES}


@dataclass
class Attachment:
    """What the rendering made for one ``Synapses``: kept on it as ``S._brian_stdp``."""
    rule: object
    synapses: object
    post_state: object
    pre_state: object = None
    period: object = None
    dt: object = None
    objects: list = field(default_factory=list)


def attachment_of(synapses: Synapses) -> Attachment:
    attached = getattr(synapses, "_brian_stdp", None)
    if attached is None:
        raise TypeError(f"{synapses.name!r} has no brian_stdp rule attached: create it with "
                        "rule.synapses(...) or call rule.attach(S) after building it by hand")
    return attached


def attach_objects(rule, templates, S, period_steps, set_delays=False):
    """Create the objects that run ``templates`` (the rule's, see ``STDPRule.templates_for``)
    on ``S`` and contain them in it; returns the :class:`Attachment`."""
    brian2_private.drop_post_aliases(S, synapse_code_names(templates))
    post_state = _row_group(templates, S)
    objects = [post_state,
               post_state.run_regularly(MARK_RUN_STARTS, when="start",
                                        order=Order.MARK_RUN_STARTS,
                                        name=S.name + "_run_start")]
    pre_state = _column_group(templates, S, post_state)
    if pre_state is not None:
        objects.append(pre_state)
    objects.extend(_neuron_pathways(templates, S, pre_state, post_state))
    seed_updaters = []
    for row_variable, expression in templates.summed.items():
        updater = brian2_private.summed_variable_updater(expression, row_variable, S, post_state)
        updater.when, updater.order = templates.summed_when, Order.SUMMED
        (objects if templates.summed_every_step else seed_updaters).append(updater)
    objects.extend(_population_sums(templates, S, post_state))
    groups = {"post": post_state, "pre": pre_state, "synapses": S}
    for operation in templates.step_operations:
        group_name, code, when, order = step_operation_fields(operation)
        suffix = "" if when == "start" else "_" + when
        order = _STEP_ORDER[group_name] if order is None else order
        if group_name == "synapses":
            objects.extend(_synapse_operation(S, code, when, order,
                                              f"{S.name}_synapses_step{suffix}"))
            continue
        objects.append(_run_regularly(
            S, groups[group_name], code, when=when, order=order,
            name=f"{S.name}_{group_name}_step{suffix}"))
    write_out = _write_out_every_step(templates, S)
    objects.extend(write_out)
    for pathway, order in templates.pathway_orders.items():
        getattr(S, pathway).order = order
    if templates.row_pass:
        objects.extend(_row_pass(templates, S, post_state))
    if period_steps is not None:
        objects.extend(_period_resets(templates, S, pre_state, post_state, period_steps))
    objects.append(RunBoundary(S, rule, post_state, defaultclock.dt,
                               name=S.name + "_run_boundary", seed_updaters=seed_updaters,
                               delays=rule.pathway_delays() if set_delays else {},
                               contained_synapses=[o for o in objects
                                                   if isinstance(o, Synapses)],
                               write_out=write_out, templates=templates,
                               own_objects=objects + seed_updaters))
    S.contained_objects.extend(o for o in objects if o not in S.contained_objects)
    # Magic run() finds a Synapses held only in a list through its source group's contained
    # objects, where Brian2 puts one that has a run_regularly: every rule gets that behaviour.
    if S not in S.source.contained_objects:
        S.source.contained_objects.append(S)
    post_state.plastic = True
    S._brian_stdp = Attachment(rule, S, post_state, pre_state, period_steps,
                               dt=defaultclock.dt, objects=objects)
    rule.after_attach(S._brian_stdp)
    return S._brian_stdp


def _synapse_operation(S, code, when, order, name):
    """Code run on every synapse every step (compiled in standalone, see compiled_pass)."""
    if compiles_synapse_passes():
        return compiled_synapse_pass(S, code, when=when, order=order, name=name)
    return [_run_regularly(S, S, code, when=when, order=order, name=name)]


def _write_out_every_step(templates, S):
    """The operation writing every weight out at the end of each step, for a rule keeping its
    rows' factors apart (the run boundary turns it on where other code reads the weights)."""
    operation = getattr(templates, "write_out_every_step", None)
    if operation is None:
        return []
    _, code, when, order = step_operation_fields(operation)
    return _synapse_operation(S, code, when, order, f"{S.name}_write_out_weights")


def _run_regularly(S, group, code, **kwargs):
    runner = group.run_regularly(code, **kwargs)
    # Brian2 contains a synapse run_regularly in the Synapses already; it is listed with the
    # attachment's other objects instead, in their order.
    if group is S:
        S.contained_objects.remove(runner)
    return runner


def _row_group(templates, S):
    """``post_state``: the rows' state, the shared run state, and the row pass events."""
    post_state = NeuronGroup(
        len(S.target),
        Equations(templates.post_model) + Equations(RUN_STATE_MODEL
                                                    + _population_links(templates)),
        events={event: spec["condition"] for spec, event, *_ in _row_passes(templates)},
        namespace=dict(S.namespace), name=S.name + "_post_state")
    for name in Equations(templates.post_model).names:
        S.variables.add_reference(name, post_state, name, index=_row_index(post_state, name))
    for name in RUN_STATE_NAMES:
        S.variables.add_reference(name, post_state, name)
    return post_state


def _column_group(templates, S, post_state):
    """``pre_state``: the columns' state (None for a rule without any)."""
    if not templates.pre_model:
        return None
    pre_state = NeuronGroup(len(S.source), templates.pre_model, namespace=dict(S.namespace),
                            name=S.name + "_pre_state")
    for name in Equations(templates.pre_model).names:
        S.variables.add_reference(name, pre_state, name, index="_presynaptic_idx")
    for name in RUN_STATE_NAMES:
        pre_state.variables.add_reference(name, post_state, name)
    return pre_state


def _period_resets(templates, S, pre_state, post_state, period_steps):
    """A period's start is a run start: each group is cleared as ``reset()`` clears it."""
    post_state.period_steps = period_steps
    runners = []
    for group, code, suffix in ((S, templates.reset_code, ""),
                                (pre_state, templates.pre_reset_code, "_pre"),
                                (post_state, templates.post_reset_code, "_post")):
        if code.strip():
            runners.append(_run_regularly(S, group, code, dt=period_steps * defaultclock.dt,
                                          when="start", order=Order.PERIOD_RESET,
                                          name=f"{S.name}_period_reset{suffix}"))
    return runners


def _row_index(group, name, index="_postsynaptic_idx"):
    """The index by which a synapse sees row variable ``name`` (none for a shared one)."""
    return None if group.variables[name].scalar else index


def _neuron_pathways(templates, S, pre_state, post_state):
    """``neuron_pathways``: per-neuron code on each spike, through one-to-one synapses.

    A pathway of ``S`` itself would visit every synapse of the spiking neuron to update one
    neuron's state; a one-to-one ``Synapses`` from the user's group to the helper group makes
    one visit per spike. The code sees the helper group's variables and the run state.
    """
    relays = []
    for side, (code, delay_steps, order) in templates.neuron_pathways.items():
        source, helper = (S.source, pre_state) if side == "pre" else (S.target, post_state)
        relay = Synapses(source, helper, on_pre=code, delay=delay_steps * S.clock.dt,
                         namespace=dict(S.namespace), clock=S.clock,
                         name=f"{S.name}_{side}_spikes")
        if helper is not post_state:
            for name in RUN_STATE_NAMES:
                relay.variables.add_reference(name, post_state, name)
        relay.connect(j="i")
        relay.pre.order = order
        relays.append(relay)
    return relays


def _row_passes(templates):
    """``[(spec, event, pathway name, (event order, row code order, pathway order))]``: the
    rule's row pass, preceded by its first pass if it has one, in the order they run."""
    spec = templates.row_pass
    if not spec:
        return []
    passes = [(spec, "row_pass", "pre",
               (Order.ROW_PASS_EVENT, Order.ROW_PASS_ROWS, Order.ROW_PASS))]
    if "first_pass" in spec:
        passes.insert(0, (spec["first_pass"], "first_row_pass", "first_pass",
                          (Order.FIRST_ROW_PASS_EVENT, Order.FIRST_ROW_PASS_ROWS,
                           Order.FIRST_ROW_PASS)))
    return passes


def _row_pass(templates, S, post_state):
    """``row_pass``: code run on the synapses of the rows where a condition holds.

    Brian2 runs synapse code either on every synapse (``run_regularly``) or on the synapses of
    the neurons that had an event (a pathway). The rows are the post_state neurons, not a side
    of ``S``; so a second ``Synapses``, from post_state to the source, shares ``S``'s
    connectivity, transposed, and sees ``S``'s variables through references. A ``row_pass``
    event of post_state then runs its pathway on exactly the synapses of the chosen rows. A
    ``first_pass`` is a pass of its own (event, row code, pathway of the same ``Synapses``) run
    before it in the same slot: a row pass cannot use, on one synapse, a row's sum over all of
    its synapses (each is visited once, in turn), so such a sum is taken by a first pass.
    """
    when = templates.row_pass.get("when", "after_synapses")
    objects = []
    rows = Synapses(post_state, S.source, namespace=dict(S.namespace), name=S.name + "_row_pass")
    brian2_private.drop_post_aliases(rows, row_pass_code_names(templates))
    brian2_private.share_connectivity_transposed(rows, S)
    for name in Equations(templates.model).names:
        rows.variables.add_reference(name, S, name, index="_idx")
    for name in Equations(templates.post_model).names:
        rows.variables.add_reference(name, post_state, name,
                                     index=_row_index(post_state, name, "_presynaptic_idx"))
    for name in RUN_STATE_NAMES:
        rows.variables.add_reference(name, post_state, name)
    for spec, event, pathway_name, (event_order, rows_order, pass_order) in _row_passes(
            templates):
        post_state.thresholder[event].when = when
        post_state.thresholder[event].order = event_order
        if spec.get("row_code", "").strip():
            objects.append(post_state.run_on_event(event, spec["row_code"], when=when,
                                                   order=rows_order))
        brian2_private.add_pathway_after_build(rows, spec["code"], event=event,
                                               objname=pathway_name)
        pathway = getattr(rows, pathway_name)
        pathway.when, pathway.order = when, pass_order
    return objects + [rows]


def _population_links(templates):
    return "".join(f"\n{name} : 1 (linked)" for name in templates.population_summed)


def _population_sums(templates, S, post_state):
    """``population_summed``: sums over every row, seen by each row as a linked variable.

    Brian2's only reduction is a summed variable, so the rows feed a one-neuron group through
    all-to-one synapses, after the row sums and before the row operations.
    """
    if not templates.population_summed:
        return []
    population = NeuronGroup(1, "\n".join(f"{name} : 1" for name in templates.population_summed),
                             name=S.name + "_population")
    as_source = {name: name + "_pre" for name in post_state.variables
                 if not name.startswith("_")}
    model = "\n".join(f"{name}_post = {word_substitute(expression, as_source)} : 1 (summed)"
                      for name, expression in templates.population_summed.items())
    sums = Synapses(post_state, population, model, namespace=dict(S.namespace),
                    name=S.name + "_population_sums")
    sums.connect()
    for name in templates.population_summed:
        updater = sums.summed_updaters[name + "_post"]
        updater.when, updater.order = templates.summed_when, Order.POPULATION
        setattr(post_state, name, linked_var(population, name,
                                             index=np.zeros(len(post_state), dtype=int)))
    return [population, sums]
