"""The package's structure: no import circle, and one registry naming every rule."""
import ast
import os

import numpy as np
import pytest

import brian_stdp
from brian_stdp import RULES, SHORT_NAMES, reference, rule_class

PACKAGE = os.path.dirname(os.path.abspath(brian_stdp.__file__))


def _module_name(path):
    relative = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
    return relative[:-len(".__init__")] if relative.endswith(".__init__") else relative


def _imports(path):
    """The package modules that the module at ``path`` imports, anywhere in its code (imports
    inside functions count: they are circles put off until the call)."""
    module = _module_name(path)
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            target, names = None, [alias.name for alias in node.names]
        else:
            continue
        for name in ([target] if target else []) + names:
            if name.startswith("brian_stdp") and name in MODULES:
                found.add(name)
    found.discard(module)
    return found


MODULES = {}
for directory, _, files in os.walk(PACKAGE):
    for file in files:
        if file.endswith(".py"):
            path = os.path.join(directory, file)
            MODULES[_module_name(path)] = path


def _cycle(graph):
    """One import circle of ``graph`` as a list of modules, or None."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for successor in sorted(graph[node]):
            if state.get(successor) == "open":
                return stack[stack.index(successor):] + [successor]
            if successor not in state:
                found = visit(successor, stack + [successor])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def _graph():
    graph = {name: _imports(path) for name, path in MODULES.items()}
    # A package's __init__ importing its own submodules is how it exports them, not a circle:
    # a submodule importing its package's __init__ is (both directions are kept but this one).
    for name in graph:
        graph[name] = {target for target in graph[name] if not name.startswith(target + ".")}
    return graph


def test_the_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_in_the_package():
    assert len(MODULES) > 10
    assert _cycle(_graph()) is None


@pytest.mark.parametrize("leaf", ["brian_stdp.run_state", "brian_stdp.schedule",
                                  "brian_stdp.parameters", "brian_stdp.reference",
                                  "brian_stdp.brian2_private"])
def test_leaf_modules_import_nothing_of_the_package(leaf):
    assert _imports(MODULES[leaf]) == set()


def test_rules_are_not_imported_by_the_rendering():
    graph = _graph()
    for name in MODULES:
        if name.startswith(("brian_stdp.rendering", "brian_stdp.checks")):
            assert not any(t.startswith("brian_stdp.rules") for t in graph[name]), name


@pytest.mark.parametrize("name", sorted(RULES))
def test_one_registry_names_every_rule(name):
    cls = RULES[name]
    assert cls.name == name
    assert SHORT_NAMES[cls.short_name] == name
    assert rule_class(cls.short_name) is cls is rule_class(name)
    assert getattr(brian_stdp, cls.__name__) is cls
    # the short name is also the NumPy reference's key for the rule
    rng = np.random.default_rng(0)
    spikes_in = (rng.random((1, 4, 3)) < 0.5).astype(float)
    spikes_out = (rng.random((1, 4, 2)) < 0.5).astype(float)
    extra = {}
    if cls.integer:
        extra = dict(thresh=np.full((1, 4, 2), 213.0), draws=np.zeros((1, 4, 2, 2, 3)))
    weights = reference.simulate(cls.short_name, cls().build_weights(rng.random((2, 3))),
                                 spikes_in, spikes_out, **extra)
    weights = weights[0] if isinstance(weights, tuple) else weights
    assert weights.shape == (1, 4, 2, 3)


def test_rule_class_refuses_unknown_names():
    with pytest.raises(ValueError, match="known rules"):
        rule_class("nearest_offline")
    with pytest.raises(TypeError, match="must be a string"):
        rule_class(None)
