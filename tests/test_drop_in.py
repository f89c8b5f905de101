"""Drop-in safety: a user's variable never takes the place of a rule's name.

Every name a rule declares or uses (its state, the helper groups' and the run state's, its
constants, the local names of its code) is added, as an unused variable, to the target group,
to the source group, or to both; the weights must equal the NumPy reference's, exactly as
without those variables. Names Brian2 itself refuses on a group (``w``, which the synapses
define; names ending in ``_pre``/``_post``) are refused by Brian2 when the group is created.
"""
import numpy as np
import pytest
from brian2 import Equations
from brian2.utils.stringtools import get_identifiers

from brian_stdp import RULES, PostPreIntSTDP, draws_table, rule_class
from brian_stdp.run_state import RUN_STATE_NAMES
from brian_stdp.schedule import step_operation_fields
from tests.support import standalone

STANDALONE = standalone.batch("float64")

#: Names every Brian2 group has (clock, size, index) or that are functions of Brian2's code.
BRIAN_NAMES = {"t", "dt", "i", "j", "N", "N_pre", "N_post", "clip", "int", "abs", "exp",
               "timestep", "inf", "rand", "and", "or", "not", "True", "False"}


def _codes(code):
    return list(code.values()) if isinstance(code, dict) else [code]


def rule_names(rule):
    """Every name the rule declares or uses in its code, on any of its objects."""
    names = set(RUN_STATE_NAMES) | set(rule.namespace()) | set(rule.population_summed)
    for model in (rule.model, rule.post_model, rule.pre_model):
        names |= set(Equations(model).names)
    codes = _codes(rule.on_pre) + _codes(rule.on_post) + list(rule.summed.values())
    codes += [step_operation_fields(operation)[1] for operation in rule.step_operations]
    codes += [code for code, _, _ in rule.neuron_pathways.values()]
    codes += list(rule.population_summed.values())
    for row_pass in (rule.row_pass, rule.row_pass.get("first_pass", {})):
        codes += [row_pass.get(key, "") for key in ("condition", "row_code", "code")]
    codes += [rule.reset_code, rule.post_reset_code, rule.pre_reset_code]
    for code in codes:
        # comments are not code
        names |= get_identifiers("\n".join(line.split("#")[0] for line in code.splitlines()))
    if rule.integer:
        names.add("target_threshold")
    return sorted(names - BRIAN_NAMES)


def _allowed_on_a_group(name, rule):
    """False where Brian2 itself refuses the name on a group feeding these synapses."""
    return not (name.endswith(("_pre", "_post")) or name in Equations(rule.model).names)


N_PRE, N_POST, N_STEPS = 12, 4, 40


def _case(rule):
    rng = np.random.default_rng(7)
    spikes_in = (rng.random((1, N_STEPS, N_PRE)) < 0.25).astype(float)
    spikes_out = (rng.random((1, N_STEPS, N_POST)) < 0.25).astype(float)
    if rule.integer:
        w_start = rule.build_weights(rng.integers(0, 110, (N_POST, N_PRE)))
        thresh = np.where(np.arange(N_POST) % 2 == 0, 5000.0, 213.0) * np.ones((1, N_STEPS, 1))
        draws = rng.integers(0, 2 ** rule.shift, (1, N_STEPS, 2, N_POST, N_PRE))
    else:
        w_start = rule.build_weights(rng.uniform(0, 0.5, (N_POST, N_PRE)))
        thresh = draws = None
    return spikes_in, spikes_out, w_start, thresh, draws


def _replay_group(b2, spikes, extra_names, thresh=None, subexpressions=False):
    """A group spiking as ``spikes [1, T, N]``, with the unused variables ``extra_names``
    (stored, or ``subexpressions``), and a threshold variable replaying ``thresh``."""
    n = spikes.shape[2]
    table = b2.TimedArray(spikes[0], dt=b2.defaultclock.dt)
    model = "\n".join(f"{extra} = 0.37 : 1" if subexpressions else f"{extra} : 1"
                      for extra in extra_names)
    namespace = {"spike_table": table}
    if thresh is not None:
        model += "\nthresh : 1"
        namespace["thresh_table"] = b2.TimedArray(thresh[0], dt=b2.defaultclock.dt)
    group = b2.NeuronGroup(n, model, threshold="spike_table(t, i) > 0.5", reset="",
                           namespace=namespace)
    for extra in extra_names if not subexpressions else []:
        setattr(group, extra, 0.37)
    if thresh is not None:
        group.run_regularly("thresh = thresh_table(t, i)", when="start")
    return group


def names_network(b2, rule_name, target_names=(), source_names=(), subexpressions=False):
    """The case's network for ``rule_name`` with the unused variables on its groups; runs it
    and returns ``read()``, the weights (after the build, in cpp_standalone)."""
    rule = rule_class(rule_name)()
    b2.defaultclock.dt = 1 * b2.ms
    spikes_in, spikes_out, w_start, thresh, draws = _case(rule)
    source = _replay_group(b2, spikes_in, source_names, subexpressions=subexpressions)
    target = _replay_group(b2, spikes_out, target_names, thresh=thresh,
                           subexpressions=subexpressions)
    kwargs = {"draws": draws_table(draws)} if rule.integer else {}
    S = rule.synapses(source, target, **kwargs)
    S.connect()
    rule.set_weights(S, w_start)
    net = b2.Network(source, target, S)
    net.run(N_STEPS * b2.defaultclock.dt)
    return lambda: rule.get_weights(S)


def run_with_extra_names(rule, target_names=(), source_names=(), subexpressions=False):
    import brian2 as b2
    b2.start_scope()
    return names_network(b2, rule.name, target_names, source_names, subexpressions)()


def expected_weights(rule):
    """The NumPy reference's weights after the case's last step."""
    spikes_in, spikes_out, w_start, thresh, draws = _case(rule)
    extra = dict(thresh=thresh, draws=draws) if rule.integer else {}
    weights = rule.reference_weights(w_start, spikes_in, spikes_out, **extra)
    return weights[0, -1]


@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_the_rule_names_are_many_and_include_each_kind(rule_name):
    rule = rule_class(rule_name)()
    names = rule_names(rule)
    assert set(RUN_STATE_NAMES) <= set(names)
    assert set(rule.namespace()) <= set(names)
    assert len(names) >= 20


@pytest.mark.parametrize("kind", ["stored", "subexpressions"])
@pytest.mark.parametrize("side", ["target", "source", "both"])
@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_a_users_variable_named_like_a_rule_name_changes_nothing(rule_name, side, kind):
    rule = rule_class(rule_name)()
    names = [name for name in rule_names(rule) if _allowed_on_a_group(name, rule)]
    if rule.integer and "thresh" in names:
        names.remove("thresh")  # the target's threshold itself
    on_target = names if side in ("target", "both") else []
    on_source = names if side in ("source", "both") else []
    weights = run_with_extra_names(rule, on_target, on_source, kind == "subexpressions")
    expected = expected_weights(rule)
    if rule.integer:
        np.testing.assert_array_equal(weights, expected)
    else:
        np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-9)
    # the same network without the extra names gives the same weights
    np.testing.assert_array_equal(weights, run_with_extra_names(rule))


@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_names_brian2_refuses_on_a_group_are_refused_by_name(rule_name):
    import brian2 as b2
    rule = rule_class(rule_name)()
    refused = [name for name in rule_names(rule) if not _allowed_on_a_group(name, rule)]
    assert "w" in refused
    for name in refused:
        with pytest.raises(ValueError, match=name):
            b2.start_scope()
            source = b2.NeuronGroup(2, f"{name} : 1", threshold="False", reset="")
            target = b2.NeuronGroup(2, "thresh : 1", threshold="False", reset="")
            rule.synapses(source, target)


@pytest.mark.parametrize("own", ["output_trace", "halve_row", "w_raw", "plastic",
                                 "target_threshold"])
def test_thresh_variable_naming_a_rule_variable_is_refused(own):
    with pytest.raises(ValueError, match="thresh_variable"):
        PostPreIntSTDP(thresh_variable=own)


THRESHOLD_KINDS = {
    "stored": ("thresh : 1", None),
    "subexpression with a constant of the group's namespace": (
        "theta : 1\nthresh = theta + lift : 1", {"lift": 3000.0}),
    "subexpression with a global constant": ("theta : 1\nthresh = theta + offset : 1", None),
    "nested subexpression": ("theta : 1\nraised = theta + lift : 1\nthresh = raised * 1 : 1",
                             {"lift": 3000.0}),
}
offset = 3000.0  # the global constant (only the group's namespace defines ``lift``)


def threshold_network(b2, kind):
    """PostPreIntSTDP onto a target whose threshold is of ``kind`` (a key of
    :data:`THRESHOLD_KINDS`, or "linked"); runs it and returns ``read()``, the weights."""
    b2.defaultclock.dt = 1 * b2.ms
    rule = PostPreIntSTDP()
    spikes_in, spikes_out, w_start, thresh, draws = _case(rule)
    source = _replay_group(b2, spikes_in, [])
    spike_table = b2.TimedArray(spikes_out[0], dt=b2.defaultclock.dt)
    objects = [source]
    if kind == "linked":
        holder = b2.NeuronGroup(N_POST, "th : 1", namespace={
            "thresh_table": b2.TimedArray(thresh[0], dt=b2.defaultclock.dt)})
        holder.run_regularly("th = thresh_table(t, i)", when="start")
        target = b2.NeuronGroup(N_POST, "thresh : 1 (linked)",
                                threshold="spike_table(t, i) > 0.5", reset="",
                                namespace={"spike_table": spike_table})
        target.thresh = b2.linked_var(holder, "th")
        objects.append(holder)
    else:
        model, namespace = THRESHOLD_KINDS[kind]
        stored = "theta" if "theta" in model else "thresh"
        theta = b2.TimedArray(thresh[0] - (3000.0 if stored == "theta" else 0.0),
                              dt=b2.defaultclock.dt)
        target = b2.NeuronGroup(N_POST, model, threshold="spike_table(t, i) > 0.5", reset="",
                                namespace=dict(namespace or {}, spike_table=spike_table,
                                               theta_table=theta))
        target.run_regularly(f"{stored} = theta_table(t, i)", when="start")
    S = rule.synapses(source, target, draws=draws_table(draws))
    S.connect()
    rule.set_weights(S, w_start)
    net = b2.Network(*objects, target, S)
    net.run(N_STEPS * b2.defaultclock.dt)
    return lambda: rule.get_weights(S)


@pytest.mark.parametrize("target", ["numpy", "cython"])
@pytest.mark.parametrize("kind", sorted(THRESHOLD_KINDS) + ["linked"])
def test_the_int_rule_reads_any_kind_of_threshold(kind, target):
    import brian2 as b2
    b2.prefs.codegen.target = target
    weights = threshold_network(b2, kind)()
    np.testing.assert_array_equal(weights, expected_weights(PostPreIntSTDP()))


# ---- the same in cpp_standalone, in the suite's shared build ------------------------------
STANDALONE_CASES = {
    **{f"drop-in names {name}": ("tests.test_drop_in:standalone_names_case", {"rule_name": name})
       for name in sorted(RULES)},
    **{f"drop-in threshold {kind}": ("tests.test_drop_in:threshold_network", {"kind": kind})
       for kind in sorted(THRESHOLD_KINDS) + ["linked"]},
}
for _case_name, (_builder, _kwargs) in STANDALONE_CASES.items():
    STANDALONE.add(_case_name, (lambda kwargs=_kwargs: kwargs), builder=_builder)


def standalone_names_case(b2, rule_name):
    """Every allowed rule name on both groups (stored variables), for the standalone batch."""
    rule = rule_class(rule_name)()
    names = [name for name in rule_names(rule) if _allowed_on_a_group(name, rule)
             and not (rule.integer and name == "thresh")]
    read = names_network(b2, rule_name, names, names)
    return lambda: {"w": read()}


@STANDALONE
@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_rule_names_on_the_users_groups_change_nothing_in_standalone(rule_name):
    weights = STANDALONE.result(f"drop-in names {rule_name}")["w"]
    rule = rule_class(rule_name)()
    if rule.integer:
        np.testing.assert_array_equal(weights, expected_weights(rule))
    else:
        np.testing.assert_allclose(weights, expected_weights(rule), rtol=0, atol=1e-9)


@STANDALONE
@pytest.mark.parametrize("kind", sorted(THRESHOLD_KINDS) + ["linked"])
def test_the_int_rule_reads_any_kind_of_threshold_in_standalone(kind):
    weights = STANDALONE.result(f"drop-in threshold {kind}")
    weights = weights["w"] if isinstance(weights, dict) else weights
    np.testing.assert_array_equal(weights, expected_weights(PostPreIntSTDP()))


def test_a_threshold_using_a_name_of_the_rules_constants_is_refused():
    import brian2 as b2
    source = b2.NeuronGroup(2, "", threshold="False", reset="")
    target = b2.NeuronGroup(2, "theta : 1\nthresh = theta + shift : 1", threshold="False",
                            reset="", namespace={"shift": 5})
    with pytest.raises(ValueError, match="'shift'.*constant of PostPreIntSTDP"):
        PostPreIntSTDP().synapses(source, target)


@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_a_user_synapse_variable_named_like_a_local_name_of_the_rule_is_refused(rule_name):
    import brian2 as b2
    from brian_stdp.names import local_names
    rule = rule_class(rule_name)()
    names = sorted(local_names(rule))
    assert names, "every rule's code has local names"
    for name in names:
        b2.start_scope()
        source = b2.NeuronGroup(2, "", threshold="False", reset="")
        target = b2.NeuronGroup(2, "thresh : 1", threshold="False", reset="")
        with pytest.raises(ValueError, match=f"model= declares '{name}', a name the rule's"):
            rule.synapses(source, target, model=f"{name} : 1")
