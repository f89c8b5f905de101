"""The studies behind the MNIST job's defaults (``brian_stdp/mnist/defaults.py``).

One ``brian-stdp tune`` study per rule and size (its Python API, so that the job's current
defaults can be queued as trial 0 and scored like any other trial): every trial runs the job
with two network seeds (10, 11) on two splits (10, 11), four runs, and is scored by their mean
accuracy on the 500 validation digits each run carves from its training digits; no trial
presents a held-out digit (``--test 0``). The seeds and splits are not those of the results
table (``benchmarks/bench_mnist.py``: seeds 0-2, splits 0-1), so the table's held-out figures
come from runs that no choice was made on.

    python benchmarks/study_defaults.py nearest-100
    python benchmarks/study_defaults.py length-nearest-100   # training length at the defaults
    python benchmarks/study_defaults.py epochs-nearest-100   # passes over the training digits
    python benchmarks/study_defaults.py --publish    # the docs' tables of the studies

The study lives in ``benchmarks/study_runs/NAME`` (not committed: its database, builds and
runs); its trials, one JSON line each with the commands that rerun them, are copied to
``benchmarks/studies/NAME.jsonl`` (committed). A study stopped part way continues when started
again (the database keeps its trials).

``length-RULE-N`` studies run the job at its defaults with 1000, 2000 and all (3500) training
digits, the way the job's default training length is chosen. ``epochs-RULE-N`` studies run it
at its defaults with all the training digits presented once, twice or three times (once or
twice at 400 neurons, where a run costs four times as much): the job's default ``--epochs``.
"""
import argparse
import json
import os
import shlex
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from brian_stdp.mnist import defaults  # noqa: E402
from brian_stdp.mnist.config import MnistConfig  # noqa: E402
from brian_stdp.tune import TuneConfig, run_study  # noqa: E402

SEEDS = {"seed": 10, "split_seed": 10}
FLOAT_NETWORK = {"intensity": {"low": 0.6, "high": 1.6},
                 "theta_plus": {"low": 0.02, "high": 0.25, "log": True},
                 "inhibition": {"low": 8.0, "high": 40.0, "log": True}}
META = {"theta_plus": {"low": 0.02, "high": 0.25, "log": True},
        "inhibition": {"low": 8.0, "high": 40.0, "log": True},
        "Apost": {"low": 3e-3, "high": 3e-2, "log": True},
        "Apre": {"low": 5e-6, "high": 2e-4, "log": True}}
INT_NETWORK = {"intensity": {"low": 0.6, "high": 1.6},
               "inhibition": {"low": 500.0, "high": 16000.0, "log": True},
               "nu0": {"low": 4, "high": 40, "log": True},
               "nu1": {"low": 40, "high": 400, "log": True}}
SPACES = {"nearest": FLOAT_NETWORK, "full": FLOAT_NETWORK, "meta": META, "int": INT_NETWORK}
#: Trials per study, and completed trials before the pruner may stop one, by size: a
#: 400-neuron trial costs about three 100-neuron ones.
TRIALS = {100: 10, 400: 6}
STARTUP_TRIALS = {100: 5, 400: 3}
LENGTHS = [1000, 2000, 3500]
EPOCHS = {100: [1, 2, 3], 400: [1, 2]}
#: An epochs study's choice is its best trial among those whose runs' median simulation time
#: (s, training and evaluation, as the study measured it: two runs at once on two cores) is
#: within this: the default command must finish within 3 minutes on 2 cores (the MNIST
#: issue), of which the build and set-up take up to 30 s. More passes, where they score
#: higher, are a flag away (--epochs); the docs give the study's figures.
EPOCHS_TIME_BUDGET_S = 150


def current_defaults(rule, neurons, space):
    """The job's defaults today for the names of ``space``: queued as trial 0."""
    config = MnistConfig(rule=rule, neurons=neurons)
    rule_obj = config.make_rule()
    values = {**defaults.resolve(config, rule_obj), **rule_obj.to_dict()["parameters"]}
    return {name: values[name] for name in space}


def tune_config(name, out, workers):
    if name.startswith(("length-", "epochs-")):
        kind, rule, neurons = name.split("-")
        neurons = int(neurons)
        setting, values = (("train", LENGTHS) if kind == "length" else
                           ("epochs", EPOCHS[neurons]))
        # A one-parameter space over the training length (or passes); every value queued,
        # nothing else sampled, no pruning (a shorter trial is not a worse one).
        return TuneConfig(base=MnistConfig(rule=rule, neurons=neurons, **SEEDS),
                          space={setting: {"choices": values}}, trials=len(values),
                          enqueue=[{setting: n} for n in values], pruner="none",
                          seeds=2, splits=2, workers=workers, seed=0, out=out, study=name)
    rule, neurons = name.split("-")
    neurons = int(neurons)
    space = SPACES[rule]
    return TuneConfig(base=MnistConfig(rule=rule, neurons=neurons, **SEEDS), space=space,
                      trials=TRIALS[neurons], enqueue=[current_defaults(rule, neurons, space)],
                      startup_trials=STARTUP_TRIALS[neurons], seeds=2, splits=2,
                      workers=workers, seed=0, out=out, study=name)


def read_study(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def best_trial(trials):
    """The study's best complete trial (the highest mean validation accuracy; the first of
    equals, as Optuna's best_trial)."""
    complete = [t for t in trials if t["state"] == "complete"]
    return max(complete, key=lambda t: (t["validation_accuracy"], -t["number"]))


def _runs_figure(trial):
    values = [100 * r["validation_accuracy"] for r in trial["runs"]]
    return (f"{sum(values) / len(values):.1f}% ({min(values):.1f}–{max(values):.1f}, "
            f"{len(values)} runs)")


def _number(value):
    """Three significant digits, without an exponent for a large one (5960, not 5.96e+03)."""
    if not isinstance(value, float):
        return f"{value}"
    text = f"{value:.3g}"
    return f"{float(text):.0f}" if "e+" in text else text


def _params(params):
    return ", ".join(f"{k} {_number(v)}" for k, v in params.items())


def studies_table():
    """The docs' table of every committed study: its trials, its best trial and trial 0."""
    sys.path.insert(0, HERE)
    from bench_rules import list_table
    body = []
    directory = os.path.join(HERE, "studies")
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".jsonl") or name.startswith("ink-"):
            continue  # ink-*: study_ink.py's comparison, tabled in studies_ink.inc
        trials = read_study(os.path.join(directory, name))
        states = {}
        for t in trials:
            states[t["state"]] = states.get(t["state"], 0) + 1
        best = best_trial(trials)
        first = trials[0]
        body.append([f"``{name[:-len('.jsonl')]}``",
                     ", ".join(f"{n} {state}" for state, n in sorted(states.items())),
                     f"trial {best['number']}: {_params(best['params'])}", _runs_figure(best),
                     (f"{_params(first['params'])}: {_runs_figure(first)}"
                      if first["state"] == "complete" else f"{first['state']}")])
    caption = ("Every study behind the job's defaults (``benchmarks/studies/NAME.jsonl``, one "
               "line per trial with the commands that rerun it; ``python "
               "benchmarks/study_defaults.py NAME`` runs it again): its trials by state, its "
               "best trial (the highest mean validation accuracy over network seeds 10, 11 "
               "on splits 10, 11), that trial's validation accuracy (mean, min–max over its "
               "runs), and trial 0: the defaults before the study (a ``length-`` or ``epochs-`` "
               "study's trial 0 is its shortest training).")
    return list_table(caption, ["study", "trials", "best trial", "its validation accuracy",
                                "trial 0"], body)


def defaults_table():
    """The docs' table of the job's defaults by rule and size, and the study behind each."""
    sys.path.insert(0, HERE)
    from bench_rules import list_table

    from brian_stdp import rule_class
    body = []
    for name, sizes in defaults.STUDIED.items():
        for neurons, entry in sorted(sizes.items()):
            settings = {k: v for k, v in entry["settings"].items() if v is not None}
            settings["epochs"] = entry.get("epochs", 1)
            study = (f"``{entry['study']}``" if entry["study"] else
                     "none yet: chosen before the validation protocol, on held-out digits")
            length = f"length-{rule_class(name).short_name}-{neurons}"
            if os.path.exists(os.path.join(HERE, "studies", f"{length}.jsonl")):
                study += f"; training length: ``{length}``"
            if "epochs_study" in entry:
                study += f"; epochs: ``{entry['epochs_study']}``"
            body.append([f"``{rule_class(name).short_name}``", str(neurons),
                         _params(settings), _params(entry["parameters"]) or "SPAIC's", study])
    caption = ("The job's defaults (:data:`brian_stdp.mnist.defaults.STUDIED`): its settings "
               "(``epochs``: passes over the training digits) and the rule parameters of a "
               "rule named by ``--rule`` (SPAIC's defaults for the others), and the study "
               "whose best trial they are.")
    return list_table(caption, ["rule", "neurons", "settings", "rule parameters", "study"],
                      body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?",
                        help="RULE-NEURONS (nearest-100, ...), length-RULE-NEURONS or "
                             "epochs-RULE-NEURONS")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--export", action="store_true",
                        help="run nothing: write the study's trials again from its database")
    parser.add_argument("--publish", action="store_true",
                        help="run nothing: write docs/studies_mnist.inc from the studies")
    args = parser.parse_args()
    if args.publish:
        docs = os.path.join(os.path.dirname(HERE), "docs")
        for name, table in (("studies_mnist.inc", studies_table()),
                            ("defaults_mnist.inc", defaults_table())):
            with open(os.path.join(docs, name), "w") as handle:
                handle.write(table)
            print(table)
        return
    if not args.name:
        parser.error("name a study, or --publish")
    if args.export:
        # The trials again from the study's database, as this version writes them.
        from brian_stdp.tune import prepare
        from brian_stdp.tune.report import write_trials_jsonl
        import optuna
        out = os.path.join(HERE, "study_runs", args.name)
        prepared = prepare(TuneConfig(study=args.name, resume=True, trials=None, out=out,
                                      progress=False))
        study = optuna.load_study(study_name=args.name, storage=prepared.url)
        write_trials_jsonl(prepared, study.get_trials(deepcopy=False),
                           os.path.join(HERE, "studies", f"{args.name}.jsonl"))
        return
    out = os.path.join(HERE, "study_runs", args.name)
    config = tune_config(args.name, out, args.workers)
    command = shlex.join(["python", "benchmarks/study_defaults.py", args.name])
    import dataclasses
    from brian_stdp.tune.workers import StudyInterrupted
    try:
        summary = run_study(dataclasses.replace(config, command=command))
    except StudyInterrupted as stopped:
        # The same command continues the study (its database keeps the finished trials).
        print(f"{command}: {stopped.kept}. Continue with: {command}", file=sys.stderr)
        sys.exit(128 + stopped.signum)
    os.makedirs(os.path.join(HERE, "studies"), exist_ok=True)
    shutil.copyfile(os.path.join(out, "trials.jsonl"),
                    os.path.join(HERE, "studies", f"{args.name}.jsonl"))
    print(summary["best"])


if __name__ == "__main__":
    main()
