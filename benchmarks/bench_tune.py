"""How long a tuning trial takes per network size: the table of docs/tuning.rst.

For each size, a study of ``--trials`` trials in one worker (``brian-stdp tune``, rule nearest,
cpp_standalone, default presentation, no pruning) over the run-time settings intensity,
theta_plus and inhibition, so that one program serves the whole study: the first trial
compiles it, the later ones run it. Each trial trains on ``--train`` digits and labels
``--label``; ``--validation`` digits score it. Printed per size: the first trial's time and
its build, the later trials' times and their simulation, and whether a later trial compiled
anything (it should not).

    python benchmarks/bench_tune.py --write-docs
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_rules import list_table, publish  # noqa: E402

SPACE = {"intensity": {"low": 0.8, "high": 1.5},
         "theta_plus": {"low": 0.01, "high": 0.1, "log": True},
         "inhibition": {"low": 10.0, "high": 30.0, "log": True}}


def study_trials(out, rule, neurons):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=f"mnist-{rule}-{neurons}",
                              storage=f"sqlite:///{os.path.join(out, 'study.db')}")
    return sorted(study.trials, key=lambda t: t.number)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 400])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--train", type=int, default=500)
    parser.add_argument("--label", type=int, default=200)
    parser.add_argument("--validation", type=int, default=200)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    for neurons in args.sizes:
        with tempfile.TemporaryDirectory() as out:
            space = os.path.join(out, "space.json")
            with open(space, "w") as handle:
                json.dump(SPACE, handle)
            command = [sys.executable, "-m", "brian_stdp", "tune", "--rule", "nearest",
                       "--neurons", str(neurons), "--train", str(args.train),
                       "--label", str(args.label), "--validation", str(args.validation),
                       "--trials", str(args.trials), "--pruner", "none", "--space", space,
                       "--device", "cpp_standalone", "--sampler-seed", "0", "--out", out,
                       "--quiet"]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            trials = study_trials(out, "nearest", neurons)
        first, later = trials[0].user_attrs, [t.user_attrs for t in trials[1:]]
        row = {"neurons": neurons, "first_s": first["seconds"], "first_build_s": first["build_s"],
               "later_s": [t["seconds"] for t in later],
               "later_simulation_s": [t["simulation_s"] for t in later],
               "later_compiled": any(t.get("compiled") for t in later)}
        print(json.dumps(row), flush=True)
        rows.append(row)

    def seconds(values):
        return " and ".join(f"{value:.0f} s" for value in values)

    body = [[row["neurons"], f"{row['first_s']:.0f} s", f"{row['first_build_s']:.0f} s",
             seconds(row["later_s"]), seconds(row["later_simulation_s"]),
             "yes" if row["later_compiled"] else "no"] for row in rows]
    caption = (f"Measured by ``benchmarks/bench_tune.py`` ({args.train} training, {args.label} "
               f"labelling and {args.validation} validation digits per trial, one worker):")
    publish(list_table(caption, ["neurons", "first trial", "of which building the program",
                                 "later trials", "of which simulating",
                                 "a later trial compiled"], body),
            args.write_docs, "tuning_trial_times.inc")


if __name__ == "__main__":
    main()
