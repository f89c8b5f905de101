"""What the first runtime run of a network with a rule costs in cython, and a later one.

A small network (20 Poisson inputs, 2 neurons, one rule) is built and run twice in a fresh
process with an empty cython cache of its own, then once more in another fresh process that
finds the cache full: the wall time of each stage, and the number of extensions compiled.
``docs/howto.rst`` ("Why the first runtime run is slow") quotes the output.

    python benchmarks/bench_first_run.py [--rule nearest]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, os, sys, time
started = time.time()
from brian2 import *
prefs.codegen.target = "cython"
prefs.codegen.runtime.cython.cache_dir = sys.argv[1]
from brian_stdp import rule_class
times = {"import": time.time() - started}
mark = time.time()
inputs = PoissonGroup(20, rates=30 * Hz)
neurons = NeuronGroup(2, "dv/dt = -v / (20*ms) : 1", threshold="v > 1", reset="v = 0",
                      method="exact")
rule = rule_class(sys.argv[2])()
S = rule.synapses(inputs, neurons, on_pre="v_post += w")
times["synapses"] = time.time() - mark
mark = time.time()
S.connect()
times["connect"] = time.time() - mark
mark = time.time()
run(10 * ms)
times["first run"] = time.time() - mark
mark = time.time()
run(10 * ms)
times["second run"] = time.time() - mark
print(json.dumps(times))
"""


def extensions(cache):
    return sum(name.endswith(".so") for _, _, names in os.walk(cache) for name in names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rule", default="nearest")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="brian_stdp_cython_cache_")
    for label in ("empty cache", "full cache"):
        before = extensions(cache)
        output = subprocess.run([sys.executable, "-c", CHILD, cache, args.rule], check=True,
                                capture_output=True, text=True).stdout
        times = json.loads(output.strip().splitlines()[-1])
        stages = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in times.items())
        print(f"{args.rule}, {label}: {stages}; {extensions(cache) - before} extensions "
              f"compiled")


if __name__ == "__main__":
    main()
