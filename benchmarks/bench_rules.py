"""Time per simulated sample: brian_stdp against SPAIC's way of computing and hand-written Brian2.

One 784 -> N network per rule: Poisson inputs (pre spike probability ``--p-in`` per step),
Poisson post spikes (``--p-out``), all-to-all learning synapses, dt = 1 ms, a "sample" = 350
steps. Compared, in ONE run of this script:

- ``spaic``: a dense per-step implementation of the rule exactly as SPAIC executes it (every
  matrix op of SPAIC's learner, PyTorch CPU, one thread, batch 1). Needs ``torch``
  (``pip install torch==2.13.0``); without it the row says so.
- ``standalone`` / ``cython``: brian_stdp in cpp_standalone (compiled once, timed by the
  binary's own run clock) and in runtime cython (timed after a warm-up run that compiles).
- ``hand``: the same network with the rule typed by hand in the usual Brian2 idiom (event-driven
  traces, a summed variable for the row sums, ``run_regularly`` for normalising), standalone;
  for nearest and full.

Each time is the median of ``--repeats`` runs. Prints a table and, with ``--write-docs``, writes
``docs/benchmarks_results.inc``.

    python benchmarks/bench_rules.py --sizes 100 400 --write-docs
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS_PER_SAMPLE = 350
N_PRE = 784
RULE_NAMES = {"nearest": "nearest_online_STDP", "full": "full_online_STDP",
              "meta": "meta_nearest_online_STDP", "int": "PostPreIntSTDP"}


# ------------------------------------------------------------------------------------------
# SPAIC's way: dense tensors, every step
def spaic_dense(rule, n_post, n_samples, p_in, p_out, seed=0):
    import torch
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(seed)
    steps = n_samples * STEPS_PER_SAMPLE
    pre = (torch.rand(steps, N_PRE, generator=gen) < p_in).float()
    post = (torch.rand(steps, n_post, generator=gen) < p_out).float()
    W = torch.rand(n_post, N_PRE, generator=gen) * 0.3
    decay = float(np.exp(-1 / 20))
    start = time.perf_counter()
    for sample in range(n_samples):
        xi = torch.zeros(N_PRE)
        xo = torch.zeros(n_post)
        dw = torch.zeros(n_post, N_PRE)
        if rule == "int":
            W = W.round()
            xi = torch.zeros(N_PRE, dtype=torch.int32)
            xo = torch.zeros(n_post, dtype=torch.int32)
            thresh = torch.full((n_post,), 213)
        if rule == "meta" and sample == 0:
            w_mean = W.mean(1, keepdim=True)
            aw_mean = w_mean.mean()
            xo_meta = torch.zeros(n_post)
        for k in range(STEPS_PER_SAMPLE):
            step = sample * STEPS_PER_SAMPLE + k
            p, q = pre[step - 1] if k else pre[0] * 0, post[step - 1] if k else post[0] * 0
            if rule == "nearest":
                xi = (1 - p) * (decay * xi) + p
                xo = (1 - q) * (decay * xo) + q
                dw_new = 0.01 * torch.outer(q, xi) - 1e-4 * torch.outer(xo, p)
                W.add_(dw)
                W = 78.4 * W / W.abs().sum(1, keepdim=True)
                W.clamp_(0, 1)
                dw = dw_new
            elif rule == "full":
                xi = p + decay * xi
                xo = q + decay * xo
                dw_new = 0.01 * torch.outer(q, xi) - 1e-4 * torch.outer(xo, p)
                W.add_(dw)
                if k == STEPS_PER_SAMPLE - 1:
                    W = 78.4 * W / W.abs().sum(1, keepdim=True)
                W.clamp_(0, 1)
                dw = dw_new
            elif rule == "meta":
                xi = np.exp(-1 / 30) * xi * (p <= 0) + p
                xo_meta = np.exp(-1 / 200) * xo_meta * (q <= 0) + q
                dwm = 0.01 * torch.outer(q, xi) - 1e-4 * torch.outer(xo_meta, p)
                w_mean = w_mean - 0.1 * 1e-4 * (xo_meta - xo_meta.mean()).unsqueeze(1)
                w_mean = w_mean * aw_mean / w_mean.mean()
                soft = ((dwm < 0) * torch.exp(-0.2 / torch.clamp_min(W, 1e-4))
                        + (dwm > 0) * torch.exp(-0.2 / torch.clamp_min(1 - W, 1e-4)))
                W = W * w_mean / torch.clamp_min(W.mean(1, keepdim=True), 1e-6) + dwm * soft
            else:  # int, this step's spikes
                p, q = pre[step].bool(), post[step].bool()
                xi = (31169 * xi) >> 15
                xo = (31169 * xo) >> 15
                xi[p] = 127
                xo[q] = 127

                def sround(x):
                    return (x >> 14) + (torch.randint(0, 1 << 14, x.shape, generator=gen)
                                        < (x & 16383)).int()
                pre_term = sround((xo.unsqueeze(1) * 14).repeat(1, N_PRE))
                W += pre_term * p.unsqueeze(0)
                post_term = sround((xi.unsqueeze(0) * 141).repeat(n_post, 1))
                W += post_term * q.unsqueeze(1)
                W[thresh > 4915] = torch.div(W[thresh > 4915], 2, rounding_mode="floor")
                W.clamp_(0, 109)
    return (time.perf_counter() - start) / n_samples


# ------------------------------------------------------------------------------------------
# Brian2 networks
def nearest_with_changed_row_passes(**parameters):
    """nearest_online rendered the other way: instead of one pass over every synapse per step,
    a pass over the synapses of only the rows that need one (brian_stdp's row-pass machinery,
    as full_online uses at run ends): the rows a pathway changed, the rows whose sum is not
    w_norm (a clamp cut it, or a zero row) and every row on the first step of a run() call.
    A row no pathway changed and whose sum is w_norm to 1e-9 is left as it is, where SPAIC
    multiplies it by a factor within 1e-9 of 1."""
    from brian_stdp import NearestOnlineSTDP
    from brian_stdp.rules import common
    from brian_stdp.run_state import FIRST_STEP_OF_CALL
    counted = "row_sum += abs(w) - abs(w_before)\n"

    def counting_changes(code):
        """The pathway code, also counting the row's changed weights."""
        assert counted in code, "nearest_online's pathways no longer keep row_sum this way"
        return code.replace(counted, counted + "row_changes += int(w != w_before)\n")

    every_synapse = [operation for operation in NearestOnlineSTDP.step_operations
                     if operation[2] == "after_synapses"]
    assert len(every_synapse) == 2, "expected nearest_online's row operation and its pass"

    class NearestChangedRowPasses(NearestOnlineSTDP):
        name = ""  # not a rule of the package: kept out of its registry
        post_model = NearestOnlineSTDP.post_model + "row_changes : 1\n"
        on_pre = {"learn_pre": counting_changes(NearestOnlineSTDP.on_pre["learn_pre"])}
        on_post = {"learn_post": counting_changes(NearestOnlineSTDP.on_post["learn_post"])}
        step_operations = [operation for operation in NearestOnlineSTDP.step_operations
                           if operation not in every_synapse]
        row_pass = {
            "condition": f"plastic and (row_changes + {FIRST_STEP_OF_CALL} + "
                         "int(abs(row_sum - w_norm) > 1e-9 * w_norm)) > 0",
            "row_code": f"row_divisor = {common.NORMALISING_DIVISOR}\n"
                        f"row_factor = {common.ROW_FACTOR}\nrow_sum = 0\nrow_changes = 0",
            "code": f"w = {common.NORMALISED_BY_FACTOR}\nrow_sum += abs(w)\n"}

    return NearestChangedRowPasses(**parameters)


def build_network(b2, rule_name, n_post, p_in, p_out, hand=False):
    from brian_stdp import rule_class
    dt = b2.defaultclock.dt
    inputs = b2.PoissonGroup(N_PRE, rates=p_in / dt)
    if rule_name == "int":
        target = b2.NeuronGroup(n_post, "thresh : 1", threshold="rand() < p_out",
                                namespace={"p_out": p_out})
        target.thresh = 213
    elif hand:
        target = b2.NeuronGroup(n_post, "wsum : 1", threshold="rand() < p_out",
                                namespace={"p_out": p_out})
    else:
        target = b2.PoissonGroup(n_post, rates=p_out / dt)
    if hand:
        full = rule_name == "full"
        S = b2.Synapses(inputs, target, """
            w : 1
            dtrace_in/dt = -trace_in / tau : 1 (event-driven)
            dtrace_out/dt = -trace_out / tau : 1 (event-driven)
            wsum_post = w : 1 (summed)
            """,
            on_pre=(("trace_in += 1" if full else "trace_in = 1")
                    + "\nw = clip(w - Apre * trace_out, 0, 1)"),
            on_post=(("trace_out += 1" if full else "trace_out = 1")
                     + "\nw = clip(w + Apost * trace_in, 0, 1)"),
            namespace={"tau": 20 * dt, "Apre": 1e-4, "Apost": 1e-2, "w_norm": 78.4})
        S.connect()
        S.w = "rand() * 0.3"
        if full:
            S.run_regularly("w = clip(w * w_norm / wsum_post, 0, 1)",
                            dt=STEPS_PER_SAMPLE * dt, when="end")
        else:
            S.run_regularly("w = clip(w * w_norm / wsum_post, 0, 1)", when="end")
        return [inputs, target, S]
    if rule_name == "nearest-row-passes":
        rule = nearest_with_changed_row_passes()
    else:
        rule = rule_class(RULE_NAMES[rule_name])()
    S = rule.synapses(inputs, target, period=STEPS_PER_SAMPLE * dt)
    S.connect()
    if rule_name == "int":
        S.w = "int(rand() * 60)"
    else:
        S.w = "rand() * 0.3"
    return [inputs, target, S]


# Runs the standalone binary and writes its peak resident memory (kB) to a file: the worker's
# own rusage would mix in the compiler's.
PEAK_MEMORY_WRAPPER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as handle:
    handle.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def brian_worker(kind, rule_name, n_post, n_samples, repeats, p_in, p_out, options=None):
    """``options``: ``openmp_threads`` (int), ``float32`` (bool)."""
    import brian2 as b2
    options = options or {}
    b2.defaultclock.dt = 1 * b2.ms
    if options.get("float32"):
        b2.prefs.core.default_float_dtype = np.float32
    duration = n_samples * STEPS_PER_SAMPLE * b2.ms
    if kind in ("standalone", "hand"):
        directory = tempfile.mkdtemp(prefix="bench_")
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
        b2.prefs.devices.cpp_standalone.openmp_threads = options.get("openmp_threads", 0)
        peak_file = os.path.join(directory, "peak_memory_kb.txt")
        b2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c",
                                                        PEAK_MEMORY_WRAPPER, peak_file, "./main"]
        b2.seed(1)
        objects = build_network(b2, rule_name, n_post, p_in, p_out, hand=kind == "hand")
        row_passes = None
        if rule_name == "nearest-row-passes":
            row_passes = b2.EventMonitor(objects[-1]._brian_stdp.post_state, "row_pass",
                                         record=False)
            objects.append(row_passes)
        net = b2.Network(objects)
        net.run(duration)
        start = time.perf_counter()
        b2.device.build(directory=directory, compile=True, run=False)
        compile_time = time.perf_counter() - start
        times, peaks = [], []
        for _ in range(repeats):
            b2.device.run(directory=directory, with_output=False, run_args={})
            times.append(b2.device._last_run_time)
            with open(peak_file) as handle:
                peaks.append(int(handle.read()))
        result = {"per_sample": statistics.median(times) / n_samples, "compile": compile_time,
                  "peak_memory_mb": max(peaks) / 1024}
        if row_passes is not None:
            result["rows_passed"] = int(row_passes.num_events) / (
                n_samples * STEPS_PER_SAMPLE * n_post)
        return result
    b2.prefs.codegen.target = "cython"
    net = b2.Network(build_network(b2, rule_name, n_post, p_in, p_out))
    start = time.perf_counter()
    net.run(2 * b2.ms)  # compiles
    compile_time = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        net.run(duration)
        times.append(time.perf_counter() - start)
    return {"per_sample": statistics.median(times) / n_samples, "compile": compile_time}


def in_subprocess(*args):
    result = subprocess.run([sys.executable, __file__, "--worker", json.dumps(args)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", default=["nearest", "full", "meta", "int"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 400])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--p-in", type=float, default=0.01)
    parser.add_argument("--p-out", type=float, default=0.02)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--variants", action="store_true",
                        help="instead: standalone with float32 and with 2 OpenMP threads, "
                             "against the default (double, one thread), at the first size")
    parser.add_argument("--row-passes", action="store_true",
                        help="instead: nearest_online standalone as rendered (one pass over "
                             "every synapse per step) against passes over only the rows that "
                             "need one, at each size with --post-spikes post spikes per step")
    parser.add_argument("--post-spikes", type=float, default=8.0,
                        help="with --row-passes: post spikes per step over all N neurons "
                             "(8 = 0.02 x 400)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(brian_worker(*json.loads(args.worker))))
        return
    if args.variants:
        return variants(args)
    if args.row_passes:
        return row_passes(args)
    rows = []
    for rule_name in args.rules:
        for n_post in args.sizes:
            row = {"rule": rule_name, "N": n_post}
            try:
                row["spaic"] = statistics.median(
                    spaic_dense(rule_name, n_post, max(1, args.samples // 2), args.p_in,
                                args.p_out, seed=r) for r in range(args.repeats))
            except ImportError:
                row["spaic"] = None
            for kind in ("standalone", "cython") + (("hand",) if rule_name in ("nearest", "full")
                                                    else ()):
                res = in_subprocess(kind, rule_name, n_post, args.samples, args.repeats,
                                    args.p_in, args.p_out)
                row[kind] = res.get("per_sample")
                row[kind + "_compile"] = res.get("compile")
                if "error" in res:
                    row[kind + "_error"] = res["error"]
            rows.append(row)
            print(format_row(row), flush=True)
    publish(format_table(rows, args), args.write_docs, "benchmarks_results.inc")


def variants(args):
    """float32 and OpenMP against the default standalone build, each rule, one size."""
    n_post = args.sizes[0]
    kinds = [("double, 1 thread", {}), ("float32, 1 thread", {"float32": True}),
             ("double, 2 OpenMP threads", {"openmp_threads": 2})]
    from brian_stdp import checks, rule_class
    body = []
    for rule_name in args.rules:
        # brian_stdp refuses OpenMP threads for a rule whose pass over every synapse adds into
        # row sums (Brian2's OpenMP loop would race on them)
        refused = checks.row_writes_per_synapse(rule_class(RULE_NAMES[rule_name])())
        results = [{"refused": refused} if options.get("openmp_threads", 0) > 1 and refused
                   else in_subprocess("standalone", rule_name, n_post, args.samples,
                                      args.repeats, args.p_in, args.p_out, options)
                   for _, options in kinds]
        print(rule_name, results, flush=True)
        base = results[0].get("per_sample")
        cells = [_variant_cell(result, None if result is results[0] else base)
                 for result in results]
        body.append([rule_name] + cells)
    caption = (f"Standalone time per simulated sample at 784 -> {n_post} (ms; median of "
               f"{args.repeats} runs), produced by ``python benchmarks/bench_rules.py "
               f"--variants --sizes {n_post}`` in one run on this machine (2 cores).")
    publish(list_table(caption, ["rule"] + [name for name, _ in kinds], body),
            args.write_docs, "benchmarks_variants.inc")


def _variant_cell(result, base):
    if "refused" in result:
        return f"refused (races on {', '.join(result['refused'])})"
    if "error" in result:
        return f"failed: {result['error']}"
    time = result["per_sample"]
    return _ms(time) + ("" if base is None else f" ({base / time:.2f}x)")


def row_passes(args):
    """nearest_online's one pass over every synapse per step against passes over the rows that
    need one (``nearest_with_changed_row_passes``), standalone, at each size."""
    body = []
    for n_post in args.sizes:
        p_out = args.post_spikes / n_post
        dense, by_rows = (in_subprocess("standalone", name, n_post, args.samples, args.repeats,
                                         args.p_in, p_out)
                          for name in ("nearest", "nearest-row-passes"))
        print(n_post, dense, by_rows, flush=True)
        passed = by_rows.get("rows_passed")
        body.append([f"784 x {n_post}", f"{p_out:.5g}",
                     "n/a" if passed is None else f"{100 * passed:.0f}%",
                     _ms(dense.get("per_sample")), _ms(by_rows.get("per_sample")),
                     _ratio(by_rows.get("per_sample"), dense.get("per_sample"))])
    caption = (f"nearest_online in cpp_standalone, time per simulated sample (ms; median of "
               f"{args.repeats} runs; pre spike probability {args.p_in} per step, "
               f"{args.post_spikes:g} post spikes per step over all N neurons), produced by "
               f"``python benchmarks/bench_rules.py --row-passes --sizes "
               f"{' '.join(map(str, args.sizes))}`` in one run on this machine (2 cores).")
    header = ["synapses", "post spike probability", "rows passed over per step",
              "one pass over every synapse (ms)", "passes over the rows that need one (ms)",
              "row passes / one pass"]
    publish(list_table(caption, header, body), args.write_docs, "benchmarks_row_passes.inc")


def list_table(caption, header, body):
    """An rst ``list-table`` under ``caption``: the ``header`` cells, then each row of ``body``."""
    lines = [caption, "", ".. list-table::", "   :header-rows: 1", ""]
    for cells in [header] + body:
        lines += [f"   * - {cells[0]}"] + [f"     - {cell}" for cell in cells[1:]]
    return "\n".join(lines) + "\n"


def publish(table, write_docs, include_name):
    """Print ``table``; with ``--write-docs`` also write it to ``docs/<include_name>``."""
    print(table)
    if write_docs:
        with open(os.path.join(HERE, "..", "docs", include_name), "w") as handle:
            handle.write(table)


def _ms(value):
    return "n/a" if value is None else f"{1e3 * value:.1f}"


def _ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.1f}x"


def format_row(row):
    return (f"{row['rule']:8s} 784->{row['N']:<5d} spaic {_ms(row['spaic'])} ms  "
            f"standalone {_ms(row.get('standalone'))} ms  cython {_ms(row.get('cython'))} ms  "
            f"hand {_ms(row.get('hand'))} ms  "
            + " ".join(f"{k}: {v}" for k, v in row.items() if k.endswith("_error")))


def format_table(rows, args):
    caption = ("Time per simulated sample (350 steps of dt = 1 ms; pre spike probability "
               f"{args.p_in}, post {args.p_out} per step; median of {args.repeats} runs), "
               "produced by ``python benchmarks/bench_rules.py`` in one run on this machine "
               "(2 cores).")
    header = ["rule", "synapses", "SPAIC-style dense (ms)", "standalone (ms)", "cython (ms)",
              "hand-written Brian2 (ms)", "SPAIC / standalone", "hand / standalone",
              "compile (s)"]
    body = [[row["rule"], f"784 x {row['N']}", _ms(row["spaic"]), _ms(row.get("standalone")),
             _ms(row.get("cython")), _ms(row.get("hand")),
             _ratio(row["spaic"], row.get("standalone")),
             _ratio(row.get("hand"), row.get("standalone")),
             f"{row.get('standalone_compile') or 0:.0f}"] for row in rows]
    return list_table(caption, header, body)

if __name__ == "__main__":
    main()
