"""A rule written by a user with brian_stdp.authoring (the gallery's examples/user_rule.py):
it gets validation, time constants, templates, the name-clash refusals and every target, and
matches its own NumPy reference. The gallery runs it in numpy and cpp_standalone
(tests/test_examples.py reads what it printed); here numpy and cython."""
import dataclasses
import json
import os
import sys
import types
from typing import ClassVar

import brian2 as b2
import numpy as np
import pytest

from brian_stdp import RULES, SHORT_NAMES, load_rule, rule_class
from brian_stdp.authoring import STDPRule, amplitude, check_against_reference, parameter
from tests.support import ROOT

EXAMPLE = os.path.join(ROOT, "examples", "user_rule.py")


@pytest.fixture(autouse=True)
def _registry_as_it_was():
    """The example's rule registers itself; the other tests of this process (which go over
    every registered rule) must not see it."""
    rules, short_names = dict(RULES), dict(SHORT_NAMES)
    yield
    RULES.clear()
    RULES.update(rules)
    SHORT_NAMES.clear()
    SHORT_NAMES.update(short_names)
    sys.modules.pop("user_rule", None)


def _example_rule():
    """The class the example's first cell defines (the cells after it use the rule)."""
    source = open(EXAMPLE).read().split("\n# %%\n")[0]
    module = types.ModuleType("user_rule")
    module.__file__ = EXAMPLE
    sys.modules["user_rule"] = module       # as an import does: dataclasses look it up
    exec(compile(source, EXAMPLE, "exec"), module.__dict__)
    return module.SoftBoundSTDP


def _spikes(seed=5, runs=2, steps=60, n_pre=5, n_post=3):
    rng = np.random.default_rng(seed)
    return ((rng.random((runs, steps, n_pre)) < 0.2).astype(float),
            (rng.random((runs, steps, n_post)) < 0.15).astype(float),
            rng.uniform(0.1, 0.9, (n_post, n_pre)))


@pytest.mark.parametrize("target", ["numpy", "cython"])
def test_the_user_rule_matches_its_reference(target):
    rule = _example_rule()()
    in_spk, out_spk, w_start = _spikes()
    brian, expected = check_against_reference(rule, w_start, in_spk, out_spk, target=target)
    assert not np.allclose(expected[-1, -1], w_start)          # it learnt something
    # the soft bounds hold while Apost and Apre times a trace stay below 1
    assert np.all((expected > 0) & (expected < 1))


def test_the_reference_hook_can_fail():
    """A Brian2 run that differs from the reference (another Apost) is reported."""
    cls = _example_rule()
    in_spk, out_spk, w_start = _spikes()
    wrong = cls(Apost=0.3)
    # a reference of another rule (the record is frozen: set past it)
    object.__setattr__(wrong, "reference_weights", cls(Apost=0.2).reference_weights)
    with pytest.raises(AssertionError, match="soft_bound_STDP in numpy against its reference"):
        check_against_reference(wrong, w_start, in_spk, out_spk)


def test_at_another_dt_it_keeps_its_time_constant():
    cls = _example_rule()
    rule = cls(tau_trace=15 * b2.ms)
    in_spk, out_spk, w_start = _spikes(runs=1)
    brian, expected = check_against_reference(rule, w_start, in_spk, out_spk, dt=0.5 * b2.ms)
    assert not np.allclose(expected, rule.reference_weights(w_start, in_spk, out_spk))


def test_it_gets_validation_time_constants_and_templates(tmp_path):
    cls = _example_rule()
    assert rule_class("soft_bound") is cls and RULES["soft_bound_STDP"] is cls
    with pytest.raises(TypeError, match="Apost must be a number"):
        cls(Apost="0.1")
    with pytest.raises(ValueError, match=r"trace_decay must be a per-step decay factor in \("):
        cls(trace_decay=1.5)
    with pytest.raises(ValueError, match="not both"):
        cls(trace_decay=0.9, tau_trace=20 * b2.ms)
    rule = cls(tau_trace=10 * b2.ms, Apre=0.01)
    assert rule.trace_decay == pytest.approx(np.exp(-0.1))
    path = tmp_path / "rule.json"
    path.write_text(json.dumps(rule.to_dict()))
    assert load_rule(str(path)) == rule


def test_it_gets_the_name_clash_refusals():
    rule = _example_rule()()
    group = b2.NeuronGroup(2, "v : 1", threshold="False")
    with pytest.raises(ValueError, match="'input_trace', which the rule defines itself"):
        rule.synapses(group, group, model="input_trace : 1")
    with pytest.raises(ValueError, match="assigns to 'output_trace', which the rule owns"):
        rule.synapses(group, group, on_pre="output_trace += 1")


def test_a_second_rule_of_the_same_name_is_refused():
    def define(name, short_name):
        @dataclasses.dataclass(frozen=True)
        class Other(STDPRule):
            A: float = parameter(0.1, "a change", amplitude)
            # class attributes of the rule (not dataclass fields)
            locals().update(name=name, short_name=short_name)
        return Other
    with pytest.raises(TypeError, match="a rule named 'nearest_online_STDP' exists already"):
        define("nearest_online_STDP", "other")
    with pytest.raises(TypeError, match="a rule named 'full' exists already"):
        define("other_rule", "full")
    assert "other_rule" not in RULES and SHORT_NAMES["full"] == "full_online_STDP"


def test_the_registry_is_left_as_it_was():
    _example_rule()
    assert "soft_bound_STDP" in RULES   # and the fixture removes it after this test


def test_a_rule_without_a_reference_says_what_to_define():
    @dataclasses.dataclass(frozen=True)
    class Unchecked(STDPRule):
        A: float = parameter(0.1, "a change", amplitude)
        name: ClassVar[str] = "unchecked_rule_of_the_tests"
        short_name: ClassVar[str] = "unchecked_rule_of_the_tests"
    with pytest.raises(NotImplementedError, match="define reference_weights"):
        Unchecked().reference_weights(np.zeros((1, 1)), np.zeros((1, 2, 1)), np.zeros((1, 2, 1)))
