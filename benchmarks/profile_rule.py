"""Where a rule's time goes: Brian2's profiling summary of the benchmark network, in
cpp_standalone.

Builds the network of ``bench_rules.py`` (784 -> N, Poisson input and output spikes), runs it
with ``profile=True`` and prints the time of every code object: which pass or pathway costs
what, per run of this script.

    python benchmarks/profile_rule.py nearest --post 400
"""
import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_rules  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rule", choices=["nearest", "full", "meta", "int"])
    parser.add_argument("--post", type=int, default=400)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--p-in", type=float, default=0.01)
    parser.add_argument("--p-out", type=float, default=0.02)
    parser.add_argument("--show", type=int, default=12)
    args = parser.parse_args()
    import brian2 as b2
    b2.defaultclock.dt = 1 * b2.ms
    directory = tempfile.mkdtemp(prefix="profile_")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    b2.seed(1)
    net = b2.Network(bench_rules.build_network(b2, args.rule, args.post, args.p_in, args.p_out))
    steps = args.samples * bench_rules.STEPS_PER_SAMPLE
    net.run(steps * b2.defaultclock.dt, profile=True)
    b2.device.build(directory=directory, compile=True, run=True)
    print(f"{args.rule}, 784 -> {args.post}, {steps} steps, "
          f"{1e3 * b2.device._last_run_time / args.samples:.1f} ms per sample")
    print(b2.profiling_summary(net, show=args.show))


if __name__ == "__main__":
    main()
