"""Scaling: the cost of a step as the network grows while the spikes stay the same.

784 -> N for each rule and each N, in cpp_standalone, with the same input spikes (pre spike
probability ``--p-in`` per step) and the same number of post spikes per step in total
(``--post-spikes``, so each post neuron spikes with probability ``post_spikes / N``). If a
rule's work follows its spikes, the time per step grows far more slowly than the synapse count.
Printed per rule and size: time per simulated sample (350 steps), time per step, ns per synapse
per step, that step time relative to N = 400, compile time and the binary's peak memory. Each
time is the median of ``--repeats`` runs of one compiled binary.

    python benchmarks/bench_scaling.py --write-docs
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_rules import (N_PRE, STEPS_PER_SAMPLE, in_subprocess, list_table,  # noqa: E402
                         publish)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", default=["nearest", "full", "meta", "int"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 400, 1600, 6400])
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--p-in", type=float, default=0.01)
    parser.add_argument("--post-spikes", type=float, default=8.0,
                        help="post spikes per step over all N neurons (8 = 0.02 x 400)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    for rule_name in args.rules:
        for n_post in args.sizes:
            p_out = min(1.0, args.post_spikes / n_post)
            result = in_subprocess("standalone", rule_name, n_post, args.samples, args.repeats,
                                   args.p_in, p_out)
            row = {"rule": rule_name, "N": n_post, **result}
            rows.append(row)
            print(row, flush=True)
    publish(format_table(rows, args), args.write_docs, "benchmarks_scaling.inc")


def format_table(rows, args):
    caption = (f"cpp_standalone, 784 -> N, {args.p_in} input spike probability per step, "
               f"{args.post_spikes:g} post spikes per step in total; medians of {args.repeats} "
               "runs, produced by ``python benchmarks/bench_scaling.py`` in one run on this "
               "machine (2 cores).")
    header = ["rule", "N", "ms per sample", "us per step", "ns per synapse-step",
              "step time / step time at N = 400", "compile (s)", "peak memory (MB)"]
    reference = {row["rule"]: row.get("per_sample") for row in rows if row["N"] == 400}
    body = []
    for row in rows:
        per_sample = row.get("per_sample")
        if per_sample is None:
            cells = [f"failed: {row.get('error', '?')}"] + ["n/a"] * 5
        else:
            per_step = per_sample / STEPS_PER_SAMPLE
            base = reference.get(row["rule"])
            cells = [f"{1e3 * per_sample:.1f}", f"{1e6 * per_step:.0f}",
                     f"{1e9 * per_step / (N_PRE * row['N']):.2f}",
                     f"{per_sample / base:.2f}" if base else "n/a",
                     f"{row['compile']:.0f}", f"{row['peak_memory_mb']:.0f}"]
        body.append([row["rule"], row["N"]] + cells)
    return list_table(caption, header, body)

if __name__ == "__main__":
    main()
