"""Every Brian2 object a rule renders, compared with a stored copy of it.

A refactoring of the package must not change what Brian2 runs: for each rule (and the integer
rule's variants and recorded-draws form) a small network is built (not run), and every object
the attachment contributes is written out as text (class, name, slot, order, equations, code).
``tests/data/rendered_code.json`` holds that text as it was before the layout change; a
difference is a change in the generated simulation, and fails.

Regenerate after an intended change of a rule's code: ``python tests/test_rendered_code.py``.
"""
import json
import os
import re

import numpy as np
import pytest

STORED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "rendered_code.json")

CASES = {
    "nearest_online_STDP": {},
    "nearest_online_STDP eager": {},
    "full_online_STDP": {},
    "meta_nearest_online_STDP": {},
    "meta_nearest_online_STDP eager": {},
    "PostPreIntSTDP": {},
    "PostPreIntSTDP subtract float": {"pre_term": "subtract", "halving": "float"},
    "PostPreIntSTDP draws": {},
}
#: The keywords of ``rule.synapses`` for a case (other than its rule's constructor's).
RENDERINGS = {"nearest_online_STDP eager": {"row_scaling": "eager"},
              "meta_nearest_online_STDP eager": {"row_scaling": "eager"}}


def _describe(obj):
    """The text of one Brian2 object: what code generation turns into a code object."""
    # The nearest Brian2 class: what code generation sees (the package's own class names are
    # Python, not generated code).
    kind = next(c for c in type(obj).__mro__ if c.__module__.startswith("brian2")).__name__
    lines = [f"{kind} {obj.name} when={obj.when} order={obj.order}"]
    equations = getattr(obj, "equations", None)
    if equations is not None:
        lines.append("equations:\n" + "\n".join(sorted(str(equations).splitlines())))
    for attribute in ("abstract_code", "code"):
        code = getattr(obj, attribute, None)
        if isinstance(code, str):
            lines.append(f"{attribute}:\n{code.strip()}")
    for pathway in getattr(obj, "_pathways", []):
        lines.append(f"pathway {pathway.objname} ({pathway.prepost}, event {pathway.event}) "
                     f"when={pathway.when} order={pathway.order}:\n{pathway.code.strip()}")
    namespace = getattr(obj, "namespace", None)
    if namespace:
        lines.append("namespace: " + ", ".join(
            f"{key}={value!r}" for key, value in sorted(namespace.items())
            if isinstance(value, (int, float, str))))
    variables = getattr(obj, "variables", None)
    if variables is not None:
        references = sorted(
            f"{name} -> {variable.owner.name}.{variable.name}[{variables.indices[name]}]"
            for name, variable in variables.items()
            if not name.startswith("_") and getattr(variable, "owner", None) is not None
            and variable.owner.name != obj.name)
        lines.append("references:\n" + "\n".join(references))
    events = getattr(obj, "events", None)
    if isinstance(events, dict) and events:
        lines.append("events: " + repr(sorted(events.items())))
    return "\n".join(lines)


def _numbered_names_normalised(text):
    # a table's name carries a counter of the tables made so far in the process
    return re.sub(r"brian_stdp_draws_\d+", "brian_stdp_draws_N", text)


def render(case):
    """``{object name: text}`` of every object the attachment made for ``case``."""
    import brian2 as b2
    from brian_stdp import rule_class
    b2.start_scope()
    b2.set_device("runtime")
    b2.defaultclock.dt = 1 * b2.ms
    name = case.split(" ")[0]
    rule = rule_class(name)(**CASES[case])
    source = b2.SpikeGeneratorGroup(4, [0], [0] * b2.ms, name="source")
    kwargs = dict(RENDERINGS.get(case, {}))
    if name == "PostPreIntSTDP":
        target = b2.NeuronGroup(3, "thresh : 1", threshold="False", name="target")
        if case.endswith("draws"):
            from brian_stdp import draws_table
            kwargs["draws"] = draws_table(np.zeros((2, 2, 3, 4)))
    else:
        target = b2.NeuronGroup(3, "v : 1", threshold="False", name="target")
    S = rule.synapses(source, target, period=5 * b2.ms, name="S", **kwargs)
    S.connect()
    objects = {}
    pending = [S]
    while pending:
        obj = pending.pop()
        if obj.name in objects:
            continue
        objects[obj.name] = _numbered_names_normalised(_describe(obj))
        pending.extend(getattr(obj, "contained_objects", []))
        pending.extend(getattr(obj, "seed_updaters", []))
        for attribute in ("summed_updaters",):
            pending.extend(getattr(obj, attribute, {}).values())
    return objects


def render_all():
    return {case: render(case) for case in CASES}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_code_is_the_stored_copy(case):
    with open(STORED) as handle:
        stored = json.load(handle)[case]
    rendered = render(case)
    assert sorted(rendered) == sorted(stored), "the set of rendered objects changed"
    for name in stored:
        assert rendered[name] == stored[name], f"{case}: object {name} renders differently"


if __name__ == "__main__":
    os.makedirs(os.path.dirname(STORED), exist_ok=True)
    with open(STORED, "w") as handle:
        json.dump(render_all(), handle, indent=1, sort_keys=True)
        handle.write("\n")
    print("wrote", STORED)
