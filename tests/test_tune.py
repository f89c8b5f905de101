"""``brian-stdp tune``: search spaces, bad input, a tiny study, and workers sharing one study in
a real PostgreSQL server and in the default SQLite file (one worker killed mid-trial).

The studies are tiny (10 neurons, tens of digits, 50 ms presentations, runtime numpy): what is
tested is the study's machinery, not what it finds.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from brian_stdp.cli import main
from brian_stdp.mnist.config import MnistConfig
from brian_stdp.rules import FullOnlineSTDP, NearestOnlineSTDP, PostPreIntSTDP
from brian_stdp.tune import SearchSpace, TuneConfig, load_space, prepare, run_study
from brian_stdp.tune.storage import open_storage, with_driver
from tests.support.optional import postgresql_bin_dir

optuna = pytest.importorskip("optuna")

#: The tiny job of every study here (runtime numpy: no compiler; no re-presentation, which
#: would show a dark digit up to 11 times).
TINY = dict(neurons=10, train=60, label=30, validation=30, presentation=50.0, chunk=20,
            min_spikes=0, device="runtime", target="numpy")
TINY_FLAGS = ["--neurons", "10", "--train", "60", "--label", "30", "--presentation", "50",
              "--chunk", "20", "--min-spikes", "0", "--device", "runtime", "--target", "numpy",
              "--validation", "30"]
SPACE = {"intensity": {"low": 0.05, "high": 2.0, "log": True},
         "theta_plus": {"low": 0.01, "high": 0.2, "log": True}}
#: Inputs at 5% of the job's rate: hardly a spike, so hardly an answer.
BAD_START = {"intensity": 0.05, "theta_plus": 0.05}


# ---- search space and bad input ------------------------------------------------------------
def test_space_parses_job_settings_and_rule_parameters(tmp_path):
    space = SearchSpace.parse({"intensity": [0.5, 2.0], "Apost": {"low": 1e-3, "high": 1e-1,
                                                                    "log": True},
                               "min_spikes": [0, 10]}, NearestOnlineSTDP())
    by_name = {r.name: r for r in space.ranges}
    assert (by_name["intensity"].target, by_name["intensity"].kind) == ("job", "real")
    assert (by_name["Apost"].target, by_name["Apost"].log) == ("rule", True)
    assert by_name["min_spikes"].kind == "integer"
    yaml_file = tmp_path / "space.yaml"
    yaml_file.write_text("nu1: {low: 40, high: 400, log: true}\n"
                         "pre_term: {choices: [add, subtract]}\n")
    space = load_space(str(yaml_file), PostPreIntSTDP())
    assert [(r.name, r.kind) for r in space.ranges] == [("nu1", "integer"), ("pre_term", "choice")]
    assert SearchSpace.parse(space.to_dict(), PostPreIntSTDP()) == space
    for rule in (NearestOnlineSTDP(), PostPreIntSTDP()):
        assert load_space(None, rule).ranges  # every rule has a default space


@pytest.mark.parametrize("spec, words", [
    ({"Apots": [0.001, 0.1]}, ["unknown parameter 'Apots'", "Apost"]),
    ({"intensity": [1.0, 1.0]}, ["'intensity'", "empty"]),
    ({"theta_plus": [0.2, 0.01]}, ["'theta_plus'", "inverted"]),
    ({"Apre": {"low": 0.0, "high": 1e-3, "log": True}}, ["'Apre'", "log", "low > 0"]),
    ({"intensity": [0.5, 500.0]}, ["'intensity'", "high end", "(0.0, 100.0]"]),
    ({"min_spikes": [0.5, 4]}, ["'min_spikes'", "integer"]),
    ({"test": [10, 100]}, ["unknown parameter 'test'"]),
    ({"intensity": {"low": 0.5, "hi": 2.0}}, ["'hi'", "'intensity'"]),
    ({}, ["empty"]),
])
def test_bad_spaces_are_refused_naming_the_parameter(spec, words):
    with pytest.raises((ValueError, TypeError)) as error:
        SearchSpace.parse(spec, NearestOnlineSTDP())
    for word in words:
        assert word in str(error.value)


def test_theta_plus_is_not_a_parameter_of_the_integer_network():
    with pytest.raises(ValueError, match="unknown parameter 'theta_plus'"):
        SearchSpace.parse({"theta_plus": [0.01, 0.1]}, PostPreIntSTDP())


def _cli(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    return exit_.value.code, capsys.readouterr().err


@pytest.mark.parametrize("space, words", [
    ({"Apots": [0.001, 0.1]}, "unknown parameter 'Apots'"),
    ({"intensity": [2.0, 0.5]}, "range of 'intensity' is inverted"),
    ({"intensity": [1.0, 1.0]}, "range of 'intensity' is empty"),
])
def test_cli_refuses_a_bad_space_with_status_2_before_any_trial(space, words, tmp_path, capsys):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(space))
    out = tmp_path / "study"
    status, err = _cli(["tune", "--space", str(path), "--out", str(out), *TINY_FLAGS], capsys)
    assert status == 2 and words in err
    assert not (out / "study.db").exists() and not (out / "trials").exists()


def test_unreachable_database_is_a_clear_error_before_any_trial(tmp_path, capsys):
    port = _free_port()  # nothing listens there
    url = f"postgresql+psycopg2://nobody:secret@127.0.0.1:{port}/nothing"
    with pytest.raises(ValueError, match="cannot open the study database") as error:
        prepare(TuneConfig(base=MnistConfig(**TINY), space=SPACE, storage=url,
                           out=str(tmp_path / "a")))
    assert "secret" not in str(error.value)  # the password is not shown
    status, err = _cli(["tune", "--storage", url, "--out", str(tmp_path / "b"), *TINY_FLAGS],
                       capsys)
    assert status == 2 and "--storage" in err and "cannot open the study database" in err
    assert not (tmp_path / "b" / "trials").exists()


def test_a_study_made_for_another_rule_is_refused(tmp_path, capsys):
    out = str(tmp_path / "study")
    space = {"intensity": [0.5, 2.0], "Apost": {"low": 1e-3, "high": 5e-2, "log": True}}
    prepare(TuneConfig(base=MnistConfig(rule="nearest", **TINY), space=space, study="s",
                       out=out))
    with pytest.raises(ValueError, match="created for the rule nearest_online_STDP, not "
                                         "full_online_STDP"):
        prepare(TuneConfig(base=MnistConfig(rule="full", **TINY), space=space, study="s",
                           out=out))
    status, err = _cli(["tune", "--study", "s", "--out", out, "--rule", "full", "--resume",
                        *TINY_FLAGS], capsys)
    assert status == 2 and "created for the rule nearest_online_STDP" in err
    with pytest.raises(ValueError, match="--resume: no study 'other'"):
        prepare(TuneConfig(study="other", resume=True, out=out))
    with pytest.raises(ValueError, match="other settings: --neurons 10"):
        prepare(TuneConfig(base=MnistConfig(rule="nearest", **dict(TINY, neurons=12)),
                           space=space, study="s", out=out))
    assert FullOnlineSTDP.name == "full_online_STDP"
    assert not os.path.exists(os.path.join(out, "trials"))


@pytest.mark.slow
def test_a_trial_never_presents_a_held_out_digit(tmp_path):
    """The trials' digits are the training digits only: a study on digits whose held-out part
    is replaced by other images (noise, blank) scores every trial exactly as on the real
    ones, while the same change to validation digits moves the score."""
    import numpy as np

    from brian_stdp.mnist import data
    X, y, _ = data.load_digits(None)
    train_order, held_out_order = data.split_digits(y, seed=0)
    _, validation = data.carve_validation(y, train_order, TINY["validation"], 0)
    noise = np.random.default_rng(5).integers(0, 256, size=X.shape).astype(np.uint8)
    values = {}
    for name, replaced in (("real", []), ("held_out", held_out_order),
                           ("validation", validation)):
        changed = X.astype(np.uint8).copy()
        changed[replaced] = noise[replaced]
        path = tmp_path / f"{name}.npz"
        np.savez(path, X=changed, y=y)
        summary = run_study(TuneConfig(
            base=MnistConfig(**dict(TINY, data=str(path))), space=SPACE, trials=1,
            pruner="none", out=str(tmp_path / name), enqueue=[{"intensity": 1.0,
                                                               "theta_plus": 0.05}],
            progress=False))
        values[name] = summary["best"]["accuracy"]
        prepared = prepare(TuneConfig(study=summary["study"], resume=True,
                                      out=str(tmp_path / name)))
        assert prepared.base.test == 0 and prepared.base.test_data is None
    assert values["held_out"] == values["real"]
    assert values["validation"] != values["real"]


def test_a_study_stored_with_other_bookkeeping_is_joined(tmp_path):
    """A worker joins a study created by an earlier version, whose stored settings hold
    bookkeeping this version does not compare (--overwrite, --progress); a setting that changes
    results still refuses it."""
    out = str(tmp_path / "study")
    prepare(TuneConfig(base=MnistConfig(**TINY), space=SPACE, trials=1, out=out, study="s"))
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{out}/study.db")
    record = study.user_attrs["brian_stdp"]
    record["settings"].pop("overwrite", None)
    record["settings"]["overwrite"] = None  # as an earlier version stored it
    record["settings"]["progress"] = False
    study.set_user_attr("brian_stdp", record)
    assert prepare(TuneConfig(base=MnistConfig(**TINY), space=SPACE, trials=1, out=out,
                              study="s")).name == "s"
    with pytest.raises(ValueError, match="other settings: --presentation"):
        prepare(TuneConfig(base=MnistConfig(**dict(TINY, presentation=350.0)), space=SPACE,
                           trials=1, out=out, study="s"))


def test_a_resumed_study_draws_new_settings(tmp_path):
    """A seeded study resumed later samples afresh: its first session's random start-up
    trials are not drawn again (the same seeded sampler would repeat them one for one)."""
    out = str(tmp_path / "study")
    base = MnistConfig(**dict(TINY, train=20, label=10, validation=10))
    first = run_study(TuneConfig(base=base, space=SPACE, trials=2, out=out, seed=3,
                                 pruner="none", progress=False))
    run_study(TuneConfig(study=first["study"], resume=True, trials=4, out=out, seed=3,
                         progress=False))
    study = optuna.load_study(study_name=first["study"], storage=f"sqlite:///{out}/study.db")
    params = [tuple(sorted(t.params.items())) for t in study.get_trials()]
    assert len(params) == 4 and len(set(params)) == 4, params


# ---- a tiny study --------------------------------------------------------------------------
@pytest.mark.slow
def test_tiny_study_beats_a_bad_start_and_prunes(tmp_path, capsys):
    out = str(tmp_path / "study")
    # Trial 0 is the bad start; trial 2 repeats it once two trials have finished, so that the
    # median pruner has something to compare it with (--startup-trials 2: the default 5 would
    # leave a 4-trial study next to nothing to prune). The default warm-up, a third of the 60
    # training digits, is the first report (20 digits).
    summary = run_study(TuneConfig(
        base=MnistConfig(**TINY), space=SPACE, trials=4, out=out, seed=3,
        startup_trials=2,
        enqueue=[BAD_START, {"intensity": 1.0, "theta_plus": 0.05}, BAD_START]))
    printed = capsys.readouterr().out
    study = optuna.load_study(study_name=summary["study"], storage=f"sqlite:///{out}/study.db")
    trials = study.get_trials()
    states = [t.state.name for t in trials]
    assert len(trials) == 4 and "FAIL" not in states, states
    bad = trials[0]
    assert bad.params == BAD_START and bad.state.name == "COMPLETE"
    # Ten neurons after 60 digits are near chance on 30 validation digits (a run scores 2-5 of
    # them), so what this shows is the study's bookkeeping: the silent start scores nothing and
    # the reported best is the best finished trial, ahead of it.
    finished = [t.value for t in trials if t.state.name == "COMPLETE"]
    assert summary["best"]["accuracy"] == max(finished) > bad.value, (bad.value, summary["best"])
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    assert pruned, states
    assert all(t.user_attrs["pruned_after"] < TINY["train"] for t in pruned)
    assert summary["compiles"] == 0  # runtime mode compiles no program
    # The outputs: the table, the plots, the best settings as the job's templates.
    for name in ("trials.csv", "history.png", "importance.png", "best_rule.json",
                 "best_settings.json", "best_command.txt", "summary.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    from brian_stdp import load_rule
    assert load_rule(os.path.join(out, "best_rule.json")).name == "nearest_online_STDP"
    command = open(os.path.join(out, "best_command.txt")).read().split()
    from brian_stdp.cli import build_parser
    args = build_parser().parse_args(command[1:])
    assert args.intensity == summary["best"]["params"]["intensity"]
    assert "trial 0: accuracy" in printed and "pruned after" in printed
    assert "programs compiled: 0" in printed


@pytest.mark.slow
@pytest.mark.standalone
def test_a_standalone_study_compiles_its_program_once(tmp_path):
    """Trials that differ in run-time settings only run the program the first one compiled:
    a later trial (a fresh process, which writes the same code: brian2_private.
    canonical_clock_order) finds it in the study's build directory (keyed by its code) and
    compiles nothing; the values really reach the program."""
    base = MnistConfig(**dict(TINY, train=40, label=20, device="cpp_standalone"))
    start = {"intensity": 1.0, "theta_plus": 0.05}
    summary = run_study(TuneConfig(
        base=base, space=SPACE, trials=3, out=str(tmp_path / "study"),
        pruner="none", enqueue=[start, {"intensity": 0.05, "theta_plus": 0.05}, start]))
    study = optuna.load_study(study_name=summary["study"],
                              storage=f"sqlite:///{tmp_path}/study/study.db")
    first, dark, again = study.get_trials()
    assert first.user_attrs["programs_compiled"] == 1 and first.user_attrs["compiled"]
    for trial in (dark, again):
        assert trial.user_attrs["programs_compiled"] == 0, trial.user_attrs
    programs = [name for name in os.listdir(tmp_path / "study" / "builds")
                if not name.endswith(".lock")]
    assert len(programs) == 1, programs  # one program in the study's build directory
    assert summary["compiles"] == 1
    # 5% of the input rate reaches the compiled program as a run argument ...
    spikes = {trial.number: trial.user_attrs["runs"][0]["mean_spikes_per_validation_digit"]
              for trial in (first, dark, again)}
    assert spikes[dark.number] < 0.3 * spikes[first.number]
    # ... and the same settings again give the same result.
    assert again.value == first.value
    assert spikes[again.number] == spikes[first.number]


def test_a_pruned_trial_still_counts_what_it_compiled(tmp_path, monkeypatch):
    """A trial stopped by the pruner after its program was built is counted as compiled: the
    trial's process reports what its job had done with the pruning (as _child_main sends it,
    from the job's last chunk report)."""
    from brian_stdp.mnist.pipeline import ChunkReport
    from brian_stdp.tune import objective as objective_module
    from brian_stdp.tune.objective import Objective, _BlockAccuracy
    from brian_stdp.tune.space import SearchSpace

    block_accuracy = _BlockAccuracy(MnistConfig(**TINY).with_digits(4000),
                                    judge=lambda value, step: True)
    with pytest.raises(optuna.TrialPruned):
        block_accuracy(ChunkReport(1, True, 40, 60, np.ones((40, 10)), np.arange(40) % 10,
                                   compiled=True))
    assert block_accuracy.compiled is True

    def build_then_stop(config, judge):
        raise optuna.TrialPruned("stopped after its build",
                                 {"timings": {"compiled": block_accuracy.compiled}})

    monkeypatch.setattr(objective_module, "_run_in_child", build_then_stop)
    prepared = prepare(TuneConfig(base=MnistConfig(**dict(TINY, device="cpp_standalone")),
                                  space=SPACE, out=str(tmp_path / "s")))
    rule = NearestOnlineSTDP()
    study = optuna.create_study(direction="maximize")
    study.optimize(Objective(prepared.base, SearchSpace.parse(prepared.space, rule),
                             str(tmp_path / "s"), str(tmp_path / "builds")), n_trials=1)
    (trial,) = study.get_trials()
    assert trial.state.name == "PRUNED"
    assert trial.user_attrs["compiled"] and trial.user_attrs["programs_compiled"] == 1


# ---- pruning's warm-up ---------------------------------------------------------------------
#: A synthetic study (no network): trial k trains on TRAINS[k] digits and reports, every 50
#: digits, quality x digits seen / training digits; bad trials (0.1) below good ones (0.9) at
#: every step, so that a pruner without warm-up would stop a bad one at its first report.
QUALITIES = [0.1, 0.9, 0.1, 0.9, 0.1, 0.1]
TRAINS = [600, 600, 300, 600, 300, 600]


def _synthetic_study(pruner):
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for quality, train in zip(QUALITIES, TRAINS):
        study.enqueue_trial({"quality": quality, "train": train})

    def objective(trial):
        quality = trial.suggest_float("quality", 0.0, 1.0)
        train = trial.suggest_int("train", 300, 600)
        for seen in range(50, train + 1, 50):
            trial.report(quality * seen / train, step=seen)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return quality

    study.optimize(objective, n_trials=len(QUALITIES))
    return study.get_trials()


def _pruned_at(trial):
    return max(trial.intermediate_values) if trial.state.name == "PRUNED" else None


@pytest.mark.parametrize("prune_after, pruned_at", [
    (None, {4: 100, 5: 200}),  # a third of each trial's own training digits (300 or 600)
    (250, {4: 250, 5: 250}),
])
def test_no_trial_is_pruned_before_the_warm_up(prune_after, pruned_at):
    from brian_stdp.tune.pruning import make_pruner, training_digits, warm_up_digits
    base = MnistConfig(**TINY).with_digits(4000)  # resolved, as a study's base is
    trials = _synthetic_study(make_pruner("median", base, prune_after, startup_trials=3))
    assert {t.number: _pruned_at(t) for t in trials if _pruned_at(t)} == pruned_at
    for t in trials:
        warm_up = warm_up_digits(training_digits(base, t.params), prune_after)
        assert min(t.intermediate_values) < warm_up  # it reported before its warm-up ...
        if t.state.name == "PRUNED":  # ... and was stopped only after it
            assert _pruned_at(t) >= warm_up, (t.number, t.intermediate_values)
    # Trial 2 is as bad as trials 4 and 5, but only two trials had completed before it.
    assert trials[2].state.name == "COMPLETE"
    # Without warm-up or startup trials, the same study stops the bad trials at their first
    # report: the warm-up is what held them.
    eager = _synthetic_study(make_pruner("median", base, prune_after=0, startup_trials=0))
    assert {t.number: _pruned_at(t) for t in eager if _pruned_at(t)} == {2: 50, 4: 50, 5: 50}


def test_successive_halving_keeps_the_warm_up_too():
    from brian_stdp.tune.pruning import make_pruner, training_digits, warm_up_digits
    base = MnistConfig(**dict(TINY, train=600)).with_digits(4000)
    trials = _synthetic_study(make_pruner("halving", base, startup_trials=3))
    assert [t.state.name for t in trials[:3]] == ["COMPLETE"] * 3
    for t in trials:
        if t.state.name == "PRUNED":
            assert _pruned_at(t) >= warm_up_digits(training_digits(base, t.params))


@pytest.mark.parametrize("settings, error, words", [
    (dict(prune_after=-1), ValueError, ["--prune-after must be >= 0"]),
    (dict(prune_after=2.5), TypeError, ["--prune-after must be an integer >= 0", "2.5"]),
    (dict(prune_after=True), TypeError, ["--prune-after must be an integer"]),
    (dict(prune_after=60), ValueError, ["--prune-after must be between 0 and 59", "60 training "
                                        "digits", "--train 60 x --epochs 1"]),
    (dict(startup_trials=-2), ValueError, ["--startup-trials must be >= 0"]),
    (dict(startup_trials=6), ValueError, ["--startup-trials must be between 0 and 5", "6"]),
    (dict(startup_trials=1.0), TypeError, ["--startup-trials must be an integer"]),
    (dict(prune_after=10, pruner="none"), ValueError, ["--prune-after", "--pruner none"]),
    (dict(startup_trials=2, pruner="none"), ValueError, ["--startup-trials", "--pruner none"]),
])
def test_bad_pruning_settings_are_refused_before_any_trial(settings, error, words, tmp_path):
    out = tmp_path / "study"
    with pytest.raises(error) as raised:
        prepare(TuneConfig(base=MnistConfig(**TINY), space=SPACE, trials=6, out=str(out),
                           **settings))
    for word in words:
        assert word in str(raised.value), str(raised.value)
    assert not (out / "study.db").exists() and not (out / "trials").exists()


def test_prune_after_is_checked_against_the_most_training_a_space_allows(tmp_path):
    space = dict(SPACE, train=[40, 80], epochs={"choices": [1, 2]})
    prepare(TuneConfig(base=MnistConfig(**TINY), space=space, out=str(tmp_path / "a"),
                       prune_after=159))
    with pytest.raises(ValueError, match=r"between 0 and 159 .*--train 80 x --epochs 2, the "
                                         "most the space allows"):
        prepare(TuneConfig(base=MnistConfig(**TINY), space=space, out=str(tmp_path / "b"),
                           prune_after=160))


# ---- several network seeds per trial -------------------------------------------------------
@pytest.mark.parametrize("settings, error, words", [
    (dict(seeds=0), ValueError, ["--seeds must be >= 1", "0"]),
    (dict(seeds=1.5), TypeError, ["--seeds must be an integer >= 1", "1.5"]),
    (dict(seeds=2, space=dict(SPACE, seed=[0, 5])), ValueError,
     ["--seeds 2", "network seeds 0 .. 1", "cannot vary seed"]),
])
def test_bad_seed_settings_are_refused_before_any_trial(settings, error, words, tmp_path):
    out = tmp_path / "study"
    with pytest.raises(error) as raised:
        prepare(TuneConfig(**{"base": MnistConfig(**TINY), "space": SPACE, "out": str(out),
                              **settings}))
    for word in words:
        assert word in str(raised.value), str(raised.value)
    assert not (out / "study.db").exists() and not (out / "trials").exists()


def test_a_worker_with_other_seeds_or_splits_is_refused_and_resume_keeps_the_studys(
        tmp_path, capsys):
    out = str(tmp_path / "study")
    prepare(TuneConfig(base=MnistConfig(**TINY), space=SPACE, study="s", out=out, seeds=3,
                       splits=2))
    with pytest.raises(ValueError, match="--seeds: the study 's' was created with --seeds 3, "
                                         "not 1"):
        prepare(TuneConfig(base=MnistConfig(**TINY), space=SPACE, study="s", out=out,
                           splits=2))
    with pytest.raises(ValueError, match="--splits: the study 's' was created with --splits "
                                         "2, not 1"):
        prepare(TuneConfig(base=MnistConfig(**TINY), space=SPACE, study="s", out=out,
                           seeds=3))
    resumed = prepare(TuneConfig(study="s", resume=True, out=out))
    assert (resumed.seeds, resumed.splits) == (3, 2)
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))
    status, err = _cli(["tune", "--study", "s", "--out", out, "--space", str(space), "--seeds",
                        "2", "--splits", "2", *TINY_FLAGS], capsys)
    assert status == 2 and "created with --seeds 3, not 2" in err


def test_a_study_needs_validation_digits(tmp_path, capsys):
    with pytest.raises(ValueError, match="--validation must be at least 1 in a study"):
        prepare(TuneConfig(base=MnistConfig(**dict(TINY, validation=0)), space=SPACE,
                           out=str(tmp_path / "s")))
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_a_trial_over_seeds_and_splits_is_the_mean_of_the_jobs_run_alone(tmp_path, capsys):
    """Each run of a trial (every network seed on every split) is the job run alone with that
    seed and split (the same validation accuracy, exactly); the trial's value is their mean;
    each run reports after the previous ones' steps; the exported line of the trial holds the
    commands that rerun each run, and they do."""
    import dataclasses
    import shlex

    from brian_stdp.cli import _job_config, _job_fields, build_parser
    from brian_stdp.mnist.pipeline import run_mnist
    from brian_stdp.tune.objective import trial_job
    out = str(tmp_path / "study")
    settings = {"intensity": 1.0, "theta_plus": 0.05}
    summary = run_study(TuneConfig(
        base=MnistConfig(**dict(TINY, seed=4, split_seed=7)), space=SPACE, trials=1, out=out,
        pruner="none", seeds=2, splits=2, enqueue=[settings], command="brian-stdp tune ..."))
    study = optuna.load_study(study_name=summary["study"], storage=f"sqlite:///{out}/study.db")
    (trial,) = study.get_trials()
    runs = trial.user_attrs["runs"]
    assert [(r["seed"], r["split"]) for r in runs] == [(4, 7), (5, 7), (4, 8), (5, 8)]
    each = [r["validation_accuracy"] for r in runs]
    assert trial.value == pytest.approx(sum(each) / 4, abs=1e-12)
    assert len(set(each)) > 1  # four different runs
    prepared = prepare(TuneConfig(study=summary["study"], resume=True, out=out))
    config, _ = trial_job(prepared.base, settings, {})
    for run in runs[2:3]:  # another split; runs[3] (another seed too) is rerun from its command
        alone = run_mnist(dataclasses.replace(
            config, seed=run["seed"], split_seed=run["split"], progress=False,
            out=str(tmp_path / f"alone{run['seed']}-{run['split']}")), settings_at_run_time=True)
        assert alone["validation_accuracy"] == run["validation_accuracy"], run
        assert alone["accuracy"] is None  # --test 0: no held-out digit
        kept = os.path.join(out, "trials", summary["study"], "00000",
                            f"seed{run['seed']}-split{run['split']}", "results.json")
        with open(kept) as handle:
            assert json.load(handle)["validation_accuracy"] == run["validation_accuracy"]
    steps = sorted(trial.intermediate_values)
    first = [step for step in steps if step <= TINY["train"]]
    assert first and steps == [step + k * TINY["train"] for k in range(4) for step in first]
    assert summary["best"]["runs"] == runs
    printed = capsys.readouterr().out
    assert "mean accuracy of network seeds 4 .. 5 on splits 7 .. 8 (4 runs) per trial" in printed
    assert "seed 5 split 8: " in printed
    # The exported trial: one JSON line, a command per run that reruns it exactly.
    (line,) = [json.loads(text) for text in open(os.path.join(out, "trials.jsonl"))]
    assert line["validation_accuracy"] == trial.value and line["runs"] == runs
    assert line["study_command"] == "brian-stdp tune ..."
    rule_file = tmp_path / "RULE.json"
    rule_file.write_text(json.dumps(line["rule"]))
    command = shlex.split(line["commands"][3].replace("RULE.json", str(rule_file)))
    assert command[:2] == ["brian-stdp", "mnist"]
    again = _job_config(build_parser().parse_args(command[1:] + ["--out", str(tmp_path / "r"),
                                                                 "--quiet"]), _job_fields())
    assert (again.seed, again.split_seed, again.test) == (5, 8, 0)
    assert (again.device, again.target) == ("runtime", "numpy")   # the run's own target
    assert run_mnist(again)["validation_accuracy"] == runs[3]["validation_accuracy"]


@pytest.mark.parametrize("flags, words", [
    (["--prune-after", "many"], "argument --prune-after: invalid int value: 'many'"),
    (["--startup-trials", "1.5"], "argument --startup-trials: invalid int value: '1.5'"),
    (["--prune-after", "60"], "--prune-after must be between 0 and 59"),
    (["--prune-after", "-5"], "--prune-after must be >= 0"),
    (["--startup-trials", "20"], "--startup-trials must be between 0 and 19"),
    (["--startup-trials", "2", "--pruner", "none"], "--pruner none stops none"),
])
def test_cli_refuses_bad_pruning_settings_with_status_2(flags, words, tmp_path, capsys):
    out = tmp_path / "study"
    status, err = _cli(["tune", "--out", str(out), *TINY_FLAGS, *flags], capsys)
    assert status == 2 and words in err, err
    assert not (out / "study.db").exists() and not (out / "trials").exists()


def test_cli_passes_the_warm_up_to_the_study(monkeypatch, tmp_path, capsys):
    import brian_stdp.tune
    from brian_stdp.tune.pruning import STARTUP_TRIALS
    given = []
    monkeypatch.setattr(brian_stdp.tune, "run_study",
                        lambda config: given.append(config) or {"best": {}})
    assert main(["tune", "--out", str(tmp_path), *TINY_FLAGS, "--prune-after", "30",
                 "--startup-trials", "2"]) == 0
    assert (given[0].prune_after, given[0].startup_trials) == (30, 2)
    assert main(["tune", "--out", str(tmp_path), *TINY_FLAGS]) == 0
    assert (given[1].prune_after, given[1].startup_trials) == (None, None)  # the defaults
    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"--startup-trials N completed trials before any trial is pruned, 0 .. --trials - 1 " \
           f"(default: {STARTUP_TRIALS})" in text


# ---- workers sharing a study ---------------------------------------------------------------
def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL cluster in a temporary directory, on a free local port; its URL.

    initdb refuses to run as root: as root the cluster belongs to the ``postgres`` user
    (``runuser``), in a directory of its own outside pytest's root-only temporary tree."""
    bin_dir = postgresql_bin_dir()
    as_user = []
    directory = tempfile.mkdtemp(prefix="brian_stdp_pg_")
    if os.geteuid() == 0:
        import pwd
        user = pwd.getpwnam("postgres")
        os.chown(directory, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data_dir = os.path.join(directory, "data")
    port = _free_port()
    run = lambda *args: subprocess.run([*as_user, *args], check=True,  # noqa: E731
                                       capture_output=True, text=True)
    run(f"{bin_dir}/initdb", "-D", data_dir, "--auth=trust", "-U", "postgres", "--no-sync",
        "-E", "UTF8")
    run(f"{bin_dir}/pg_ctl", "-D", data_dir, "-l", os.path.join(directory, "log"), "-w",
        "-o", f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        run(f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "tune")
        # the spelling of Optuna's documentation; the tune extra's driver is chosen for it
        yield f"postgresql://postgres@127.0.0.1:{port}/tune"
    finally:
        subprocess.run([*as_user, f"{bin_dir}/pg_ctl", "-D", data_dir, "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


def _worker(url, out, log, trials, workers=1):
    """A ``brian-stdp tune`` process joining the study (``url`` None: the default SQLite file
    in ``out``) with ``workers`` worker processes."""
    command = [sys.executable, "-m", "brian_stdp", "tune", *(["--storage", url] if url else []),
               "--study", "shared", "--trials", str(trials), "--heartbeat", "1", "--out", out,
               "--workers", str(workers),
               "--space", os.path.join(out, "..", "space.json"), "--pruner", "none",
               *TINY_FLAGS]
    return subprocess.Popen(command, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _two_workers_one_killed(url, tmp_path, b_workers=1):
    """Start two workers on one study (the second with ``b_workers`` local worker processes);
    kill the first one (SIGKILL: no goodbye) once it has finished a trial and started the
    next; the other must finish the study."""
    # Enough trials that every worker process starts a second one (A is killed in it).
    trials = 3 + 2 * b_workers
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    out = str(tmp_path / "study")
    # The study is created first, as the first of N machines would, so the workers only join.
    prepare(TuneConfig(base=MnistConfig(**TINY), space=str(tmp_path / "space.json"),
                       storage=url, study="shared", trials=trials, out=out,
                       heartbeat=1))
    a = _worker(url, out, tmp_path / "a.log", trials)
    b = _worker(url, out, tmp_path / "b.log", trials, b_workers)
    study = optuna.load_study(study_name="shared",
                              storage=open_storage(url or f"sqlite:///{out}/study.db"))
    pid_a = f"{socket.gethostname()}:{a.pid}"
    deadline = time.time() + 240
    killed_trial = None
    while time.time() < deadline and killed_trial is None:
        time.sleep(0.5)
        mine = [t for t in study.get_trials() if t.user_attrs.get("worker") == pid_a]
        finished = [t for t in mine if t.state.is_finished()]
        running = [t for t in mine if t.state.name == "RUNNING"]
        if finished and running:
            a.send_signal(signal.SIGKILL)
            a.wait()
            killed_trial = running[0].number
        assert a.poll() is None or killed_trial is not None, open(tmp_path / "a.log").read()
    assert killed_trial is not None, "worker a never started a second trial"
    assert b.wait(timeout=300) == 0, open(tmp_path / "b.log").read()
    trials_now = study.get_trials()
    by_state = {}
    for t in trials_now:
        by_state.setdefault(t.state.name, []).append(t.number)
    # The killed worker's trial: failed through the heartbeat, replaced by another.
    assert by_state.get("FAIL") == [killed_trial], by_state
    assert len(by_state.get("COMPLETE", [])) + len(by_state.get("PRUNED", [])) == trials
    assert "RUNNING" not in by_state and "WAITING" not in by_state
    numbers = sorted(t.number for t in trials_now)
    assert numbers == list(range(len(numbers)))  # none lost, none twice
    workers = {t.user_attrs["worker"] for t in trials_now if t.state.name == "COMPLETE"}
    assert pid_a in workers
    if b_workers == 1:
        assert workers == {pid_a, f"{socket.gethostname()}:{b.pid}"}
    else:  # --workers N: N processes of its own, each of which ran trials
        assert len(workers - {pid_a}) == b_workers, workers
    # Every trial each worker announced is in the study, in the state it announced.
    for log in ("a.log", "b.log"):
        for line in open(tmp_path / log):
            if "] trial " in line and ": accuracy " in line:
                number = int(line.split("] trial ")[1].split(":")[0])
                assert number in by_state["COMPLETE"], (log, line)
    # The study remains usable: resumed for one more trial, then summarised.
    summary = run_study(TuneConfig(study="shared", storage=url, resume=True, trials=trials + 1,
                                   out=out, heartbeat=1, pruner="none", progress=False))
    assert summary["states"]["complete"] == trials + 1
    assert summary["states"]["fail"] == 1


def test_both_postgresql_spellings_reach_one_study(postgres_url, tmp_path):
    """``postgresql://`` (Optuna's documentation; SQLAlchemy 2.1 alone would pick psycopg 3,
    which is not installed) and ``postgresql+psycopg2://`` open the same database."""
    assert postgres_url.startswith("postgresql://")
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    prepare(TuneConfig(base=MnistConfig(**TINY), space=str(tmp_path / "space.json"),
                       storage=postgres_url, study="spelled", trials=2,
                       out=str(tmp_path / "out"), heartbeat=1))
    explicit = postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    for url in (postgres_url, explicit):
        assert optuna.study.get_all_study_names(open_storage(url)) == ["spelled"]
    # a URL naming its driver is kept; only the bare scheme gets the installed one
    assert with_driver(explicit) == explicit
    assert with_driver("sqlite:///x.db") == "sqlite:///x.db"
    assert with_driver("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


@pytest.mark.slow
def test_two_workers_share_a_postgresql_study_and_survive_a_killed_worker(postgres_url,
                                                                           tmp_path):
    _two_workers_one_killed(postgres_url, tmp_path)


@pytest.mark.slow
def test_workers_share_the_default_sqlite_study_and_survive_a_killed_worker(tmp_path):
    """As with PostgreSQL; the second command runs two local workers (``--workers 2``)."""
    _two_workers_one_killed(None, tmp_path, b_workers=2)
