"""The MNIST main job per rule: seconds per presented digit, with the build timed separately.

Runs ``brian-stdp mnist`` (cpp_standalone, the job's defaults unless given here) once per rule
in one run of this script, and prints, from each run's ``results.json``: the build time, the
simulation time per presented digit (training, labelling and testing presentations alike),
the total wall time and the held-out accuracy.

    python benchmarks/bench_mnist.py --train 500 --test 200 --write-docs
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", default=["nearest", "full", "meta", "int"])
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--train", type=int, default=500)
    parser.add_argument("--label", type=int, default=200)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    for rule in args.rules:
        out = tempfile.mkdtemp(prefix=f"bench_mnist_{rule}_")
        command = [sys.executable, "-m", "brian_stdp", "mnist", "--rule", rule,
                   "--neurons", str(args.neurons), "--train", str(args.train),
                   "--label", str(args.label), "--test", str(args.test), "--out", out,
                   "--build-dir", os.path.join(out, "build"), "--quiet"]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            rows.append({"rule": rule, "error": proc.stderr.strip().splitlines()[-1:]})
        else:
            with open(os.path.join(out, "results.json")) as handle:
                results = json.load(handle)
            timings = results["timings"]
            rows.append({"rule": rule, "build_s": timings["build_s"],
                         "per_presentation_s": timings["per_presentation_s"],
                         "total_s": timings["total_s"], "accuracy": results["accuracy"]})
        print(rows[-1], flush=True)
    publish(format_table(rows, args), args.write_docs, "benchmarks_mnist.inc")


def format_table(rows, args):
    caption = (f"``brian-stdp mnist`` (cpp_standalone) with {args.neurons} neurons, "
               f"{args.train} training digits, {args.label} labelling and {args.test} held-out "
               "digits, per rule, produced by ``python benchmarks/bench_mnist.py`` in one run on "
               "this machine (2 cores), with the job's default presentation (250 steps of 1 ms, "
               "no rest).")
    header = ["rule", "build (s)", "simulation per presented digit (ms)",
              "total wall time (s)", "held-out accuracy"]
    body = []
    for row in rows:
        if "error" in row:
            cells = [f"failed: {row['error']}", "n/a", "n/a", "n/a"]
        else:
            cells = [f"{row['build_s']:.0f}", f"{1e3 * row['per_presentation_s']:.1f}",
                     f"{row['total_s']:.0f}", f"{100 * row['accuracy']:.1f}%"]
        body.append([row["rule"]] + cells)
    return list_table(caption, header, body)

if __name__ == "__main__":
    main()
