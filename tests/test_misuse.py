"""Misuse: each case is refused before the simulation runs, or works and matches the reference.

docs/reliability.rst lists these cases; every claim there names a test here or in
test_brian_api.py.
"""
import os
import subprocess
import sys

import brian2 as b2
import numpy as np
import pytest

from brian_stdp import (FullOnlineSTDP, MetaNearestOnlineSTDP, NearestOnlineSTDP,
                        PostPreIntSTDP, reference)
from brian_stdp.rules.postpre_int import draws_table
from tests.support import ROOT, causes, standalone
from tests.support.cases import random_spikes, spike_groups
from tests.support.openloop import replay_target, spike_generator


def _pair():
    source = b2.PoissonGroup(3, rates=10 * b2.Hz)
    target = b2.NeuronGroup(2, "v : 1\nthresh : 1", threshold="v > 1", reset="v = 0")
    return source, target


def _hand_built(rule, source, target, **overrides):
    kwargs = dict(model=rule.model, on_pre=rule.on_pre, on_post=rule.on_post,
                  delay=rule.pathway_delays(), namespace=rule.namespace())
    kwargs.update(overrides)
    return b2.Synapses(source, target, **kwargs)


def _no_synapses_created():
    return not [o for o in b2.collect() if isinstance(o, b2.Synapses)]


# ---- two rules on one Synapses ----------------------------------------------------------------
def test_second_rule_on_the_same_synapses_is_refused():
    source, target = _pair()
    S = NearestOnlineSTDP().synapses(source, target)
    with pytest.raises(ValueError) as error:
        FullOnlineSTDP().attach(S)
    assert "already runs the rule nearest_online_STDP" in str(error.value)
    assert "second Synapses" in str(error.value)


# ---- attach to what is not a matching Synapses ------------------------------------------------
def test_attach_refuses_what_is_not_a_synapses():
    source, target = _pair()
    with pytest.raises(TypeError, match="needs a brian2.Synapses, got NeuronGroup"):
        NearestOnlineSTDP().attach(target)


@pytest.mark.parametrize("rule, model, name", [
    # an integer rule on float weights would never floor: silently not SPAIC's arithmetic
    (PostPreIntSTDP(), PostPreIntSTDP().model.replace("w : integer", "w : 1", 1), "'w'"),
    (NearestOnlineSTDP(), NearestOnlineSTDP.model.replace("w : 1", "w = 0.5 : 1"), "'w'"),
    (NearestOnlineSTDP(), NearestOnlineSTDP.model.replace("w : 1", "w : 1 (shared)"), "'w'"),
    (MetaNearestOnlineSTDP(),
     MetaNearestOnlineSTDP.model.replace("bounded_change : 1", "bounded_change : volt"),
     "'bounded_change'"),
])
def test_attach_refuses_rule_variables_of_the_wrong_kind(rule, model, name):
    source, target = _pair()
    S = _hand_built(rule, source, target, model=model)
    with pytest.raises(TypeError) as error:
        rule.attach(S)
    message = str(error.value)
    assert name in message and "the rule needs" in message and "rule.model" in message


def test_attach_lists_the_missing_variables():
    source, target = _pair()
    S = b2.Synapses(source, target, model="w : integer")
    with pytest.raises(TypeError) as error:
        PostPreIntSTDP().attach(S)
    for name in ("w_raw", "changed_step"):
        assert name in str(error.value)


@pytest.mark.parametrize("rule, overrides, pathway", [
    (NearestOnlineSTDP(), dict(on_post=None, delay={"learn_pre": 0.2 * b2.ms}), "'learn_post'"),
    (PostPreIntSTDP(), dict(on_post=None), "'post'"),
    # the rule's code on another pathway name: Brian would run it, the rule's timing not
    (PostPreIntSTDP(), dict(on_pre={"other": PostPreIntSTDP().on_pre["pre"]}), "'pre'"),
])
def test_attach_refuses_missing_rule_pathways(rule, overrides, pathway):
    source, target = _pair()
    S = _hand_built(rule, source, target, **overrides)
    with pytest.raises(TypeError, match=pathway):
        rule.attach(S)


def test_attach_refuses_another_rules_pathway_code():
    # nearest_online and full_online share their variables and pathway names
    source, target = _pair()
    full = FullOnlineSTDP()
    S = _hand_built(NearestOnlineSTDP(), source, target, on_pre=full.on_pre,
                    on_post=full.on_post)
    with pytest.raises(TypeError, match="does not run the rule's on_pre code"):
        NearestOnlineSTDP().attach(S)


def test_attach_refuses_wrong_delays_in_runtime_mode():
    b2.defaultclock.dt = 1 * b2.ms
    source, target = _pair()
    rule = NearestOnlineSTDP()
    S = _hand_built(rule, source, target, delay={"learn_pre": 1 * b2.ms,
                                                 "learn_post": 2 * b2.ms})
    with pytest.raises(ValueError) as error:
        rule.attach(S)
    assert "'learn_pre'" in str(error.value) and "2 time step(s) = 2 ms" in str(error.value)


# cpp_standalone: a case of the float64 batch (one build with the other modules' cases)
STANDALONE = standalone.batch("float64")
STANDALONE.add("misuse:hand_built", dict,
               builder="tests.support.misuse_standalone:build_hand_built")


def _misuse_standalone(*args):
    """A refusal case of tests/support/misuse_standalone.py in a fresh process."""
    return subprocess.run([sys.executable, "-m", "tests.support.misuse_standalone", *args],
                          cwd=ROOT, capture_output=True, text=True)


@STANDALONE
def test_hand_built_with_wrong_delays_in_standalone_gets_the_rules_delays():
    """Standalone cannot read delays before the run: attach sets them (the run matches the
    reference although the Synapses was built with delays of 0 and 5 steps)."""
    data = STANDALONE.result("misuse:hand_built")
    expected = reference.simulate("full", data["w_start"], data["in_spk"], data["out_spk"],
                                  FullOnlineSTDP(w_norm=2.0).namespace())
    np.testing.assert_allclose(data["w"], expected[0, -1], atol=1e-9)
    assert not np.allclose(data["w"], data["w_start"])


def test_unconnected_synapses_are_refused_by_brian():
    source, target = _pair()
    NearestOnlineSTDP().synapses(source, target)
    with pytest.raises(b2.core.base.BrianObjectException) as error:
        b2.run(1 * b2.ms)
    assert "with 'connect'" in causes(error.value)


# ---- the target lacks what the rule needs -----------------------------------------------------
@pytest.mark.parametrize("model, words", [
    ("v : 1\nthresh : volt", ["'thresh'", "in V", "dimensionless"]),
    ("v : 1\nthresh : boolean", ["'thresh'", "boolean", "dimensionless"]),
])
def test_threshold_variable_of_the_wrong_kind_is_refused(model, words):
    source = b2.PoissonGroup(3, rates=10 * b2.Hz)
    target = b2.NeuronGroup(2, model, threshold="v > 1", reset="v = 0")
    with pytest.raises(TypeError) as error:
        PostPreIntSTDP().synapses(source, target)
    for word in words:
        assert word in str(error.value)
    assert _no_synapses_created()


def test_empty_target_cannot_exist():
    # Brian2 refuses a group of size 0 itself, so no rule ever sees one
    with pytest.raises(ValueError, match="at least 1"):
        b2.NeuronGroup(0, "v : 1", threshold="v > 1")


# ---- user code redefining or overwriting the rule's variables --------------------------------
@pytest.mark.parametrize("rule, model, name", [
    (NearestOnlineSTDP(), "w : volt", "'w'"),
    (NearestOnlineSTDP(), "input_trace : 1", "'input_trace'"),
    (NearestOnlineSTDP(), "row_sum : 1", "'row_sum'"),          # row state, seen by the synapses
    (NearestOnlineSTDP(), "plastic : boolean", "'plastic'"),
    (MetaNearestOnlineSTDP(), "sum_w_mean : 1", "'sum_w_mean'"),
    (PostPreIntSTDP(), "input_trace : integer", "'input_trace'"),
    # would shadow the rule's constant Apost: Brian resolves a variable before the namespace
    (NearestOnlineSTDP(), "Apost : 1", "'Apost'"),
])
def test_user_model_redefining_a_rule_name_is_refused(rule, model, name):
    source, target = _pair()
    with pytest.raises(ValueError, match=f"model= declares {name}"):
        rule.synapses(source, target, model=model)
    assert _no_synapses_created()


@pytest.mark.parametrize("keyword, code, name", [
    ("on_pre", "w = 0", "'w'"),
    ("on_pre", "v_post += w\ninput_trace += 1  # a comment", "'input_trace'"),
    ("on_post", {"extra": "row_divisor *= 2"}, "'row_divisor'"),
])
def test_user_pathway_writing_a_rule_variable_is_refused(keyword, code, name):
    source, target = _pair()
    with pytest.raises(ValueError, match=f"{keyword}= assigns to {name}"):
        NearestOnlineSTDP().synapses(source, target, **{keyword: code})
    assert _no_synapses_created()


def test_user_pathway_reading_the_rule_variables_works():
    source, target = _pair()
    S = NearestOnlineSTDP().synapses(source, target, model="seen : 1",
                                     on_pre="v_post += w\nseen = input_trace == 0")
    assert "seen" in S.variables


# ---- clocks -------------------------------------------------------------------------------------
def test_dt_changed_after_building_is_refused_at_run():
    b2.defaultclock.dt = 1 * b2.ms
    source, target = _pair()
    S = FullOnlineSTDP().synapses(source, target, period=10 * b2.ms)
    S.connect()
    b2.defaultclock.dt = 0.5 * b2.ms
    with pytest.raises(b2.core.base.BrianObjectException) as error:
        b2.run(10 * b2.ms)
    message = causes(error.value)
    assert "dt = 1. ms" in message and "before creating the synapses" in message


def test_other_clocks_are_refused_when_building():
    b2.defaultclock.dt = 1 * b2.ms
    source, target = _pair()
    with pytest.raises(ValueError, match="dt of the synapses"):
        NearestOnlineSTDP().synapses(source, target, dt=0.5 * b2.ms)
    slow = b2.NeuronGroup(2, "v : 1", threshold="v > 1", reset="v = 0", dt=2 * b2.ms)
    with pytest.raises(ValueError, match="dt of the target group"):
        NearestOnlineSTDP().synapses(source, slow)
    assert _no_synapses_created()


# ---- reset with the wrong rule ----------------------------------------------------------------
def test_reset_with_another_rule_is_refused():
    source, target = _pair()
    S = MetaNearestOnlineSTDP().synapses(source, target)
    with pytest.raises(ValueError, match="reset it with the rule it was built with"):
        NearestOnlineSTDP().reset(S)
    with pytest.raises(ValueError, match="reset it with the rule it was built with"):
        MetaNearestOnlineSTDP(Apost=0.5).reset(S)
    MetaNearestOnlineSTDP().reset(S)       # an equal rule object is the same rule


# ---- network_operation ------------------------------------------------------------------------
def test_network_operation_keeps_working_in_runtime_mode():
    rng = np.random.default_rng(21)
    b2.defaultclock.dt = 1 * b2.ms
    in_spk, out_spk, source, target = spike_groups(b2, rng)
    rule = NearestOnlineSTDP(Apost=0.1, w_norm=2.0)
    S = rule.synapses(source, target)
    S.connect()
    w_start = rng.random((3, 6))
    rule.set_weights(S, w_start)
    seen = []

    @b2.network_operation(dt=10 * b2.ms, when="end")
    def record():
        seen.append(rule.get_weights(S))

    b2.run(60 * b2.ms)
    expected = reference.simulate("nearest", w_start, in_spk, out_spk, rule.namespace())[0]
    assert len(seen) == 6
    # at the end of steps 0, 10, ..., 50
    np.testing.assert_allclose(np.array(seen), expected[::10], atol=1e-9)


def test_network_operation_is_refused_in_standalone_before_the_build(tmp_path):
    build = tmp_path / "build"
    proc = _misuse_standalone("network_operation", str(build))
    assert proc.returncode == 3, proc.stdout + proc.stderr[-3000:]
    assert "network_operation(s) normalise_from_python" in proc.stdout
    assert "standalone" in proc.stdout
    assert not (build / "main").exists()        # refused before anything was compiled


# ---- two PostPreIntSTDP Synapses onto one neuron group ------------------------------------------
def test_two_int_rules_on_one_target_each_match_the_reference():
    """Both read the target's threshold; neither writes to the target (beyond transmission,
    left out here), so each learns as alone."""
    rng = np.random.default_rng(22)
    b2.defaultclock.dt = 1 * b2.ms
    out_spk = random_spikes(rng, 1, 80, 3, 0.3)
    thresh = 213 + 66 * np.cumsum(out_spk, axis=1)
    target = replay_target(b2, out_spk, thresh)
    cases, objects = [], [target]
    # thresholds cross max_threshold late in the run: both learning and halving are compared
    for rule in [PostPreIntSTDP(max_threshold=1200), PostPreIntSTDP(max_threshold=1500, nu1=200)]:
        in_spk = random_spikes(rng, 1, 80, 4, 0.3)
        draws = rng.integers(0, 2 ** 14, (1, 80, 2, 3, 4))
        source = spike_generator(b2, in_spk)
        S = rule.synapses(source, target, draws=draws_table(draws))
        S.connect()
        w_start = rng.integers(0, 110, (3, 4)).astype(float)
        rule.set_weights(S, w_start)
        cases.append((rule, S, in_spk, draws, w_start))
        objects += [source, S]
    b2.Network(objects).run(80 * b2.ms)   # run() would collect the last loop's objects only
    for rule, S, in_spk, draws, w_start in cases:
        expected = reference.simulate("int", w_start, in_spk, out_spk,
                                      {"max_threshold": rule.max_threshold, "nu1": rule.nu1},
                                      thresh=thresh, draws=draws)
        np.testing.assert_array_equal(rule.get_weights(S), expected[0, -1])
        assert not np.array_equal(expected[0, -1], w_start)
        assert (np.diff(expected[0], axis=0) < 0).any()          # some row was halved


# ---- the documentation of these cases ---------------------------------------------------------
def test_every_test_named_in_the_reliability_page_exists():
    import ast
    import re
    page = open(os.path.join(ROOT, "docs", "reliability.rst")).read()
    named = re.findall(r"``(test_\w+\.py)::(test_\w+)``", page)
    assert len(named) >= 25, "the page names fewer tests than it should"
    defined = {}
    for filename in {f for f, _ in named}:
        tree = ast.parse(open(os.path.join(ROOT, "tests", filename)).read())
        defined[filename] = {node.name for node in tree.body
                             if isinstance(node, ast.FunctionDef)}
    missing = [f"{f}::{t}" for f, t in named if t not in defined[f]]
    assert not missing, f"docs/reliability.rst names tests that do not exist: {missing}"
