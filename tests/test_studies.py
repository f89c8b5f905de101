"""Every default of the MNIST job is its study's choice, made on validation digits.

``brian_stdp/mnist/defaults.py`` names, for each rule and size, the ``brian-stdp tune`` study
whose best trial its values are; the studies' trials are committed as
``benchmarks/studies/<study>.jsonl``. This test reads them and fails when a default is not its
study's best trial (rounded to three significant digits), when a trial's value is not the mean
of its runs, when a trial presented held-out digits (its commands lack ``--test 0``) or ran
on the results table's seeds or splits, or when the docs' table of the studies is stale.
"""
import json
import math
import os
import statistics
import sys

import pytest

from brian_stdp import rule_class
from brian_stdp.mnist.config import MnistConfig
from brian_stdp.mnist.defaults import STUDIED

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDIES = os.path.join(ROOT, "benchmarks", "studies")
#: The seeds and splits of the results table (benchmarks/bench_mnist.py), which no study uses.
TABLE_SEEDS, TABLE_SPLITS = {0, 1, 2}, {0, 1}


def _study(name):
    with open(os.path.join(STUDIES, f"{name}.jsonl")) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _best(trials):
    complete = [t for t in trials if t["state"] == "complete"]
    return max(complete, key=lambda t: (t["validation_accuracy"], -t["number"]))


def _three_digits(value):
    if isinstance(value, int) or value == 0:
        return value
    return float(f"{value:.3g}")


ENTRIES = [(name, neurons) for name, sizes in STUDIED.items() for neurons in sizes]
#: Entries whose study has run; the others keep the earlier defaults, which the docs' table
#: of the defaults marks as not yet studied.
STUDIED_ENTRIES = [(name, neurons) for name, neurons in ENTRIES
                   if STUDIED[name][neurons]["study"]]
STUDY_FILES = sorted(f[:-len(".jsonl")] for f in os.listdir(STUDIES) if f.endswith(".jsonl")
                     and not f.startswith("ink-"))


@pytest.mark.parametrize("name, neurons", STUDIED_ENTRIES)
def test_each_default_is_its_studys_best_trial(name, neurons):
    entry = STUDIED[name][neurons]
    trials = _study(entry["study"])
    best = _best(trials)
    assert trials[0]["rule"]["rule"] == name
    chosen = {**entry["settings"], **entry["parameters"]}
    for parameter, value in best["params"].items():
        assert chosen[parameter] == _three_digits(value), (parameter, chosen, best["params"])
    # A rule parameter the job sets is one its study chose (not a value typed in).
    for parameter in entry["parameters"]:
        assert parameter in best["params"], (parameter, "not varied by the study")


@pytest.mark.parametrize("study", STUDY_FILES)
def test_trials_are_scored_on_validation_digits_over_seeds_and_splits(study):
    trials = _study(study)
    assert [t["number"] for t in trials] == list(range(len(trials)))
    for trial in trials:
        assert trial["study_command"] == f"python benchmarks/study_defaults.py {study}"
        assert trial["commands"], trial["number"]
        for command in trial["commands"]:
            assert "--test 0" in command and "--validation 500" in command, command
        if trial["state"] != "complete":
            continue
        runs = trial["runs"]
        assert {(r["seed"], r["split"]) for r in runs} == {(s, p) for s in (10, 11)
                                                           for p in (10, 11)}
        assert not {r["seed"] for r in runs} & TABLE_SEEDS
        assert not {r["split"] for r in runs} & TABLE_SPLITS
        mean = statistics.mean(r["validation_accuracy"] for r in runs)
        assert math.isclose(trial["validation_accuracy"], mean, abs_tol=1e-12)
        assert len(trial["commands"]) == len(runs)


@pytest.mark.parametrize("name,neurons", ENTRIES)
def test_every_rule_and_size_has_its_training_length_study(name, neurons):
    """The training length is a default per rule and size like the others: each has a length
    study (checked against the job's default below)."""
    assert f"length-{rule_class(name).short_name}-{neurons}" in STUDY_FILES


@pytest.mark.parametrize("study", [s for s in STUDY_FILES if s.startswith("length-")])
def test_the_default_training_length_is_its_studys_choice(study):
    """A length study runs the defaults with 1000, 2000 and all the training digits; the job
    trains on what its best trial trained on (all: --train's default)."""
    _, rule, neurons = study.split("-")
    best = _best(_study(study))
    config = MnistConfig(rule=rule, neurons=int(neurons)).with_digits(4000)
    assert best["params"]["train"] == config.train


@pytest.mark.parametrize("study", [s for s in STUDY_FILES if s.startswith("epochs-")])
def test_the_default_epochs_are_their_studys_choice_within_the_time_budget(study):
    """An epochs study runs the defaults with all the training digits presented once, twice
    (and three times at 100 neurons); the job makes as many passes as its best trial among
    those whose runs simulated within the default command's budget (study_defaults.py), and
    its entry names the study."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import study_defaults
    _, rule, neurons = study.split("-")
    trials = _study(study)
    assert sorted(t["params"]["epochs"] for t in trials) == study_defaults.EPOCHS[int(neurons)]
    within = [t for t in trials if t["state"] == "complete" and statistics.median(
        r["simulation_s"] for r in t["runs"]) <= study_defaults.EPOCHS_TIME_BUDGET_S]
    config = MnistConfig(rule=rule, neurons=int(neurons)).with_digits(4000)
    assert _best(within)["params"]["epochs"] == config.epochs
    entry = STUDIED[rule_class(rule).name][int(neurons)]
    assert entry["epochs_study"] == study


def test_the_docs_table_of_the_studies_is_the_studies():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import study_defaults
    with open(os.path.join(ROOT, "docs", "studies_mnist.inc")) as handle:
        assert handle.read() == study_defaults.studies_table()
    # The defaults' table names each entry's study, or says it has none yet.
    with open(os.path.join(ROOT, "docs", "defaults_mnist.inc")) as handle:
        defaults_table = handle.read()
    assert defaults_table == study_defaults.defaults_table()
    unstudied = len(ENTRIES) - len(STUDIED_ENTRIES)
    assert defaults_table.count("none yet: chosen before the validation protocol") == unstudied


def test_the_default_ink_is_the_ink_studys_choice_on_validation_digits():
    """The ink study (benchmarks/study_ink.py) ran both inks on the same seeds and splits,
    presenting no held-out digit; the default scores within the runs' spread of the images as
    given, and the docs' table is the files'."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import study_ink
    from brian_stdp.mnist.data import REFERENCE_MEAN_PIXEL
    assert MnistConfig().mean_pixel == REFERENCE_MEAN_PIXEL == 33.5
    names = [f for f in os.listdir(STUDIES) if f.startswith("ink-")]
    assert names
    for name in names:
        lines = _study(name[:-len(".jsonl")])
        runs = {ink: {(line["seed"], line["split"]): line["validation_accuracy"]
                      for line in lines if line["mean_pixel"] == ink}
                for ink in ("33.5", "none")}
        assert set(runs["33.5"]) == set(runs["none"]) == {(s, p) for s in (10, 11)
                                                          for p in (10, 11)}
        for line in lines:
            assert line["command"].endswith("--test 0"), line["command"]
        differences = [runs["33.5"][key] - runs["none"][key] for key in runs["33.5"]]
        spread = statistics.stdev(differences) / len(differences) ** 0.5
        assert statistics.mean(differences) > -2 * spread, (name, differences)
    with open(os.path.join(ROOT, "docs", "studies_ink.inc")) as handle:
        assert handle.read() == study_ink.ink_table()
