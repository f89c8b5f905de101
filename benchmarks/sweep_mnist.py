"""The sweep behind the MNIST job's tuned settings (``brian_stdp/mnist/defaults.py``).

Runs ``brian-stdp mnist`` once per point of a grid of settings and prints (with
``--write-docs`` also writes to ``docs/sweep_mnist_<rule>_<neurons>.inc``) the held-out
accuracy of each point, best first. The sweep tunes on another split and another network seed
than the job's defaults (``--split-seed 1 --seed 1``): the settings it picks are then checked
on the default split, whose held-out digits the sweep has partly never seen.

    python benchmarks/sweep_mnist.py --rule nearest --neurons 100 \\
        --grid theta-plus=0.05,0.1,0.2 inhibition=10,17,25 --jobs 2 --write-docs

Each finished point is appended to ``OUT/sweep.jsonl``; a rerun with the same ``--out`` skips
the points already there (a sweep can be stopped and continued).
"""
import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_rules import list_table, publish  # noqa: E402


def parse_grid(items):
    """``["theta-plus=0.05,0.1", ...]`` -> ``[("--theta-plus", ["0.05", "0.1"]), ...]``."""
    grid = []
    for item in items:
        name, _, values = item.partition("=")
        if not values:
            raise SystemExit(f"--grid: {item!r} is not NAME=V1,V2,...")
        grid.append(("--" + name.lstrip("-"), values.split(",")))
    return grid


def points(grid):
    names = [name for name, _ in grid]
    for values in itertools.product(*(values for _, values in grid)):
        yield dict(zip(names, values))


def run_point(point, args, out):
    key = " ".join(f"{k} {v}" for k, v in sorted(point.items()))
    directory = os.path.join(out, "runs", key.replace("--", "").replace(" ", "_"))
    command = [sys.executable, "-m", "brian_stdp", "mnist", "--rule", args.rule,
               "--neurons", str(args.neurons), "--train", str(args.train),
               "--test", str(args.test), "--seed", str(args.seed),
               "--split-seed", str(args.split_seed), "--out", directory,
               "--build-dir", os.path.join(directory, "build"), "--quiet",
               *[str(part) for pair in point.items() for part in pair], *args.extra]
    started = time.time()
    proc = subprocess.run(command, capture_output=True, text=True)
    row = {"point": point, "key": key, "wall_s": time.time() - started}
    if proc.returncode != 0:
        row["error"] = (proc.stderr.strip().splitlines() or ["?"])[-1]
    else:
        with open(os.path.join(directory, "results.json")) as handle:
            results = json.load(handle)
        row.update(accuracy=results["accuracy"], protocol=results["protocol"],
                   curve=[(p["seen"], p["accuracy"]) for p in results["training_curve"]])
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rule", default="nearest")
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--split-seed", type=int, default=1)
    parser.add_argument("--grid", nargs="+", required=True, metavar="NAME=V1,V2")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="further brian-stdp mnist flags, the same for every point")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default=None)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    out = args.out or os.path.join("sweeps", f"{args.rule}_{args.neurons}")
    os.makedirs(out, exist_ok=True)
    log = os.path.join(out, "sweep.jsonl")
    done = {}
    if os.path.exists(log):
        with open(log) as handle:
            for line in handle:
                row = json.loads(line)
                done[row["key"]] = row
    todo = [p for p in points(parse_grid(args.grid))
            if " ".join(f"{k} {v}" for k, v in sorted(p.items())) not in done]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for row in pool.map(lambda p: run_point(p, args, out), todo):
            done[row["key"]] = row
            with open(log, "a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(row["key"], row.get("accuracy", row.get("error")), flush=True)
    publish(format_table(list(done.values()), args), args.write_docs,
            f"sweep_mnist_{args.rule}_{args.neurons}.inc")


def format_table(rows, args):
    caption = (f"``brian-stdp mnist --rule {args.rule} --neurons {args.neurons} --train "
               f"{args.train} --test {args.test} --seed {args.seed} --split-seed "
               f"{args.split_seed}{''.join(' ' + e for e in args.extra)}`` with the settings "
               "of each row, best first, produced by "
               "``python benchmarks/sweep_mnist.py``.")
    rows = sorted(rows, key=lambda r: -r.get("accuracy", -1))
    names = sorted({name for row in rows for name in row["point"]})
    header = names + ["held-out accuracy", "repeated presentations (training)", "wall (s)"]
    body = []
    for row in rows:
        cells = [row["point"].get(name, "") for name in names]
        if "error" in row:
            cells += [f"failed: {row['error']}", "n/a", "n/a"]
        else:
            cells += [f"{100 * row['accuracy']:.1f}%",
                      str(row["protocol"]["repeats"]["training"]), f"{row['wall_s']:.0f}"]
        body.append(cells)
    return list_table(caption, header, body)


if __name__ == "__main__":
    main()
