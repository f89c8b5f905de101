"""Time per simulated sample: brian_stdp against SPAIC's way of computing and hand-written Brian2.

One 784 -> N network per rule: Poisson inputs (pre spike probability ``--p-in`` per step),
Poisson post spikes (``--p-out``), all-to-all learning synapses, dt = 1 ms, a "sample" = 350
steps. Compared, in ONE run of this script:

- ``spaic``: a dense per-step implementation of the rule exactly as SPAIC executes it (every
  matrix op of SPAIC's learner, PyTorch CPU, float32, one thread, batch 1): ``spaic_dense_run``,
  which tests/test_benchmarks.py checks against SPAIC's recordings step by step. Needs ``torch``
  (``torch==2.13.0``, installed by the ``bench`` extra: ``pip install -e '.[bench]'``); without it
  the column says n/a.
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
#: The MNIST jobs' compiled programs (--lazy-rows), kept between runs of the script.
MNIST_BUILDS = os.path.join(HERE, "mnist_runs", "builds")
#: The rules with a lazy rendering: their plain names here are the eager one (the reference),
#: NAME-lazy the lazy one (their default).
LAZY_RULES = ("nearest", "meta")
RULE_NAMES = {"nearest": "nearest_online_STDP", "full": "full_online_STDP",
              "meta": "meta_nearest_online_STDP", "int": "PostPreIntSTDP"}


# ------------------------------------------------------------------------------------------
# SPAIC's way: dense tensors, every step
#: SPAIC's default learner constants (per step), by rule; ``spaic_dense_run`` takes any of them
#: as a keyword. The trace decays are time constants of 20, 30 and 200 steps.
SPAIC_DEFAULTS = {
    "nearest": {"Apost": 1e-2, "Apre": 1e-4, "trace_pre": float(np.exp(-1 / 20)),
                "trace_post": float(np.exp(-1 / 20)), "w_norm": 78.4},
    "full": {"Apost": 1e-2, "Apre": 1e-4, "trace_decay": float(np.exp(-1 / 20)),
             "w_norm": 78.4},
    "meta": {"Apost": 1e-2, "Apre": 1e-4, "pre_decay": float(np.exp(-1 / 30)),
             "post_decay": float(np.exp(-1 / 200)), "w_min": 0.0, "w_max": 1.0},
    "int": {"trace_decay": 31169, "shift_spike_trace": 15, "trace_scale": 127,
            "max_threshold": 4915, "shift": 14, "nu0": 14, "nu1": 141, "w_min": 0, "w_max": 109},
}
#: the threshold of SPAIC's integer Diehl & Cook neuron before any spike (the int rule reads it)
INT_START_THRESHOLD = 213


def spaic_build(rule, w_init, w_norm=78.4, w_min=0, w_max=109):
    """SPAIC's build pass on the weights given: nearest normalises each post row to ``w_norm``
    and clamps to [0, 1], full clamps to [0, 1], the int rule clamps to [w_min, w_max], Meta
    keeps them."""
    if rule == "nearest":
        return (w_norm * (w_init / w_init.abs().sum(1, keepdim=True))).clamp(0.0, 1.0)
    if rule == "full":
        return w_init.clamp(0.0, 1.0)
    if rule == "int":
        return w_init.clamp(w_min, w_max)
    return w_init.clone()


def spaic_dense_run(rule, pre, post, w_start, steps_per_sample, thresh=None, draws=None,
                    generator=None, record=False, **parameters):
    """The rule as SPAIC executes it, every step one dense op per op of SPAIC's learner
    (batch 1), over the runs ("samples") of ``steps_per_sample`` steps in ``pre``/``post``.

    ``pre [total_steps, n_pre]``, ``post [total_steps, n_post]``: the spikes emitted at each
    step (0/1); ``w_start [n_post, n_pre]``: the weights after SPAIC's build pass (its float
    dtype is the computation's; SPAIC's is float32). ``parameters``: the rule's constants, SPAIC's
    defaults (``SPAIC_DEFAULTS``) for those not given. At each run start SPAIC's resets: the
    traces and nearest/full's stored change are cleared; Meta's output trace and homeostatic
    targets carry over (the targets are taken from ``w_start`` at the first step).
    Timing: nearest, full and Meta learn at step k from the spikes of step k-1 (none at a run's
    first step), and nearest and full apply each change one step later still; the int rule learns
    from step k's spikes at step k.

    For ``"int"``: ``thresh [runs, steps, n_post]`` is the post neurons' threshold at each step
    (default: SPAIC's starting threshold 213 throughout, so no row is halved); ``draws [runs,
    steps, 2, n_post, n_pre]`` the uniform integers in [0, 2**shift) of the stochastic rounding,
    ``[..., 0, :, :]`` for the pre-synaptic term and ``[..., 1, :, :]`` for the post-synaptic term
    (default: drawn with ``torch.randint`` from ``generator``, as SPAIC draws them). A row whose
    threshold exceeds ``max_threshold`` is halved as SPAIC's ``weight >>= 1`` on float weights
    (PyTorch before the float shift was removed): ``w / 2``, fractions kept. (SPAIC shifts the
    whole matrix every step, by 0 or 1; here only the halved rows are divided, on the steps
    that halve any: the one op where this baseline does less work than SPAIC.)

    Returns the final weights; with ``record=True`` also the weights after every step,
    ``[runs, steps_per_sample, n_post, n_pre]``.
    """
    import torch
    unknown = set(parameters) - set(SPAIC_DEFAULTS[rule])
    if unknown:
        raise TypeError(f"{rule}: unknown parameters {sorted(unknown)}")
    c = {**SPAIC_DEFAULTS[rule], **parameters}
    W = torch.as_tensor(w_start).clone()
    if not W.is_floating_point():
        W = W.float()
    n_post, n_pre = W.shape
    pre = torch.as_tensor(pre).reshape(-1, n_pre)
    post = torch.as_tensor(post).reshape(-1, n_post)
    n_steps = pre.shape[0]
    assert post.shape[0] == n_steps and n_steps % steps_per_sample == 0
    n_runs = n_steps // steps_per_sample
    frames = []
    if rule == "int":
        pre, post = pre.bool(), post.bool()
        if thresh is None:
            thresh = torch.full((n_steps, n_post), INT_START_THRESHOLD)
        halve = torch.as_tensor(thresh).reshape(n_steps, n_post) > c["max_threshold"]
        halving = halve.any(1).tolist()
        if draws is not None:
            draws = torch.as_tensor(draws).reshape(n_steps, 2, n_post, n_pre)
        shift, low_bits = c["shift"], (1 << c["shift"]) - 1
        decay, shift_trace = c["trace_decay"], c["shift_spike_trace"]
        spike_value = c["trace_scale"] if shift_trace > 0 else 1
        nu0, nu1, w_min, w_max = c["nu0"], c["nu1"], c["w_min"], c["w_max"]
        for sample in range(n_runs):
            xi = torch.zeros(n_pre, dtype=torch.int32)
            xo = torch.zeros(n_post, dtype=torch.int32)
            for k in range(steps_per_sample):
                step = sample * steps_per_sample + k   # this step's spikes
                p, q = pre[step], post[step]
                xi = (decay * xi) >> shift_trace
                xo = (decay * xo) >> shift_trace
                xi[p] = spike_value
                xo[q] = spike_value
                pre_x = (xo.unsqueeze(1) * nu0).repeat(1, n_pre)
                post_x = (xi.unsqueeze(0) * nu1).repeat(n_post, 1)
                if draws is None:
                    pre_draw = torch.randint(0, 1 << shift, pre_x.shape, generator=generator)
                    post_draw = torch.randint(0, 1 << shift, post_x.shape, generator=generator)
                else:
                    pre_draw, post_draw = draws[step, 0], draws[step, 1]
                # stochastic rounding of x / 2**shift: up iff the draw < the remainder
                W += ((pre_x >> shift) + (pre_draw < (pre_x & low_bits)).int()) * p.unsqueeze(0)
                W += ((post_x >> shift) + (post_draw < (post_x & low_bits)).int()) * q.unsqueeze(1)
                if halving[step]:
                    W[halve[step]] /= 2
                W.clamp_(w_min, w_max)
                if record:
                    frames.append(W.clone())
    else:
        pre, post = pre.to(W.dtype), post.to(W.dtype)
        no_pre, no_post = torch.zeros(n_pre, dtype=W.dtype), torch.zeros(n_post, dtype=W.dtype)
        Apost, Apre = c["Apost"], c["Apre"]
        w_norm = c.get("w_norm")
        if rule == "meta":
            pre_decay, post_decay, w_min, w_max = (c["pre_decay"], c["post_decay"], c["w_min"],
                                                   c["w_max"])
            xo = torch.zeros(n_post, dtype=W.dtype)   # [stay]: carried over the runs
            w_mean = W.mean(1, keepdim=True)
            aw_mean = w_mean.mean()
        elif rule == "nearest":
            trace_pre, trace_post = c["trace_pre"], c["trace_post"]
        else:
            decay = c["trace_decay"]
        for sample in range(n_runs):
            xi = torch.zeros(n_pre, dtype=W.dtype)
            if rule != "meta":
                xo = torch.zeros(n_post, dtype=W.dtype)
                dw = torch.zeros(n_post, n_pre, dtype=W.dtype)
            for k in range(steps_per_sample):
                step = sample * steps_per_sample + k   # the previous step's spikes
                p, q = (pre[step - 1], post[step - 1]) if k else (no_pre, no_post)
                if rule == "nearest":
                    xi = (1 - p) * (trace_pre * xi) + p
                    xo = (1 - q) * (trace_post * xo) + q
                    dw_new = Apost * torch.outer(q, xi) - Apre * torch.outer(xo, p)
                    W.add_(dw)
                    W = w_norm * torch.div(W, W.abs().sum(1, keepdim=True))
                    W.clamp_(0.0, 1.0)
                    dw = dw_new
                elif rule == "full":
                    xi = p + decay * xi
                    xo = q + decay * xo
                    dw_new = Apost * torch.outer(q, xi) - Apre * torch.outer(xo, p)
                    W.add_(dw)
                    if k == steps_per_sample - 1:
                        W = w_norm * torch.div(W, W.abs().sum(1, keepdim=True))
                    W.clamp_(0.0, 1.0)
                    dw = dw_new
                else:  # meta: no delay, no clamp, homeostasis of the row means
                    xi = pre_decay * xi * (p <= 0) + p
                    xo = post_decay * xo * (q <= 0) + q
                    dwm = Apost * torch.outer(q, xi) - Apre * torch.outer(xo, p)
                    w_mean = w_mean - 0.1 * Apre * (xo - xo.mean()).unsqueeze(1)
                    w_mean = w_mean * aw_mean / w_mean.mean()
                    soft = ((dwm < 0) * torch.exp(-0.2 / torch.clamp_min(W - w_min, 1e-4))
                            + (dwm > 0) * torch.exp(-0.2 / torch.clamp_min(w_max - W, 1e-4)))
                    W = W * w_mean / torch.clamp_min(W.mean(1, keepdim=True), 1e-6) + dwm * soft
                if record:
                    frames.append(W.clone())
    if record:
        return W, torch.stack(frames).reshape(n_runs, steps_per_sample, n_post, n_pre)
    return W


def spaic_dense_inputs(rule, n_post, n_samples, p_in, p_out, seed=0):
    """The timed run's inputs on 784 -> ``n_post`` (float32): Poisson spikes ``pre``, ``post``,
    weights ``rand * 0.3`` (for the int rule ``int(rand * 60)``) after SPAIC's build pass, and
    the generator the int rule then draws from."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    steps = n_samples * STEPS_PER_SAMPLE
    pre = (torch.rand(steps, N_PRE, generator=gen) < p_in).float()
    post = (torch.rand(steps, n_post, generator=gen) < p_out).float()
    W = torch.rand(n_post, N_PRE, generator=gen)
    W = (W * 60).floor() if rule == "int" else W * 0.3
    return pre, post, spaic_build(rule, W), gen


def spaic_dense(rule, n_post, n_samples, p_in, p_out, seed=0):
    """Seconds per sample of ``spaic_dense_run`` (one thread) on ``spaic_dense_inputs``, timing
    the step loop only; and the weights it ended on."""
    import torch
    torch.set_num_threads(1)
    pre, post, W, gen = spaic_dense_inputs(rule, n_post, n_samples, p_in, p_out, seed)
    start = time.perf_counter()
    W = spaic_dense_run(rule, pre, post, W, STEPS_PER_SAMPLE, generator=gen)
    return (time.perf_counter() - start) / n_samples, W


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
    options = {}
    if rule_name == "nearest-row-passes":
        rule = nearest_with_changed_row_passes()
    elif rule_name in ("nearest-lazy", "meta-lazy"):
        rule, options = rule_class(rule_name[:-len("-lazy")])(), {"row_scaling": "lazy"}
    elif rule_name in LAZY_RULES:
        # SPAIC's every-row pass, the reference rendering the tables compare the lazy one with
        rule, options = rule_class(rule_name)(), {"row_scaling": "eager"}
    else:
        rule = rule_class(RULE_NAMES[rule_name])()
    S = rule.synapses(inputs, target, period=STEPS_PER_SAMPLE * dt, **options)
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


def in_subprocess(*args, script=__file__):
    """``script --worker ARGS`` (this script's by default) in a fresh process: the dict its
    last line prints as JSON, or ``{"error": its last line of stderr}``."""
    result = subprocess.run([sys.executable, script, "--worker", json.dumps(args)],
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
    parser.add_argument("--row-passes", action="store_true",
                        help="instead: nearest_online standalone as rendered (one pass over "
                             "every synapse per step) against passes over only the rows that "
                             "need one, at each size with --post-spikes post spikes per step")
    parser.add_argument("--lazy-rows", action="store_true",
                        help="instead: each of --rules that has a lazy rendering (nearest, "
                             "meta) with row_scaling='eager' and 'lazy', full_online and "
                             "SPAIC's dense step of the rule, at each size")
    parser.add_argument("--mnist-digits", type=int, default=500,
                        help="with --lazy-rows: training digits of the MNIST jobs timed")
    parser.add_argument("--mnist-long-digits", type=int, default=1500,
                        help="with --lazy-rows: training digits of the longer MNIST jobs")
    parser.add_argument("--mnist-long-epochs", type=int, default=3,
                        help="with --lazy-rows: their passes over those digits")
    parser.add_argument("--post-spikes", type=float, default=8.0,
                        help="with --row-passes: post spikes per step over all N neurons "
                             "(8 = 0.02 x 400)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(brian_worker(*json.loads(args.worker))))
        return
    if args.row_passes:
        return row_passes(args)
    if args.lazy_rows:
        return lazy_rows(args)
    rows = []
    for rule_name in args.rules:
        for n_post in args.sizes:
            row = {"rule": rule_name, "N": n_post}
            try:
                row["spaic"] = statistics.median(
                    spaic_dense(rule_name, n_post, max(1, args.samples // 2), args.p_in,
                                args.p_out, seed=r)[0] for r in range(args.repeats))
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


def lazy_rows(args):
    """Each of ``args.rules`` with a lazy rendering, both renderings against full_online (whose
    cost follows its spikes) and SPAIC's dense step of the rule, in cpp_standalone and runtime
    cython at each size, then in the MNIST job; a docs table per rule."""
    for rule in [r for r in args.rules if r in LAZY_RULES]:
        publish(lazy_rows_table(rule, args), args.write_docs,
                "benchmarks_lazy_rows.inc" if rule == "nearest"
                else f"benchmarks_lazy_rows_{rule}.inc")


def lazy_rows_table(rule, args):
    title = {"nearest": "nearest_online", "meta": "Meta_nearest_online"}[rule]
    body = []
    for n_post in args.sizes:
        try:
            spaic = statistics.median(
                spaic_dense(rule, n_post, max(1, args.samples // 2), args.p_in,
                            args.p_out, seed=r)[0] for r in range(args.repeats))
        except ImportError:
            spaic = None
        for kind in ("standalone", "cython"):
            eager, lazy, full = (in_subprocess(kind, name, n_post, args.samples, args.repeats,
                                               args.p_in, args.p_out).get("per_sample")
                                 for name in (rule, f"{rule}-lazy", "full"))
            print(rule, n_post, kind, spaic, eager, lazy, full, flush=True)
            body.append([f"784 x {n_post}", kind, _ms(spaic), _ms(eager), _ms(lazy), _ms(full),
                         _ratio(eager, lazy), _ratio(lazy, full), _ratio(spaic, lazy)])
    command = (f"``python benchmarks/bench_rules.py --lazy-rows --rules {rule} --sizes "
               f"{' '.join(map(str, args.sizes))}``")
    caption = (f"{title}'s two renderings, time per simulated sample (350 steps of "
               f"dt = 1 ms; ms; median of {args.repeats} runs; pre spike probability "
               f"{args.p_in}, post {args.p_out} per step), produced by {command} in one run on "
               "this machine (2 cores).")
    header = ["synapses", "Brian2", "SPAIC's dense step", "eager", "lazy", "full_online",
              "eager / lazy", "lazy / full_online", "SPAIC / lazy"]
    table = list_table(caption, header, body)
    body = []
    for n_post in args.sizes:
        per_digit = {name: mnist_per_training_digit(*name, n_post, args.mnist_digits)
                     for name in ((rule, "eager"), (rule, "lazy"), ("full", "eager"))}
        print(rule, n_post, per_digit, flush=True)
        eager, lazy, full = per_digit.values()
        body.append([str(n_post), _ms(eager), _ms(lazy), _ms(full), _ratio(eager, lazy),
                     _ratio(eager, full), _ratio(lazy, full)])
    caption = (f"The MNIST job (``brian-stdp mnist --rule {rule} --train {args.mnist_digits}``, "
               "cpp_standalone), ms per training digit as the job reports it, in the same run "
               "of the script.")
    header = ["neurons", f"{rule}, eager", f"{rule}, lazy", "full_online", "eager / lazy",
              "eager / full_online", "lazy / full_online"]
    table += "\n" + list_table(caption, header, body)
    # Longer training: nearest's weights reach the bound 1, and the lazy rendering passes over
    # the rows that may clip, row by row, where the eager one streams through memory.
    body = []
    n_post, n_digits, epochs = 100, args.mnist_long_digits, args.mnist_long_epochs
    per_digit = {name: mnist_per_training_digit(*name, n_post, n_digits, epochs)
                 for name in ((rule, "eager"), (rule, "lazy"), ("full", "eager"))}
    print(rule, n_post, "long", per_digit, flush=True)
    eager, lazy, full = per_digit.values()
    body.append([str(n_post), _ms(eager), _ms(lazy), _ms(full), _ratio(eager, lazy),
                 _ratio(eager, full), _ratio(lazy, full)])
    caption = (f"The MNIST job trained longer (``brian-stdp mnist --rule {rule} --train "
               f"{n_digits} --epochs {epochs}``, {n_digits * epochs} training presentations), "
               "ms per training digit over the whole training, in the same run of the script.")
    return table + "\n" + list_table(caption, header, body)


def mnist_per_training_digit(rule, row_scaling, n_post, n_digits, epochs=1):
    """Seconds per training digit of a short MNIST job (its own timing), the program's build
    shared between the script's jobs."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "brian_stdp", "mnist", "--rule", rule,
                        "--row-scaling", row_scaling, "--neurons", str(n_post), "--train",
                        str(n_digits), "--epochs", str(epochs), "--label", "100",
                        "--validation", "0", "--test", "100",
                        "--quiet", "--out", out, "--build-dir", MNIST_BUILDS], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(out, "results.json")) as handle:
            return json.load(handle)["timings"]["per_training_digit_s"]


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
