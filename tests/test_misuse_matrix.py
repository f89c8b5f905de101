"""The misuse matrix (issue #15): ordinary Brian2 networks around a rule either work, shown equal
to the NumPy reference (float rules to 1e-9 here, the integer rule exactly with recorded
draws), or are refused with a message naming what is wrong and what to do, before any
simulation starts. docs/reliability.rst ("Misuse") lists each case with its test.

Every case runs the four rules at once where it can (one ``Synapses`` per rule between the same
groups, tiny networks, two runs of 25 steps); the one cpp_standalone build of the file is Meta's
state across ``device.run(run_args=...)``.
"""
import subprocess
import sys

import brian2 as b2
import numpy as np
import pytest

from brian_stdp import MetaNearestOnlineSTDP, NearestOnlineSTDP, PostPreIntSTDP, reference
from brian_stdp.rules.postpre_int import draws_table
from tests.support import ROOT
from tests.support.misuse_matrix import (expected, learn, make_case, make_rules, replay_group,
                                         weights_by_synapse)

RULES = ["nearest", "full", "meta", "int"]


def _check(built, case, mask=None, rules=RULES):
    """Each rule's weights equal the reference (on the synapses of ``mask``) after the last
    step, and differ from the start weights (learning happened)."""
    for name in rules:
        rule, S = built[name]
        want = expected(name, rule, case, mask)[-1, -1]
        i, j = np.asarray(S.i[:]), np.asarray(S.j[:])
        got = weights_by_synapse(S)
        if name == "int":
            np.testing.assert_array_equal(got, want[j, i], err_msg=name)
        else:
            np.testing.assert_allclose(got, want[j, i], atol=1e-9, rtol=0, err_msg=name)
        assert not np.allclose(got, case["w_start"][name][j, i]), name


def _groups(case):
    source, _, _ = replay_group(b2, case["in_spk"], name="source")
    target, _, _ = replay_group(b2, case["out_spk"], case["thresh"], name="target")
    return source, target




@pytest.fixture(autouse=True)
def _one_ms():
    b2.defaultclock.dt = 1 * b2.ms


# ---- 1. sparse and custom connectivity -------------------------------------------------------
def _mask_of(S, shape):
    mask = np.zeros(shape, dtype=bool)
    mask[np.asarray(S.j[:]), np.asarray(S.i[:])] = True
    return mask


@pytest.mark.parametrize("how", ["p", "i_j"])
def test_sparse_connectivity_matches_the_reference_without_the_absent_synapses(how):
    """``connect(p=...)`` and ``connect(i=..., j=...)``: each rule learns as SPAIC's on the
    existing synapses only (tests/support/misuse_matrix.masked_simulate states how: no change
    for an absent synapse, row sums and Meta's row means over the existing ones)."""
    case = make_case(31)
    source, target = _groups(case)
    shape = case["out_spk"].shape[2], case["in_spk"].shape[2]
    if how == "p":
        b2.seed(7)
        connect = lambda S: S.connect(p=0.6)   # noqa: E731
    else:
        rng = np.random.default_rng(8)
        pairs = np.argwhere(rng.random(shape) < 0.5)           # (post, pre)
        connect = lambda S: S.connect(i=pairs[:, 1], j=pairs[:, 0])   # noqa: E731
    built = learn(b2, case, source, target, connect)
    masks = {name: _mask_of(built[name][1], shape) for name in RULES}
    for name, mask in masks.items():
        assert 0 < mask.sum() < mask.size and mask.any(axis=1).all(), name
        _check(built, case, mask, rules=[name])
    # the dense reference differs: the absent synapses matter
    rule, S = built["meta"]
    dense = expected("meta", rule, case)[-1, -1]
    assert not np.allclose(weights_by_synapse(S), dense[S.j[:], S.i[:]], atol=1e-6)


def test_several_synapses_per_pair_learn_as_a_repeated_pre_neuron():
    """``connect(n=2)``: each synapse is a weight of its own, every copy of a pair is a copy of
    the pre neuron (same spikes, same trace), and a row's sums and means count every synapse:
    the reference on a network whose pre neurons appear twice. (SPAIC's ``[post, pre]``
    matrix has one weight per pair: read these weights per synapse, ``S.w[:]`` with ``S.i``,
    ``S.j`` and the multisynaptic index.)"""
    case = make_case(32, n_pre=4, n_post=3)
    source, target = _groups(case)
    n_pre = case["in_spk"].shape[2]
    rng = np.random.default_rng(9)
    # the pre neurons twice over: synapse copy k of pre neuron i is column k * n_pre + i
    twice = dict(case, in_spk=np.concatenate([case["in_spk"]] * 2, axis=2),
                 draws=np.concatenate([case["draws"]] * 2, axis=4),
                 w_start={name: np.concatenate([w, w * rng.uniform(0.5, 1, w.shape)], axis=1)
                          for name, w in case["w_start"].items()})
    twice["w_start"]["int"] = np.round(twice["w_start"]["int"])
    rules = make_rules()
    built = {}
    for name, rule in rules.items():
        extra = {"draws": draws_table(case["draws"])} if name == "int" else {}
        S = rule.synapses(source, target, multisynaptic_index="k", **extra)
        S.connect(n=2)
        column = np.asarray(S.k[:]) * n_pre + np.asarray(S.i[:])
        S.w[:] = twice["w_start"][name][np.asarray(S.j[:]), column]
        built[name] = (rule, S, column)
    net = b2.Network(source, target, *(S for _, S, _ in built.values()))
    for _ in range(2):
        for rule, S, _ in built.values():
            rule.reset(S)
        net.run(25 * b2.ms)
    for name, (rule, S, column) in built.items():
        want = expected(name, rule, twice)[-1, -1][np.asarray(S.j[:]), column]
        if name == "int":
            np.testing.assert_array_equal(S.w[:], want, err_msg=name)
        else:
            np.testing.assert_allclose(S.w[:], want, atol=1e-9, rtol=0, err_msg=name)
        assert len(S) == 2 * 3 * n_pre
        # one [post, pre] matrix cannot hold them: refused rather than the last copy winning
        with pytest.raises(ValueError, match="several synapses between some pairs"):
            rule.get_weights(S)


# ---- 2. recurrent synapses ---------------------------------------------------------------------
@pytest.mark.parametrize("condition", [None, "i != j"])
def test_recurrent_synapses_match_the_reference(condition):
    """Source is target: the group's spikes are both the pre and the post spikes; all-to-all
    (autapses included) is SPAIC's dense matrix, ``i != j`` leaves out the diagonal."""
    case = make_case(33, n_pre=5, n_post=5)
    case["out_spk"] = case["in_spk"]
    counts = np.cumsum(case["out_spk"].reshape(-1, 5), axis=0).reshape(case["out_spk"].shape)
    case["thresh"] = 213.0 + 66.0 * counts
    group, _, _ = replay_group(b2, case["in_spk"], case["thresh"], name="recurrent")
    built = learn(b2, case, group, group,
                  lambda S: S.connect() if condition is None else S.connect(condition=condition))
    mask = None if condition is None else ~np.eye(5, dtype=bool)
    _check(built, case, mask)


# ---- 3. subgroups ------------------------------------------------------------------------------
def test_subgroups_from_neuron_0_work():
    """``G[:n]`` as source (every rule) and as target (the float rules): the reference on those
    neurons' spikes."""
    case = make_case(34, n_pre=8, n_post=6)
    source, target = _groups(case)
    small = dict(case, in_spk=case["in_spk"][:, :, :5],
                 w_start={name: w[:, :5] for name, w in case["w_start"].items()},
                 draws=case["draws"][..., :5])
    built = learn(b2, small, source[:5], target, lambda S: S.connect(),
                  groups=[source, target])
    _check(built, small)
    b2.start_scope()
    source, target = _groups(case)
    floats = {name: rule for name, rule in make_rules().items() if name != "int"}
    smaller = dict(small, out_spk=case["out_spk"][:, :, :3],
                   w_start={name: w[:3] for name, w in small["w_start"].items()})
    built = learn(b2, smaller, source[:5], target[:3], lambda S: S.connect(), rules=floats,
                  groups=[source, target])
    _check(built, smaller, rules=list(floats))


@pytest.mark.parametrize("rule_name, role, words", [
    ("nearest", "source", ["source", "[2:8]", "start at neuron 0", "condition on i"]),
    ("meta", "target", ["target", "[1:4]", "start at neuron 0", "separate group"]),
    ("int", "target_from_0", ["threshold 'thresh'", "NeuronGroup of its own"]),
])
def test_subgroups_the_rule_cannot_index_are_refused(rule_name, role, words):
    """A subgroup starting above neuron 0 (Brian2 indexes its synapses by the neuron's index in
    the whole group, past the rule's per-neuron state: an IndexError deep in numpy, memory
    outside the arrays in compiled code), and any subgroup as PostPreIntSTDP's target (whose
    threshold it reads): refused before any Synapses exists, built or attached."""
    case = make_case(35, n_pre=8, n_post=6)
    source, target = _groups(case)
    rule = make_rules()[rule_name]
    pair = {"source": (source[2:8], target), "target": (source, target[1:4]),
            "target_from_0": (source, target[:3])}[role]
    with pytest.raises(ValueError) as error:
        rule.synapses(*pair)
    for word in words:
        assert word in str(error.value)
    assert not [o for o in b2.collect() if isinstance(o, b2.Synapses)]
    S = b2.Synapses(*pair, model=rule.model, on_pre=rule.on_pre, on_post=rule.on_post,
                    delay=rule.pathway_delays(), namespace=rule.namespace())
    with pytest.raises(ValueError, match="subgroup"):
        rule.attach(S)


# ---- 5. Network.store() / restore() ------------------------------------------------------------
def test_store_and_restore_give_identical_weights():
    """Run, store, run more, restore, run the same again: the same weights, bit for bit, equal
    to the reference. The integer rule on Brian's own generator needs Brian2's
    ``restore(..., restore_random_state=True)`` (the rule keeps no random state of its own)."""
    case = make_case(36)
    source, target = _groups(case)
    rules = make_rules()
    own_rng = PostPreIntSTDP(**{"max_threshold": 1200})
    built = {}
    for name, rule in list(rules.items()) + [("int_rng", own_rng)]:
        extra = {"draws": draws_table(case["draws"])} if name == "int" else {}
        S = rule.synapses(source, target, **extra)
        S.connect()
        S.w[:] = case["w_start"][name.split("_")[0]][np.asarray(S.j[:]), np.asarray(S.i[:])]
        built[name] = (rule, S)
    net = b2.Network(source, target, *(S for _, S in built.values()))
    b2.seed(11)

    def one_run():
        for rule, S in built.values():
            rule.reset(S)
        net.run(25 * b2.ms)
        return {name: np.array(S.w[:]) for name, (_, S) in built.items()}

    one_run()
    net.store("after_first")
    first = one_run()
    net.restore("after_first")                      # Brian's generator state not restored
    again = one_run()
    for name in RULES:                              # the recorded draws need no generator
        np.testing.assert_array_equal(again[name], first[name], err_msg=name)
    net.restore("after_first", restore_random_state=True)
    again = one_run()
    for name in built:
        np.testing.assert_array_equal(again[name], first[name], err_msg=name)
    _check(built, case)


# ---- 6. a user delay ---------------------------------------------------------------------------
def test_user_delay_delays_transmission_not_learning():
    """``delay=2*ms`` with user transmission code: the float rules learn as the reference (their
    own pathways keep SPAIC's timing), and the transmission arrives two steps late with the
    weights of the step before it arrives."""
    case = make_case(37)
    source, target = _groups(case)
    rules = {name: rule for name, rule in make_rules().items() if name != "int"}
    monitor = b2.StateMonitor(target, "v", record=True, when="end")
    built = learn(b2, case, source, target, lambda S: S.connect(), rules=rules,
                  objects=[monitor], on_pre="v_post += w", delay=2 * b2.ms)
    _check(built, case, rules=list(rules))
    # v sums every rule's transmission: at step k, the pre spikes of step k - 2, with each
    # rule's weights after step k - 1 (transmission runs before the step's learning)
    in_spk = case["in_spk"].reshape(-1, case["in_spk"].shape[2])
    dv = np.diff(np.asarray(monitor.v).T, axis=0, prepend=0)          # [step, post]
    want = np.zeros_like(dv)
    for name in rules:
        rule, S = built[name]
        w = expected(name, rule, case).reshape(-1, *case["w_start"][name].shape)
        for k in range(2, len(dv)):
            want[k] += w[k - 1] @ in_spk[k - 2]
    np.testing.assert_allclose(dv, want, atol=1e-9)
    assert want[:2].sum() == 0 and want.sum() > 0


def test_user_delay_on_a_rule_pathway_is_refused_and_a_pathway_of_its_own_works():
    """PostPreIntSTDP learns in the pathways 'pre' and 'post', so ``delay=`` (which means the
    'pre' pathway) would delay its learning: refused, naming the way out; a user pathway of
    its own with that delay works (the rule matches the reference exactly)."""
    case = make_case(38)
    source, target = _groups(case)
    rule = make_rules()["int"]
    for delay in (2 * b2.ms, {"post": 1 * b2.ms}):
        with pytest.raises(ValueError) as error:
            rule.synapses(source, target, on_pre="v_post += w", delay=delay)
        assert "rule's own pathway" in str(error.value) and "'transmit'" in str(error.value)
    with pytest.raises(ValueError, match="learn_pre"):
        NearestOnlineSTDP().synapses(source, target, delay={"learn_pre": 1 * b2.ms})
    assert not [o for o in b2.collect() if isinstance(o, b2.Synapses)]
    built = learn(b2, case, source, target, lambda S: S.connect(), rules={"int": rule},
                  on_pre={"transmit": "v_post += w"}, delay={"transmit": 2 * b2.ms})
    _check(built, case, rules=["int"])
    assert target.v[:].sum() > 0


# ---- 7. another dt ------------------------------------------------------------------------------
def test_dt_of_half_a_millisecond_counts_the_same_steps():
    """A rule counts in steps and keeps its time constants: with dt = 0.5 ms, 25 steps
    (12.5 ms) per run are the reference's 25 steps with the decay factors of 0.5 ms."""
    b2.defaultclock.dt = 0.5 * b2.ms
    case = make_case(39)
    source, target = _groups(case)
    built = learn(b2, case, source, target, lambda S: S.connect())
    assert float(built["network"].t) == pytest.approx(2 * 25 * 0.5e-3)
    _check(built, case)
    for name in RULES:
        rule, S = built[name]
        for decay in rule.time_constants.values():
            assert S.namespace[decay] == rule.at_dt(0.5 * b2.ms).namespace()[decay]
            assert S.namespace[decay] != getattr(rule, decay)


# ---- 9. a Network built by hand --------------------------------------------------------------
def test_network_built_by_hand_without_collect():
    """``Network(source, target, S, ...)``: the rule's helper objects are contained in ``S``,
    so naming the user's objects is enough."""
    case = make_case(40)
    source, target = _groups(case)
    built = learn(b2, case, source, target, lambda S: S.connect())
    net = built["network"]
    assert set(net.objects) == {source, target} | {built[n][1] for n in RULES}
    _check(built, case)


def test_the_hand_built_network_of_a_hand_built_synapses():
    """The same for ``rule.attach`` on a Synapses built from the templates."""
    case = make_case(41)
    source, target = _groups(case)
    rule = make_rules()["full"]
    S = b2.Synapses(source, target, model=rule.model, on_pre=rule.on_pre, on_post=rule.on_post,
                    delay=rule.pathway_delays(), namespace=rule.namespace())
    rule.attach(S)
    S.connect()
    S.w[:] = case["w_start"]["full"][np.asarray(S.j[:]), np.asarray(S.i[:])]
    net = b2.Network(source, target, S)
    for _ in range(2):
        rule.reset(S)
        net.run(25 * b2.ms)
    _check({"full": (rule, S)}, case, rules=["full"])


# ---- 10. Meta's state across device.run(run_args=...) (cpp_standalone, one build) ------------
@pytest.fixture(scope="module")
def run_args_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run_args")
    out = tmp / "out.npz"
    proc = subprocess.run([sys.executable, "-m", "tests.support.misuse_matrix",
                           str(tmp / "build"), str(out)], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    data = dict(np.load(out))
    meta = MetaNearestOnlineSTDP(Apre=0.01, Apost=0.05).namespace()   # as in the program
    data["continued"] = reference.simulate("meta", data["w_meta"], data["in_spk"],
                                           data["out_spk"], meta)[0]
    data["fresh"] = reference.simulate("meta", data["meta_a"], data["in_spk"][1:],
                                       data["out_spk"][1:], meta)[0]
    return data


@pytest.mark.standalone
@pytest.mark.xdist_group("misuse-matrix-run-args")  # one build for both
def test_meta_continues_across_run_args_when_its_row_state_is_passed_back(run_args_results):
    """``device.run(run_args=...)`` starts the program again from its initial state: passing
    back ``S.w`` and the rows' ``w_mean``, ``aw_mean``, ``output_trace``, ``initialised`` and
    ``row_weight_sum`` (``rows = attachment_of(S).post_state``) continues exactly as one
    simulation of both chunks (the reference over two runs)."""
    data = run_args_results
    np.testing.assert_allclose(data["meta_a"], data["continued"][0, -1], atol=1e-9)
    np.testing.assert_allclose(data["meta_b_all_state"], data["continued"][1, -1], atol=1e-9)
    # and the test tells the two apart
    assert np.abs(data["continued"][1, -1] - data["fresh"][0, -1]).max() > 1e-3
    # full_online keeps no state across runs but the weights: they are enough
    full = make_rules()["full"]
    expected_full = reference.simulate("full", data["full_a"], data["in_spk"][1:],
                                       data["out_spk"][1:], full.namespace())
    np.testing.assert_allclose(data["full_b"], expected_full[0, -1], atol=1e-9)


@pytest.mark.standalone
@pytest.mark.xdist_group("misuse-matrix-run-args")  # one build for both
def test_run_args_weights_count_in_the_row_sums(run_args_results):
    """Weights passed through ``run_args`` alone start a new Meta (targets taken from them:
    the reference from those weights), and the state without ``row_weight_sum`` continues:
    the row sums are taken after Brian2 applies ``run_args`` (before the fix they came from
    the program's own initial weights, off by about 3e-2 and 3e-4 here)."""
    data = run_args_results
    np.testing.assert_allclose(data["meta_b_weights_only"], data["fresh"][0, -1], atol=1e-9)
    np.testing.assert_allclose(data["meta_b_without_row_sums"], data["continued"][1, -1],
                               atol=1e-9)
