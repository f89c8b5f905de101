"""brian_stdp's MNIST job against SPAIC itself: SPAIC's own example network, timed per simulated
step, interleaved with the job on the same machine.

SPAIC's network is the one of its example ``spaic/Example/Stdp_test_main.py`` (SPAIC 0.6.3,
installed with the ``bench`` extra; nothing is installed or downloaded at run time): 784 Poisson
inputs (``unit_conversion`` 0.06375: a white pixel fires at 63.75 Hz), ``N`` ``lifstdp_ex``
neurons, ``N`` ``lifstdp_ih`` neurons, the example's weights (inputs uniform in [0, 0.3),
excitatory to inhibitory 23 one to one, inhibitory to excitatory -120 all to all but one), and
the ``nearest_online_STDP`` learner on the input connection. It differs from the example in
what a comparison per step needs: dt is 1 ms (the example's is 0.1 ms; SPAIC's step costs the
same at any dt, its work being dense), each digit runs for the job's 250 steps (the example's
256), and the pixels are scaled to [0, 1] (as the example's dataset does). PyTorch runs on the
CPU with its default number of threads, as a SPAIC user's script does.

brian_stdp's side is the plain command with ``--neurons N`` (cpp_standalone, one thread), its
training phase only: Diehl & Cook's conductance neurons with adaptive thresholds, rates of
pixel / 4 Hz times the job's intensity (each image scaled to MNIST's mean pixel), re-presentation
of digits that draw too few spikes; its time per step is its training time over the steps it
simulated (presentations, repetitions included, times 250).

Both train on the same shipped digits. Each round times a block of SPAIC digits and then one job
(its program built once, before the rounds); the figures are medians over the rounds.

    python benchmarks/bench_spaic.py [--neurons 100 400] [--rounds 3] [--write-docs]
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
BUILDS = os.path.join(HERE, "mnist_runs", "bench_spaic_builds")
STEPS_PER_DIGIT = 250


def spaic_network(n_neurons, seed=0):
    """SPAIC's example network (see the module docstring), built; returns ``(net, run_time)``."""
    import spaic
    import torch
    from spaic.Learning.Learner import Learner
    np.random.seed(seed)
    torch.manual_seed(seed)
    backend = spaic.Torch_Backend("cpu")
    backend.dt = 1.0
    run_time = STEPS_PER_DIGIT * backend.dt

    class ExampleNet(spaic.Network):
        def __init__(self):
            super().__init__()
            self.input = spaic.Encoder(num=784, coding_time=run_time, coding_method="poisson",
                                       unit_conversion=0.06375)
            self.layer1 = spaic.NeuronGroup(n_neurons, model="lifstdp_ex")
            self.layer2 = spaic.NeuronGroup(n_neurons, model="lifstdp_ih")
            self.output = spaic.Decoder(num=n_neurons, dec_target=self.layer1,
                                        coding_time=run_time, coding_method="spike_counts")
            self.connection1 = spaic.Connection(self.input, self.layer1, link_type="full",
                                                weight=np.random.rand(n_neurons, 784) * 0.3)
            self.connection2 = spaic.Connection(self.layer1, self.layer2, link_type="full",
                                                weight=np.diag(np.ones(n_neurons)) * 23)
            self.connection3 = spaic.Connection(
                self.layer2, self.layer1, link_type="full",
                weight=(np.ones((n_neurons, n_neurons)) - np.diag(np.ones(n_neurons))) * -120)
            self._learner = Learner(algorithm="nearest_online_stdp",
                                    trainable=self.connection1)
            self.set_backend(backend)

    net = ExampleNet()
    net.build(backend)
    return net, run_time


def input_weights(net):
    """The weights of SPAIC's input connection (the learner's), as SPAIC's backend holds them."""
    return next(value for key, value in net._backend._parameters_dict.items()
                if "connection1" in key and "weight" in key)


def spaic_seconds_per_step(net, run_time, images, labels):
    """Wall seconds per simulated step of SPAIC training on ``images`` (one run per digit)."""
    started = time.perf_counter()
    for image, label in zip(images, labels):
        net.input(image[None, :] / 255.0)
        net.output(np.array([label]))
        net.run(run_time)
    return (time.perf_counter() - started) / (len(images) * STEPS_PER_DIGIT)


def job_seconds_per_step(n_neurons, n_digits):
    """brian_stdp's job trained on ``n_digits``: training seconds per simulated step."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "brian_stdp", "mnist", "--neurons",
                        str(n_neurons), "--train", str(n_digits),
                        "--label", str(min(100, n_digits)), "--validation", "0",
                        "--test", "10", "--quiet", "--out", out,
                        "--build-dir", BUILDS], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(os.path.join(out, "results.json")) as handle:
            results = json.load(handle)
    steps = results["protocol"]["periods"]["training"] * STEPS_PER_DIGIT
    return results["timings"]["training_s"] / steps, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neurons", nargs="+", type=int, default=[100, 400])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spaic-digits", type=int, default=20,
                        help="SPAIC digits per round")
    parser.add_argument("--job-digits", type=int, default=500,
                        help="training digits of each round's job")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    import torch
    from brian_stdp.mnist.data import load_digits
    images, labels, _ = load_digits()
    body = []
    for n_neurons in args.neurons:
        job_seconds_per_step(n_neurons, 10)   # builds the program, outside the timing
        net, run_time = spaic_network(n_neurons)
        # the first run sets SPAIC's network up: outside the timing, on a digit not timed
        spaic_seconds_per_step(net, run_time, images[-1:], labels[-1:])
        weight = input_weights(net)
        before = weight.detach().clone()
        spaic_times, job_times = [], []
        for round_ in range(args.rounds):
            block = slice(round_ * args.spaic_digits, (round_ + 1) * args.spaic_digits)
            spaic_times.append(spaic_seconds_per_step(net, run_time, images[block],
                                                      labels[block]))
            job_times.append(job_seconds_per_step(n_neurons, args.job_digits)[0])
            print(n_neurons, round_, spaic_times[-1], job_times[-1], flush=True)
        moved = float(torch.max(torch.abs(weight.detach() - before)))
        if not moved > 0:
            raise RuntimeError("SPAIC's learner changed no weight: the timing is not of "
                               "a learning network")
        spaic, job = statistics.median(spaic_times), statistics.median(job_times)
        body.append([str(n_neurons), f"{1e6 * spaic:.0f}", f"{1e6 * job:.1f}",
                     f"{spaic / job:.1f}x"])
    table = _table(args, torch.get_num_threads(), body)
    print(table)
    if args.write_docs:
        with open(os.path.join(HERE, "..", "docs", "benchmarks_spaic.inc"), "w") as handle:
            handle.write(table)


def _table(args, threads, body):
    import spaic  # noqa: F401  (its version is the package's)
    from importlib.metadata import version
    caption = (f"SPAIC {version('spaic')}'s example network (nearest_online_STDP, PyTorch "
               f"{version('torch')} on the CPU, {threads} threads) against ``brian-stdp mnist`` "
               f"(cpp_standalone, one thread), microseconds per simulated training step "
               f"(dt = 1 ms), median of {args.rounds} interleaved rounds of "
               f"{args.spaic_digits} SPAIC digits and a job of {args.job_digits} training "
               "digits, produced by ``python benchmarks/bench_spaic.py`` in one run on this "
               "machine (2 cores).")
    lines = [caption, "", ".. list-table::", "   :header-rows: 1", ""]
    for cells in [["neurons", "SPAIC (us per step)", "brian_stdp (us per step)",
                   "SPAIC / brian_stdp"]] + body:
        lines.append("   * - " + cells[0])
        lines.extend("     - " + cell for cell in cells[1:])
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
