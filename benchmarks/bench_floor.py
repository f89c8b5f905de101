"""Each rule's time per synapse and step against the machine's floor, measured in one run.

The floor: plain C++ loops of nearest_online's per-step pass (``w = clip(w * factor[post], 0,
1); row_sum[post] += |w|``, then each row's factor from its sum), compiled here with Brian2's
own compiler flags and timed on the same 784 x N weights:

- ``flat``: one loop over the synapses, the post index gathered per synapse (the loop Brian2
  generates for a synapse ``run_regularly``);
- ``nested``: over pre neurons in 16 blocks with partial row sums, and inside over the
  contiguous post neurons (vectorised), in float64, in float32, and with the blocks shared out
  over 2 OpenMP threads.

Then each rule of brian_stdp runs the benchmark network of ``bench_rules.py`` (784 -> N,
Poisson spikes, one 350-step sample per period) in cpp_standalone with Brian2's profiler, as
double on one thread, float32 on one thread and double on two OpenMP threads. Reported per
synapse and step: the per-step pass over every synapse (nearest and Meta: the code object of
the compiled pass), the whole rule (every code object of the rule's Synapses and helpers:
pass, pathways, trace reads, relays) and the whole network, each as a ratio to the matching
floor loop (nested float64, nested float32, nested float64 on 2 threads). Times are medians of
``--repeats`` runs of one build.

    python benchmarks/bench_floor.py --post 400 --write-docs
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_rules  # noqa: E402

FLOOR_SOURCE = r"""
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <string>

template <typename T> static inline T clip(T value, T low, T high)
{ return value < low ? low : (value > high ? high : value); }

template <typename T>
static void factors(const T* row_sum, T* factor, int rows)
{
    for (int j = 0; j < rows; j++) factor[j] = (T)78.4 / (row_sum[j] + (row_sum[j] == 0));
}

template <typename T>
static double flat(int pre, int rows, int steps, const int* post)
{
    const size_t n = (size_t)pre * rows;
    std::vector<T> w(n), factor(rows, 1), row_sum(rows, 0);
    for (size_t s = 0; s < n; s++) w[s] = (T)((s * 2654435761u) % 1000) * (T)3e-4;
    auto start = std::chrono::steady_clock::now();
    for (int step = 0; step < steps; step++) {
        std::fill(row_sum.begin(), row_sum.end(), (T)0);
        for (size_t s = 0; s < n; s++) {
            const int j = post[s];
            w[s] = clip(w[s] * factor[j], (T)0, (T)1);
            row_sum[j] += w[s] < 0 ? -w[s] : w[s];
        }
        factors(row_sum.data(), factor.data(), rows);
    }
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    return took.count() + 1e-30 * w[n / 2];
}

// One block of pre neurons, its pointers parameters of its own: inside an OpenMP region the
// compiler would see them as shared variables that might alias, and not vectorise.
template <typename T>
static void block_pass(T* __restrict__ w, const T* __restrict__ factor, T* __restrict__ partial,
                       int first, int last, int rows)
{
    for (int j = 0; j < rows; j++) partial[j] = 0;
    for (int i = first; i < last; i++) {
        T* __restrict__ row = w + (size_t)i * rows;
        for (int j = 0; j < rows; j++) {
            const T value = clip(row[j] * factor[j], (T)0, (T)1);
            row[j] = value;
            partial[j] += value < 0 ? -value : value;
        }
    }
}

// Over pre neurons in 16 blocks (threads share them out, each block's weights contiguous),
// inside over the contiguous post neurons; each block sums into its own partial row sums.
template <typename T>
static double nested(int pre, int rows, int steps)
{
    const int blocks = 16;
    const size_t n = (size_t)pre * rows;
    std::vector<T> w(n), factor(rows, 1), row_sum(rows, 0), partial((size_t)blocks * rows);
    for (size_t s = 0; s < n; s++) w[s] = (T)((s * 2654435761u) % 1000) * (T)3e-4;
    auto start = std::chrono::steady_clock::now();
    for (int step = 0; step < steps; step++) {
        #pragma omp parallel for schedule(static)
        for (int b = 0; b < blocks; b++)
            block_pass(w.data(), factor.data(), partial.data() + (size_t)b * rows,
                       (int)((long)b * pre / blocks), (int)((long)(b + 1) * pre / blocks), rows);
        for (int j = 0; j < rows; j++) {
            T sum = 0;
            for (int b = 0; b < blocks; b++) sum += partial[(size_t)b * rows + j];
            row_sum[j] = sum;
        }
        factors(row_sum.data(), factor.data(), rows);
    }
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    return took.count() + 1e-30 * w[n / 2];
}

int main(int argc, char** argv)
{
    const int pre = atoi(argv[1]), rows = atoi(argv[2]), steps = atoi(argv[3]);
    const std::string loop = argv[4];
    std::vector<int> post((size_t)pre * rows);
    for (size_t s = 0; s < post.size(); s++) post[s] = (int)(s % rows);
    double seconds;
    if (loop == "flat") seconds = flat<double>(pre, rows, steps, post.data());
    else if (loop == "nested") seconds = nested<double>(pre, rows, steps);
    else seconds = nested<float>(pre, rows, steps);
    printf("%.9f\n", seconds);
    return 0;
}
"""
# (name, loop, OpenMP threads)
FLOOR_LOOPS = [("flat, post index gathered (float64)", "flat", 1),
               ("nested, vectorised (float64)", "nested", 1),
               ("nested, vectorised (float32)", "nested32", 1),
               ("nested, vectorised (float64, 2 threads)", "nested", 2)]
VARIANTS = [("double, 1 thread", {}, "nested, vectorised (float64)"),
            ("float32, 1 thread", {"float32": True}, "nested, vectorised (float32)"),
            ("double, 2 threads", {"openmp_threads": 2},
             "nested, vectorised (float64, 2 threads)")]


def floor(n_post, steps, repeats):
    """``{loop name: seconds per synapse and step}`` of the plain C++ loops."""
    from brian2 import prefs
    directory = tempfile.mkdtemp(prefix="floor_")
    source = os.path.join(directory, "floor.cpp")
    with open(source, "w") as handle:
        handle.write(FLOOR_SOURCE)
    flags = list(prefs.codegen.cpp.extra_compile_args_gcc)
    binaries = {}
    for openmp in (False, True):
        binary = os.path.join(directory, "floor_omp" if openmp else "floor")
        subprocess.run(["g++", *flags, *(["-fopenmp"] if openmp else []), source, "-o", binary],
                       check=True)
        binaries[openmp] = binary
    result = {}
    for name, loop, threads in FLOOR_LOOPS:
        times = []
        for _ in range(repeats):
            out = subprocess.run([binaries[threads > 1], str(bench_rules.N_PRE), str(n_post),
                                  str(steps), loop], check=True, capture_output=True, text=True,
                                 env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
            times.append(float(out.stdout))
        result[name] = statistics.median(times) / (steps * bench_rules.N_PRE * n_post)
    return result


def profile_worker(rule_name, n_post, n_samples, repeats, p_in, p_out, options):
    """One build of the rule's benchmark network with the profiler; medians over the runs of
    ``{"pass", "rule", "network"}`` in seconds per synapse and step."""
    import brian2 as b2
    import numpy as np
    b2.defaultclock.dt = 1 * b2.ms
    if options.get("float32"):
        b2.prefs.core.default_float_dtype = np.float32
    directory = tempfile.mkdtemp(prefix="bench_floor_")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    b2.prefs.devices.cpp_standalone.openmp_threads = options.get("openmp_threads", 0)
    b2.seed(1)
    objects = bench_rules.build_network(b2, rule_name, n_post, p_in, p_out)
    synapses = objects[-1]
    net = b2.Network(objects)
    steps = n_samples * bench_rules.STEPS_PER_SAMPLE
    net.run(steps * b2.defaultclock.dt, profile=True)
    b2.device.build(directory=directory, compile=True, run=False)
    pass_name = synapses.name + "_synapses_step"
    samples = {"pass": [], "rule": [], "network": []}
    for _ in range(repeats):
        b2.device.run(directory=directory, with_output=False, run_args={})
        info = net.profiling_info
        samples["pass"].append(sum(float(t) for name, t in info if name.startswith(pass_name)))
        samples["rule"].append(sum(float(t) for name, t in info
                                   if name.startswith(synapses.name)))
        samples["network"].append(b2.device._last_run_time)
    per_synapse_step = steps * bench_rules.N_PRE * n_post
    return {key: statistics.median(values) / per_synapse_step
            for key, values in samples.items()}


def _ns(seconds):
    return "n/a" if seconds is None else f"{1e9 * seconds:.2f}"


def _cell(seconds, floor_seconds):
    if not seconds:
        return "n/a"
    return f"{_ns(seconds)} ({seconds / floor_seconds:.1f}x)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", nargs="+", default=["nearest", "meta", "full", "int"])
    parser.add_argument("--post", type=int, default=400)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--p-in", type=float, default=0.01)
    parser.add_argument("--p-out", type=float, default=0.02)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(profile_worker(*json.loads(args.worker))))
        return
    started = time.perf_counter()
    steps = args.samples * bench_rules.STEPS_PER_SAMPLE
    floors = floor(args.post, steps, args.repeats)
    for name, seconds in floors.items():
        print(f"floor  {name:42s} {_ns(seconds)} ns per synapse-step", flush=True)
    floor_body = [[name, _ns(seconds), f"{seconds / floors[FLOOR_LOOPS[1][0]]:.2f}x"]
                  for name, seconds in floors.items()]
    body = []
    for rule_name in args.rules:
        for variant, options, floor_name in VARIANTS:
            result = bench_rules.in_subprocess(rule_name, args.post, args.samples,
                                               args.repeats, args.p_in, args.p_out, options,
                                               script=__file__)
            print(rule_name, variant, result, flush=True)
            if "error" in result:
                body.append([rule_name, variant, f"failed: {result['error']}", "", ""])
                continue
            reference = floors[floor_name]
            body.append([rule_name, variant, _cell(result["pass"], reference),
                         _cell(result["rule"], reference), _cell(result["network"], reference)])
    command = (f"python benchmarks/bench_floor.py --post {args.post} --samples {args.samples} "
               f"--repeats {args.repeats}")
    floor_table = bench_rules.list_table(
        f"The floor: plain C++ loops of nearest_online's pass over 784 x {args.post} weights, "
        f"{steps} steps, nanoseconds per synapse and step (median of {args.repeats} runs), "
        f"produced by ``{command}`` in one run on this machine (2 cores).",
        ["loop", "ns per synapse-step", "/ nested float64"], floor_body)
    rules_table = bench_rules.list_table(
        f"Each rule in cpp_standalone at 784 -> {args.post} (pre spike probability "
        f"{args.p_in}, post {args.p_out} per step), nanoseconds per synapse and step (median "
        f"of {args.repeats} runs of one build, Brian2's profiler) and, in brackets, the ratio "
        f"to the floor loop of the same float type and threads (nested, vectorised), from the "
        f"same run of ``{command}``. \"pass\": the per-step pass over every synapse (none for "
        "full_online and PostPreIntSTDP, whose work follows the spikes); \"rule\": every code "
        "object of the rule's Synapses and helper objects; \"network\": the whole simulation, "
        "Poisson inputs included.",
        ["rule", "build", "pass", "rule", "network"], body)
    print(f"({time.perf_counter() - started:.0f} s)")
    bench_rules.publish(floor_table + "\n" + rules_table, args.write_docs,
                        "benchmarks_floor.inc")


if __name__ == "__main__":
    main()
