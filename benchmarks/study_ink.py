"""The study behind the job's default ink: every image scaled to MNIST's mean pixel
(``--mean-pixel 33.5``) against the images as given (``--mean-pixel none``), on validation
digits.

For each rule named, the plain command with network seeds 10 and 11 on splits 10 and 11 (the
seeds and splits of the other studies, ``benchmarks/study_defaults.py``), ``--test 0`` (no
held-out digit is presented), once per ink; one JSON line per run goes to
``benchmarks/studies/ink-RULE-100.jsonl`` with the command, the commit, the validation accuracy
and the repetitions. A run already in the file is not run again.

    python benchmarks/study_ink.py --rules nearest int

writes ``docs/studies_ink.inc`` from the files (``--publish`` alone runs nothing).
"""
import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_mnist  # noqa: E402

INKS = ("33.5", "none")
RUNS = [(seed, split) for split in (10, 11) for seed in (10, 11)]


def run(rule, ink, seed, split, work):
    shown = ["brian-stdp", "mnist", "--rule", rule, "--seed", str(seed), "--split-seed",
             str(split), "--mean-pixel", ink, "--test", "0"]
    directory = os.path.join(work, f"{rule}-{ink}-{seed}-{split}")
    subprocess.run([sys.executable, "-m", "brian_stdp", *shown[1:], "--out", directory,
                    "--build-dir", os.path.join(directory, "build"), "--quiet"], check=True,
                   capture_output=True)
    with open(os.path.join(directory, "results.json")) as handle:
        results = json.load(handle)
    return {"command": " ".join(shown), **bench_mnist.git_commit(), "rule": rule,
            "mean_pixel": ink, "seed": seed, "split": split,
            "validation_accuracy": results["validation_accuracy"],
            "validation": results["data"]["validation_presentations"],
            "train": results["data"]["train_presentations"],
            "repeats": results["protocol"]["repeats"],
            "versions": results["versions"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", default=["nearest", "int"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", default=os.path.join(HERE, "study_runs", "ink"))
    parser.add_argument("--publish", action="store_true",
                        help="run nothing: write docs/studies_ink.inc from the files")
    args = parser.parse_args()
    if args.publish:
        args.rules = []
    jobs = []
    for rule in args.rules:
        path = os.path.join(HERE, "studies", f"ink-{rule}-100.jsonl")
        done = {(line["mean_pixel"], line["seed"], line["split"])
                for line in bench_mnist.read_lines(path)}
        jobs += [(rule, ink, seed, split, path) for ink in INKS for seed, split in RUNS
                 if (ink, seed, split) not in done]

    def work(job):
        rule, ink, seed, split, path = job
        line = run(rule, ink, seed, split, args.work)
        bench_mnist.append_line(path, line)
        print(f"{line['command']}: validation {100 * line['validation_accuracy']:.1f}%",
              flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for future in [pool.submit(work, job) for job in jobs]:
            future.result()
    table = ink_table()
    with open(os.path.join(os.path.dirname(HERE), "docs", "studies_ink.inc"), "w") as handle:
        handle.write(table)
    print(table)


def ink_table():
    """The docs' table of the ink study, from its files."""
    from bench_rules import list_table
    body, commits = [], set()
    for name in sorted(os.listdir(os.path.join(HERE, "studies"))):
        if not (name.startswith("ink-") and name.endswith(".jsonl")):
            continue
        lines = bench_mnist.read_lines(os.path.join(HERE, "studies", name))
        commits |= {line["commit"][:7] for line in lines}
        for ink in INKS:
            mine = [line for line in lines if line["mean_pixel"] == ink]
            if mine:
                repeats = sum(line["repeats"]["training"] for line in mine) / len(mine)
                body.append([f"``{mine[0]['rule']}``", f"``--mean-pixel {ink}``",
                             str(len(mine)),
                             bench_mnist.fmt([line["validation_accuracy"] for line in mine]),
                             f"{repeats:.0f}"])
    caption = ("``python benchmarks/study_ink.py`` (``benchmarks/studies/ink-RULE-100.jsonl``), "
               f"run at commit {', '.join(sorted(commits))} with the job's defaults of then "
               "(before the studies of the other settings): validation accuracy as mean ± sd "
               "(min–max) over the runs, and the digits shown again while training, per run.")
    return list_table(caption, ["rule", "ink", "runs", "validation accuracy",
                                "repetitions (training)"], body)


if __name__ == "__main__":
    main()
