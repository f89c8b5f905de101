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

The study lives in ``benchmarks/study_runs/NAME`` (not committed: its database, builds and
runs); its trials, one JSON line each with the commands that rerun them, are copied to
``benchmarks/studies/NAME.jsonl`` (committed). A study stopped part way continues when started
again (the database keeps its trials).

``length-RULE-N`` studies run the job at its defaults with 1000, 2000 and all (3500) training
digits, the way the job's default training length is chosen.
"""
import argparse
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
TRIALS = {100: 14, 400: 10}
LENGTHS = [1000, 2000, 3500]


def current_defaults(rule, neurons, space):
    """The job's defaults today for the names of ``space``: queued as trial 0."""
    config = MnistConfig(rule=rule, neurons=neurons)
    rule_obj = config.make_rule()
    values = {**defaults.resolve(config, rule_obj), **rule_obj.to_dict()["parameters"]}
    return {name: values[name] for name in space}


def tune_config(name, out, workers):
    if name.startswith("length-"):
        _, rule, neurons = name.split("-")
        neurons = int(neurons)
        # A one-parameter space over the training length; the three lengths queued, nothing
        # else sampled, no pruning (a shorter trial is not a worse one).
        return TuneConfig(base=MnistConfig(rule=rule, neurons=neurons, **SEEDS),
                          space={"train": {"choices": LENGTHS}}, trials=len(LENGTHS),
                          enqueue=[{"train": n} for n in LENGTHS], pruner="none",
                          seeds=2, splits=2, workers=workers, seed=0, out=out, study=name)
    rule, neurons = name.split("-")
    neurons = int(neurons)
    space = SPACES[rule]
    return TuneConfig(base=MnistConfig(rule=rule, neurons=neurons, **SEEDS), space=space,
                      trials=TRIALS[neurons], enqueue=[current_defaults(rule, neurons, space)],
                      seeds=2, splits=2, workers=workers, seed=0, out=out, study=name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="RULE-NEURONS (nearest-100, ...) or length-RULE-NEURONS")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    out = os.path.join(HERE, "study_runs", args.name)
    config = tune_config(args.name, out, args.workers)
    command = shlex.join(["python", "benchmarks/study_defaults.py", args.name])
    import dataclasses
    summary = run_study(dataclasses.replace(config, command=command))
    os.makedirs(os.path.join(HERE, "studies"), exist_ok=True)
    shutil.copyfile(os.path.join(out, "trials.jsonl"),
                    os.path.join(HERE, "studies", f"{args.name}.jsonl"))
    print(summary["best"])


if __name__ == "__main__":
    main()
