"""The MNIST job per rule and size, run over network seeds and splits: every accuracy the README
and the docs report, as a distribution, from committed raw results.

Each row (a rule and a size) runs the plain command ``brian-stdp mnist --rule R --neurons N``
(cpp_standalone, every other setting at the job's default) once per network seed and split
(``--seeds 0 1 2 --splits 0 1``: six runs, the default command's own ``--seed 0
--split-seed 0`` among them) and appends one JSON line per run to
``benchmarks/results/mnist/<rule>-<neurons>.jsonl``:
the command, the commit, the seed and split, the held-out and validation accuracies, the training
digits, repetitions, the training curve, timings, the versions and the cores. The hand-written
Brian2 network (``benchmarks/baseline_diehl_cook.py``) appends to ``baseline-<neurons>.jsonl`` in
the same form.

    python benchmarks/bench_mnist.py --rules nearest full meta int --neurons 100 400
    python benchmarks/bench_mnist.py --publish      # README's and the docs' tables from the files

A run already in a row's file with the same settings is not run again (a bench can be stopped
and continued); ``--fresh`` empties the rows it runs first. ``--publish`` writes the README's
short table (between the ``bench_mnist`` markers) and ``docs/benchmarks_mnist.inc`` from the
files alone: each row as mean +- sd (min-max) over the runs of the row's latest settings.
``tests/test_mnist_results.py`` recomputes every figure of both tables from the files and fails
when one differs, so no accuracy in the repository is typed by hand.
"""
import argparse
import datetime
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results", "mnist")
README_START = "<!-- bench_mnist table: written by benchmarks/bench_mnist.py --publish -->"
README_END = "<!-- end of bench_mnist table -->"
RULE_ORDER = ["nearest", "full", "meta", "int", "baseline"]
RULE_TITLES = {"nearest": "nearest", "full": "full", "meta": "Meta", "int": "int",
               "baseline": "hand-written Brian2 D&C (baseline)"}
#: The targets of the MNIST issue (mean of the runs, held-out digits), by rule and size.
TARGETS = {("nearest", 100): 80, ("nearest", 400): 85, ("full", 100): 79, ("full", 400): 85,
           ("meta", 100): 77, ("meta", 400): 82, ("int", 100): 74, ("int", 400): 78}
TARGET_SD = 1.5
#: What a run's result depends on besides its seed and split (its settings), from results.json's
#: config: runs that agree on these are one row's distribution.
NOT_SETTINGS = ("seed", "split_seed", "out", "build_dir", "progress", "checkpoint_every",
                "resume", "overwrite")


# ---- running --------------------------------------------------------------------------------
def command_of(rule, neurons, seed, split, extra=()):
    """The command a user types for one run (the plain command for seed 0, split 0)."""
    return (["brian-stdp", "mnist"] + (["--rule", rule] if rule != "nearest" else [])
            + (["--neurons", str(neurons)] if neurons != 100 else [])
            + (["--seed", str(seed)] if seed else [])
            + (["--split-seed", str(split)] if split else []) + list(extra))


def git_commit():
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--", "brian_stdp"))}


def settings_of(results):
    """The settings a result depends on but its seed and split (see NOT_SETTINGS)."""
    config = {k: v for k, v in results["config"].items() if k not in NOT_SETTINGS}
    protocol = {k: v for k, v in results["protocol"].items()
                if k not in ("repeats", "periods")}
    return {"config": config, "protocol": protocol, "rule": results["rule"]}


def line_of(rule, results, command, wall_s, cpu_s, jobs):
    """The JSON line of one finished run of ``rule`` (its short name)."""
    timings = results["timings"]
    return {
        "command": " ".join(command), **git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rule": rule, "neurons": results["config"]["neurons"],
        "seed": results["seeds"]["network"], "split": results["seeds"]["split"],
        "accuracy": results["accuracy"], "validation_accuracy": results["validation_accuracy"],
        "train": results["data"]["train_presentations"],
        "validation": results["data"]["validation_presentations"],
        "label": results["data"]["label_presentations"],
        "test": results["data"]["test_presentations"],
        "repeats": results["protocol"]["repeats"],
        "curve": [[p["seen"], p["accuracy"]] for p in results["training_curve"]],
        "silent_neurons": results["silent_neurons"],
        "timings": {"wall_s": wall_s, "cpu_s": cpu_s, "build_s": timings["build_s"],
                    "simulation_s": timings["simulation_s"],
                    "per_training_digit_s": timings.get("per_training_digit_s")},
        "versions": results["versions"], "cores": os.cpu_count(), "jobs_at_once": jobs,
        "settings": settings_of(results),
    }


def run_one(rule, neurons, seed, split, args):
    shown = command_of(rule, neurons, seed, split, args.extra)
    row = f"{rule}-{neurons}" + (f".{args.tag}" if args.tag else "")
    directory = os.path.join(args.work, row, f"seed{seed}-split{split}")
    # A run the results file lacks is run again from the start: whatever an earlier, unrecorded
    # attempt left in its directory is replaced (--overwrite), not refused or resumed.
    command = [sys.executable, "-m", "brian_stdp", *shown[1:], "--out", directory,
               "--build-dir", os.path.join(directory, "build"), "--quiet", "--overwrite"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    proc = subprocess.run(command, capture_output=True, text=True)
    wall = time.time() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(shown)} failed: {proc.stderr.strip()[-2000:]}")
    with open(os.path.join(directory, "results.json")) as handle:
        results = json.load(handle)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return line_of(rule, results, shown, wall, cpu, args.jobs)


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def append_line(path, line):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as handle:
        handle.write(json.dumps(line, sort_keys=True) + "\n")


def planned_settings(rule, neurons, args):
    """The settings this version gives a row's runs (resolved as the job resolves them;
    nothing simulated)."""
    import dataclasses
    sys.path.insert(0, ROOT)
    from brian_stdp.cli import _job_config, _job_fields, build_parser
    from brian_stdp.mnist import data, defaults
    parsed = build_parser().parse_args(command_of(rule, neurons, 0, 0, args.extra)[1:])
    config = _job_config(parsed, _job_fields())
    train_order = data.load_job_digits(config.data, config.test_data, config.split_seed)[2]
    config = config.with_digits(len(train_order))
    rule_obj = config.make_rule()
    return {"config": {k: v for k, v in dataclasses.asdict(config).items()
                       if k not in NOT_SETTINGS},
            "rule": rule_obj.to_dict(), "protocol": defaults.resolve(config, rule_obj)}


def _same_settings(recorded, planned):
    def config(settings):  # lines written before a name joined NOT_SETTINGS still hold it
        return {k: v for k, v in with_added_settings(settings["config"]).items()
                if k not in NOT_SETTINGS}
    from brian_stdp.mnist.config import with_added_settings  # lines from before a setting
    from brian_stdp.rules.base import with_dt  # lines from before rules recorded their dt
    return (with_dt(recorded["rule"]) == with_dt(planned["rule"])
            and config(recorded) == config(planned)
            and all(recorded["protocol"].get(k) == v for k, v in planned["protocol"].items()))


def run_rows(args):
    jobs = []
    for neurons in args.neurons:
        for rule in args.rules:
            path = os.path.join(RESULTS, f"{rule}-{neurons}"
                                + (f".{args.tag}" if args.tag else "") + ".jsonl")
            if args.fresh and os.path.exists(path):
                os.remove(path)
            planned = planned_settings(rule, neurons, args)
            done = {(line["seed"], line["split"]) for line in read_lines(path)
                    if _same_settings(line["settings"], planned)}
            for split in args.splits:
                for seed in args.seeds:
                    if (seed, split) not in done:
                        jobs.append((rule, neurons, seed, split, path))

    def work(job):
        rule, neurons, seed, split, path = job
        line = run_one(rule, neurons, seed, split, args)
        append_line(path, line)
        print(f"{line['command']}: held-out {100 * line['accuracy']:.1f}%, validation "
              f"{100 * line['validation_accuracy']:.1f}%, {line['timings']['wall_s']:.0f} s",
              flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for future in [pool.submit(work, job) for job in jobs]:
            future.result()


# ---- statistics and tables -----------------------------------------------------------------
def current_runs(lines):
    """The runs of a row's latest settings (a row's file may hold runs of older settings), the
    last run of each seed and split."""
    if not lines:
        return []
    latest = lines[-1]["settings"]
    by_run = {}
    for line in lines:
        if line["settings"] == latest:
            by_run[(line["seed"], line["split"])] = line
    return [by_run[key] for key in sorted(by_run)]


def stats(values):
    """``(mean, sd, min, max, n)`` in percent; sd with n - 1."""
    values = [100.0 * v for v in values]
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, sd, min(values), max(values), n


def fmt(values):
    mean, sd, low, high, _ = stats(values)
    return f"{mean:.1f} ± {sd:.1f}% ({low:.1f}–{high:.1f})"


def beats(runs, baseline):
    """Whether a row's mean held-out accuracy is above the baseline's by more than twice the
    standard error of the difference (None without a baseline)."""
    if not baseline or len(baseline) < 2 or len(runs) < 2:
        return None
    m1, s1, _, _, n1 = stats([r["accuracy"] for r in runs])
    m0, s0, _, _, n0 = stats([r["accuracy"] for r in baseline])
    return m1 - m0 > 2 * math.sqrt(s1 ** 2 / n1 + s0 ** 2 / n0)


def load_rows(directory=RESULTS):
    """``{(rule, neurons): runs}`` of every results file (:func:`current_runs`)."""
    import re
    rows = {}
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        match = re.fullmatch(r"([a-z]+)-(\d+)\.jsonl", name)  # a --tag's files are apart
        if match:
            rule, neurons = match.groups()
            runs = current_runs(read_lines(os.path.join(directory, name)))
            if runs:
                rows[(rule, int(neurons))] = runs
    return rows


def _ordered(rows):
    return sorted(rows, key=lambda key: (RULE_ORDER.index(key[0]), key[1]))


#: The README's table: every rule and the baseline at both sizes; a row not yet benched says so.
#: Rows of other sizes (nearest at 1600 neurons) are in the docs' table only.
README_SIZES = (100, 400)
NOT_YET_RUN = "not yet run"


def readme_table(rows):
    sizes = README_SIZES
    lines = ["| rule | " + " | ".join(f"{n} neurons" for n in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for rule in RULE_ORDER:
        cells = [fmt([r["accuracy"] for r in rows[(rule, n)]]) if (rule, n) in rows
                 else NOT_YET_RUN for n in sizes]
        lines.append(f"| {RULE_TITLES[rule]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _verdict(key, rows):
    rule, neurons = key
    if rule == "baseline":
        return "-"
    verdict = beats(rows[key], rows.get(("baseline", neurons)))
    return {None: "no baseline runs", True: "yes", False: "no (within the spread)"}[verdict]


def _target(key, rows):
    if key not in TARGETS:
        return "-"
    mean, sd, _, _, _ = stats([r["accuracy"] for r in rows[key]])
    met = mean >= TARGETS[key] and sd <= TARGET_SD
    return f">= {TARGETS[key]}%, sd <= {TARGET_SD}: {'met' if met else 'missed'}"


def docs_table(rows):
    from bench_rules import list_table  # noqa: E402  (this directory is on sys.path)
    caption = (
        "Every run of ``python benchmarks/bench_mnist.py`` (cpp_standalone, 2 cores, each "
        "row's plain command with ``--seed`` 0, 1, 2 and ``--split-seed`` 0, 1; the raw "
        "results are ``benchmarks/results/mnist/*.jsonl``): accuracy on the 1000 held-out "
        "digits and on the 500 validation digits carved from the training digits, as mean ± "
        "sd (min–max) over the runs; whether the mean beats the hand-written Brian2 network "
        "of the same size by more than twice the standard error of the difference; the "
        "target of the MNIST issue; repetitions (Diehl & Cook's re-presentation) while "
        "training, mean per run; simulation time per training digit and the whole command's "
        "time, median over the runs.")
    header = ["rule, neurons", "runs", "held-out accuracy", "validation accuracy",
              "beats the hand-written network", "target", "repetitions (training)",
              "ms per training digit", "time per run"]
    body = []
    for key in _ordered(rows):
        runs = rows[key]
        per_digit = sorted(r["timings"]["per_training_digit_s"] or 0.0 for r in runs)
        walls = sorted(r["timings"]["wall_s"] for r in runs)
        body.append([f"{RULE_TITLES[key[0]]}, {key[1]}", str(len(runs)),
                     fmt([r["accuracy"] for r in runs]),
                     fmt([r["validation_accuracy"] for r in runs]),
                     _verdict(key, rows), _target(key, rows),
                     f"{sum(r['repeats']['training'] for r in runs) / len(runs):.0f}",
                     f"{1e3 * per_digit[len(runs) // 2]:.0f}", f"{walls[len(runs) // 2]:.0f} s"])
    return list_table(caption, header, body)


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


def paired_differences(runs, plain_runs):
    """``[(seed, split, points)]``: held-out accuracy of each tagged run minus that of the plain
    command's run on the same network seed and split (where there is one)."""
    def digits(run):
        return run["settings"]["config"].get("data"), run["settings"]["config"].get("test_data")
    # the same digits only: another data set (Fashion-MNIST) is no pair
    plain = {(r["seed"], r["split"]): r["accuracy"] for r in plain_runs
             if runs and digits(r) == digits(runs[0])}
    return [(r["seed"], r["split"], 100 * (r["accuracy"] - plain[(r["seed"], r["split"])]))
            for r in sorted(runs, key=lambda r: (r["split"], r["seed"]))
            if (r["seed"], r["split"]) in plain]


def tagged_table(tag, runs, plain_runs=()):
    """The docs' table of a tagged row (runs with other flags, ``--tag``), and the differences
    to the plain command's runs of the same seeds and splits (``plain_runs``)."""
    from bench_rules import list_table  # noqa: E402  (this directory is on sys.path)
    first = runs[0]
    caption = (f"``python benchmarks/bench_mnist.py --tag {tag} ...``: "
               f"``{first['command']}`` and its other seeds and splits "
               f"(``benchmarks/results/mnist/*.{tag}.jsonl``), {first['train']} training "
               f"digits, accuracy on {first['test']} test digits and on {first['validation']} "
               "validation digits carved from the training digits, as mean ± sd (min–max).")
    per_digit = sorted(r["timings"]["per_training_digit_s"] or 0.0 for r in runs)
    walls = sorted(r["timings"]["wall_s"] for r in runs)
    body = [[f"{RULE_TITLES[first['rule']]}, {first['neurons']}", str(len(runs)),
             fmt([r["accuracy"] for r in runs]),
             fmt([r["validation_accuracy"] for r in runs]),
             f"{sum(r['repeats']['training'] for r in runs) / len(runs):.0f}",
             f"{1e3 * per_digit[len(runs) // 2]:.0f}", f"{walls[len(runs) // 2]:.0f} s"]]
    table = list_table(caption, ["rule, neurons", "runs", "test accuracy",
                                 "validation accuracy", "repetitions (training)",
                                 "ms per training digit", "time per run"], body)
    pairs = paired_differences(runs, plain_runs)
    if pairs:
        table += ("\nAgainst the plain command (``" + plain_runs[0]["command"] + "``) on the same "
                  "network seed and split, test accuracy difference in points: "
                  + ", ".join(f"{points:+.1f} (seed {seed}, split {split})"
                              for seed, split, points in pairs)
                  + f"; mean {statistics.mean(p for _, _, p in pairs):+.1f}, largest "
                  f"{max(abs(p) for _, _, p in pairs):.1f}.\n")
    return table


def tagged_tables(rows):
    """``{docs .inc path: text}`` of every tagged results file (``<rule>-<n>.<tag>.jsonl``)."""
    import re
    tables = {}
    for name in sorted(os.listdir(RESULTS)):
        match = re.fullmatch(r"([a-z]+)-(\d+)\.([a-z0-9_]+)\.jsonl", name)
        if match:
            rule, neurons, tag = match.groups()
            runs = current_runs(read_lines(os.path.join(RESULTS, name)))
            path = os.path.join(ROOT, "docs", f"benchmarks_mnist_{tag}.inc")
            tables[path] = tagged_table(tag, runs, rows.get((rule, int(neurons)), []))
    return tables


def publish():
    sys.path.insert(0, HERE)
    rows = load_rows()
    table = readme_table(rows)
    write_readme(table)
    with open(os.path.join(ROOT, "docs", "benchmarks_mnist.inc"), "w") as handle:
        handle.write(docs_table(rows))
    for path, text in tagged_tables(rows).items():
        with open(path, "w") as handle:
            handle.write(text)
    print(table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", default=["nearest", "full", "meta", "int"])
    parser.add_argument("--neurons", nargs="+", type=int, default=[100, 400])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--splits", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at once, each in its own build directory (default: 1)")
    parser.add_argument("--fresh", action="store_true",
                        help="empty the results file of every row run first")
    parser.add_argument("--work", default=os.path.join(HERE, "mnist_runs"),
                        help="where the runs' outputs and builds go (not committed)")
    parser.add_argument("--tag", help="with --extra: the runs go to <rule>-<neurons>.TAG.jsonl, "
                                      "which the tables leave out")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="further brian-stdp mnist flags for every run (needs --tag)")
    parser.add_argument("--publish", action="store_true",
                        help="run nothing: write the README's and the docs' tables")
    args = parser.parse_args()
    if args.extra and not args.tag:
        parser.error("--extra needs --tag: runs with other settings go to a file of their own")
    if not args.publish:
        run_rows(args)
    publish()


if __name__ == "__main__":
    main()
