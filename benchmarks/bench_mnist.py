"""The MNIST main job per rule and size: held-out accuracy, repetitions, time per digit.

Runs the plain command ``brian-stdp mnist --rule R --neurons N --train 4000`` (cpp_standalone,
every other setting at the job's default for that rule and size) once per rule and size, and
prints, from each run's ``results.json``: the held-out accuracy on the 1000 held-out digits,
the block accuracy during training and where it levels off, how many presentations were
repetitions (Diehl & Cook's re-presentation), the build time, the training time per digit,
and the wall and CPU time of the whole command.

    python benchmarks/bench_mnist.py --rules nearest full meta int --neurons 100 400 \\
        --write-docs --write-readme

Rows are kept in ``OUT/rows.json`` (default ``benchmarks/mnist_runs``), one per command; a
rerun replaces the rows it runs and keeps the others, so one rule can be re-measured alone
(``--train 4000``, the default, gives the plain command ``brian-stdp mnist``). ``--write-docs``
writes ``docs/benchmarks_mnist.inc``; ``--write-readme`` replaces the table between the
``bench_mnist`` markers in ``README.md``.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench_rules import list_table, publish  # noqa: E402

DEFAULT_TRAIN = 4000  # brian-stdp mnist's default --train (brian_stdp.mnist.MnistConfig)
README_START = "<!-- bench_mnist table: written by benchmarks/bench_mnist.py -->"
README_END = "<!-- end of bench_mnist table -->"


def command_of(rule, neurons, train, test, extra):
    return (["brian-stdp", "mnist"] + (["--rule", rule] if rule != "nearest" else [])
            + (["--neurons", str(neurons)] if neurons != 100 else [])
            + (["--train", str(train)] if train != DEFAULT_TRAIN else [])
            + (["--test", str(test)] if test != 1000 else []) + list(extra))


def plateau(curve, tolerance=0.02):
    """The digits seen when the block accuracy first comes within ``tolerance`` of its level
    over the last three blocks (None without a curve)."""
    if len(curve) < 4:
        return None
    level = sum(p["accuracy"] for p in curve[-3:]) / 3
    for point in curve:
        if point["accuracy"] >= level - tolerance:
            return point["seen"]
    return None


def run(rule, neurons, args, out):
    directory = os.path.join(out, f"{rule}_{neurons}_{args.train}")
    shown = command_of(rule, neurons, args.train, args.test, args.extra)
    command = [sys.executable, "-m", "brian_stdp", *shown[1:], "--out", directory,
               "--build-dir", os.path.join(directory, "build"), "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    proc = subprocess.run(command, capture_output=True, text=True)
    wall = time.time() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row = {"rule": rule, "neurons": neurons, "command": " ".join(shown), "wall_s": wall,
           "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)}
    if proc.returncode != 0:
        row["error"] = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return row
    with open(os.path.join(directory, "results.json")) as handle:
        results = json.load(handle)
    timings, protocol = results["timings"], results["protocol"]
    curve = results["training_curve"]
    row.update(accuracy=results["accuracy"], train=results["data"]["train_presentations"],
               test=results["data"]["test_presentations"], build_s=timings["build_s"],
               per_training_digit_s=timings.get("per_training_digit_s"),
               repeats=protocol["repeats"], periods=protocol["periods"],
               settings={k: protocol[k] for k in ("intensity", "theta_plus", "inhibition")},
               curve=[(p["seen"], p["accuracy"]) for p in curve], plateau=plateau(curve),
               silent_neurons=results.get("silent_neurons"))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", default=["nearest", "full", "meta", "int"])
    parser.add_argument("--neurons", nargs="+", type=int, default=[100, 400])
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="further brian-stdp mnist flags for every run")
    parser.add_argument("--out", default=os.path.join(HERE, "mnist_runs"))
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--publish-only", action="store_true",
                        help="run nothing: write the tables from the rows kept in OUT")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    store = os.path.join(args.out, "rows.json")
    rows = {}
    if os.path.exists(store):
        with open(store) as handle:
            rows = {r["command"]: r for r in json.load(handle)}
    for neurons in [] if args.publish_only else args.neurons:
        for rule in args.rules:
            row = run(rule, neurons, args, args.out)
            rows[row["command"]] = row
            with open(store, "w") as handle:
                json.dump(list(rows.values()), handle, indent=1)
            print({k: v for k, v in row.items() if k != "curve"}, flush=True)
    ordered = sorted(rows.values(), key=lambda r: (r["neurons"], r.get("train", 0),
                                                   RULE_ORDER.get(r["rule"], 9)))
    publish(docs_table(ordered), args.write_docs, "benchmarks_mnist.inc")
    table = readme_table(ordered)
    print(table)
    if args.write_readme:
        write_readme(table)


RULE_ORDER = {"nearest": 0, "full": 1, "meta": 2, "int": 3}


def _cells(row):
    if "error" in row:
        return [f"failed: {row['error']}"] + ["n/a"] * 5
    repeats = row["repeats"]
    return [f"{100 * row['accuracy']:.1f}%",
            f"{row['plateau']}" if row["plateau"] else "n/a",
            f"{repeats['training']} / {repeats['labelling+testing']}",
            f"{1e3 * row['per_training_digit_s']:.0f}",
            f"{row['wall_s']:.0f} s ({row['cpu_s']:.0f} s CPU, build {row['build_s']:.0f} s)"]


def docs_table(rows):
    caption = ("The plain command of each row (cpp_standalone; every other setting at the job's "
               "default for the rule and size), run by ``python benchmarks/bench_mnist.py`` "
               "on this machine (2 cores): held-out accuracy on the 1000 held-out shipped "
               "digits; the training digits after which the block accuracy (each block of "
               "training digits classified with the labels of the block before) comes within "
               "2 points of its final level; repetitions (Diehl & Cook's re-presentation of a "
               "digit that drew fewer than 5 spikes) while training / while labelling and "
               "testing; simulation time per training digit; the whole command's time.")
    header = ["command", "held-out accuracy", "block accuracy levels off at (digits)",
              "repetitions (training / evaluation)", "ms per training digit", "time"]
    return list_table(caption, header, [[f"``{r['command']}``"] + _cells(r) for r in rows])


def readme_table(rows):
    lines = ["| command | held-out accuracy | levels off at (digits) | repetitions "
             "(train / eval) | ms per training digit | time |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append("| `" + row["command"] + "` | " + " | ".join(_cells(row)) + " |")
    return "\n".join(lines) + "\n"


def write_readme(table):
    path = os.path.join(ROOT, "README.md")
    with open(path) as handle:
        text = handle.read()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"README.md lacks the markers {README_START!r} ... {README_END!r}")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    with open(path, "w") as handle:
        handle.write(head + README_START + "\n" + table + README_END + tail)


if __name__ == "__main__":
    main()
