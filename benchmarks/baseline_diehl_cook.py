"""The baseline of the MNIST table: Diehl & Cook's network written by hand in plain Brian2.

The network, its learning and its protocol are typed here in the ordinary Brian2 idiom, with
no brian_stdp code: Poisson inputs whose ``rates`` are set from Python for every digit, Diehl &
Cook's conductance-based excitatory neurons with adaptive thresholds and their inhibitory
partners, and their STDP rule on the input synapses (a pre trace, two post traces, the weights
clipped to [0, 1]; their ``Diehl&Cook_spiking_MNIST.py``, with their constants), run in
runtime mode (cython) with a Python ``network_operation`` at the start of every presentation:
the weights of every excitatory neuron normalised to sum to 78 before each training
presentation, the state reset, a digit that drew fewer than 5 spikes shown again brighter.

What it shares with ``brian-stdp mnist``, so that the two are compared on equal terms: the
digits (the shipped set split by ``--split-seed``, the same 500 validation digits set aside,
the same 3500 training digits in the same order, the same 1000 labelling and 1000 held-out
digits: ``brian_stdp.mnist.data``), the time step (1 ms) and the neurons' equations and
integration, the presentation (250 ms, each starting from rest), the
re-presentation rule (fewer than 5 spikes: again, +0.5 x the base rate, at most 10 times), the
input rates (pixel / 4 Hz), and the scoring (neurons labelled by their strongest class on the
labelling digits, ``brian_stdp.mnist.scoring``). It differs from the job in what the job is
about: the learning rule (Diehl & Cook's, not SPAIC's), the normalisation (once per training
digit, not every step), and its settings are Diehl & Cook's own at every size (theta_plus
0.05 mV, inhibition 17).

    python benchmarks/baseline_diehl_cook.py --neurons 100 400 --seeds 0 1 2 --splits 0 1

appends one JSON line per run to ``benchmarks/results/mnist/baseline-<neurons>.jsonl``, in the
form of ``benchmarks/bench_mnist.py``'s lines (``--publish`` there puts it in the tables). A run
already in the file with the same settings is skipped.
"""
import argparse
import datetime
import os
import resource
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

#: Diehl & Cook's constants (their code), and the job's protocol.
SETTINGS = {
    "presentation_ms": 250.0, "train": 3500, "validation": 500, "label": 1000, "test": 1000,
    "min_spikes": 5, "max_repeats": 10, "intensity": 1.0, "intensity_step": 0.5,
    "theta_plus_mV": 0.05, "inhibition": 17.0, "exc_to_inh": 10.4, "w_norm": 78.0,
    "nu_pre": 0.0001, "nu_post": 0.01, "tau_pre_ms": 20.0, "tau_post1_ms": 20.0,
    "tau_post2_ms": 40.0, "w_max": 1.0, "dt_ms": 1.0, "target": "cython",
}

EXC = """
dv/dt = ((v_rest_e - v) + ge * (E_exc_e - v) + gi * (E_inh_e - v)) / (100*ms) : volt (unless refractory)
dge/dt = -ge / (1*ms) : 1
dgi/dt = -gi / (2*ms) : 1
dtheta/dt = -adapting * theta / (1e7*ms) : volt
adapting : 1 (shared)
"""  # noqa: E501
INH = """
dv/dt = ((v_rest_i - v) + ge * (E_exc_i - v) + gi * (E_inh_i - v)) / (10*ms) : volt (unless refractory)
dge/dt = -ge / (1*ms) : 1
dgi/dt = -gi / (2*ms) : 1
"""  # noqa: E501
STDP = """
w : 1
plastic : 1 (shared)
dpre/dt = -pre / tau_pre : 1 (event-driven)
dpost1/dt = -post1 / tau_post1 : 1 (event-driven)
dpost2/dt = -post2 / tau_post2 : 1 (event-driven)
"""
ON_PRE = """
ge_post += w
pre = 1.
w = clip(w - plastic * nu_pre * post1, 0, w_max)
"""
ON_POST = """
w = clip(w + plastic * nu_post * pre * post2, 0, w_max)
post1 = 1.
post2 = 1.
"""


def build(neurons, seed):
    import brian2 as b2
    from brian2 import Hz, mV, ms
    b2.start_scope()
    b2.prefs.codegen.target = SETTINGS["target"]
    b2.defaultclock.dt = SETTINGS["dt_ms"] * ms
    b2.seed(seed)
    namespace = {
        "v_rest_e": -65 * mV, "v_reset_e": -65 * mV, "v_thresh_e": -52 * mV,
        "E_exc_e": 0 * mV, "E_inh_e": -100 * mV, "theta_offset": 20 * mV,
        "theta_plus": SETTINGS["theta_plus_mV"] * mV,
        "v_rest_i": -60 * mV, "v_reset_i": -45 * mV, "v_thresh_i": -40 * mV,
        "E_exc_i": 0 * mV, "E_inh_i": -85 * mV,
        "tau_pre": SETTINGS["tau_pre_ms"] * ms, "tau_post1": SETTINGS["tau_post1_ms"] * ms,
        "tau_post2": SETTINGS["tau_post2_ms"] * ms, "nu_pre": SETTINGS["nu_pre"],
        "nu_post": SETTINGS["nu_post"], "w_max": SETTINGS["w_max"],
    }
    inputs = b2.PoissonGroup(784, rates=0 * Hz, name="inputs")
    exc = b2.NeuronGroup(neurons, EXC, threshold="v > theta - theta_offset + v_thresh_e",
                         reset="v = v_reset_e\ntheta += adapting * theta_plus",
                         refractory=5 * ms, method="exponential_euler", namespace=namespace,
                         name="exc")
    inh = b2.NeuronGroup(neurons, INH, threshold="v > v_thresh_i", reset="v = v_reset_i",
                         refractory=2 * ms, method="exponential_euler", namespace=namespace,
                         name="inh")
    exc.theta = 20 * mV
    exc.adapting = 1
    learned = b2.Synapses(inputs, exc, STDP, on_pre=ON_PRE, on_post=ON_POST,
                          namespace=namespace, name="input_exc")
    learned.connect()
    learned.w = "rand() * 0.3"
    learned.plastic = 1
    exc_inh = b2.Synapses(exc, inh, on_pre=f"ge_post += {SETTINGS['exc_to_inh']}",
                          name="exc_inh")
    exc_inh.connect(j="i")
    inh_exc = b2.Synapses(inh, exc, on_pre=f"gi_post += {SETTINGS['inhibition']}",
                          name="inh_exc")
    inh_exc.connect(condition="i != j")
    spikes = b2.SpikeMonitor(exc, record=False, name="exc_spikes")  # counts only
    net = b2.Network(inputs, exc, inh, learned, exc_inh, inh_exc, spikes)
    return net, inputs, exc, inh, learned, namespace


def normalise(learned, neurons):
    """Diehl & Cook's normalize_weights: every excitatory neuron's input weights sum to 78."""
    w = np.asarray(learned.w[:]).reshape(784, neurons)  # Brian2's order: pre-major
    sums = w.sum(axis=0)
    w *= SETTINGS["w_norm"] / np.where(sums > 0, sums, 1.0)
    learned.w[:] = w.ravel()


def present_all(net, inputs, exc, inh, learned, images, neurons):
    """Show every image of ``images`` [digits, 784], one per 250 ms period, again and brighter
    while it draws fewer than 5 spikes, in one ``run()``: a network operation at the start of
    every period takes the last period's spike counts, decides, and sets up the next period
    (normalised weights while learning, the state at rest, the rates); it stops the run after
    the last digit. Returns the accepted periods' spike counts [digits, neurons] and the
    number of repetitions."""
    import brian2 as b2
    from brian2 import Hz, mV, ms
    spikes = net["exc_spikes"]
    period = SETTINGS["presentation_ms"] * ms
    state = {"digit": 0, "repeat": 0, "repeats": 0, "before": None, "counts": []}
    learning = bool(learned.plastic[:])

    @b2.network_operation(dt=period, when="start", name="presenter")
    def next_period():
        if state["before"] is not None:  # the period that just ended
            counts = np.asarray(spikes.count[:]) - state["before"]
            if (counts.sum() >= SETTINGS["min_spikes"]
                    or state["repeat"] >= SETTINGS["max_repeats"]):
                state["counts"].append(counts)
                state["digit"] += 1
                state["repeat"] = 0
            else:
                state["repeat"] += 1
                state["repeats"] += 1
        if state["digit"] == len(images):
            inputs.rates = 0 * Hz
            net.stop()
            return
        if learning:
            normalise(learned, neurons)
        exc.v = -65 * mV
        inh.v = -60 * mV
        exc.ge = exc.gi = inh.ge = inh.gi = 0
        intensity = SETTINGS["intensity"] + SETTINGS["intensity_step"] * state["repeat"]
        inputs.rates = images[state["digit"]] / 4.0 * intensity * Hz
        state["before"] = np.asarray(spikes.count[:]).copy()

    net.add(next_period)
    longest = len(images) * (SETTINGS["max_repeats"] + 1) + 1
    net.run(longest * period, namespace={})
    net.remove(next_period)
    return np.array(state["counts"]), state["repeats"]


def run(neurons, seed, split):
    from brian_stdp.mnist import data, scoring
    X, y, train_order, held_out_order, _ = data.load_job_digits(None, None, split)
    fit, validation = data.carve_validation(y, train_order, SETTINGS["validation"], split)
    train_idx, label_idx = fit[:SETTINGS["train"]], fit[:SETTINGS["label"]]
    test_idx = held_out_order[:SETTINGS["test"]]
    net, inputs, exc, inh, learned, _ = build(neurons, seed)
    started = time.time()
    train_counts, train_repeats = present_all(net, inputs, exc, inh, learned, X[train_idx],
                                              neurons)
    training_s = time.time() - started
    exc.adapting = 0      # thresholds fixed
    learned.plastic = 0   # weights fixed
    evaluated = np.concatenate([label_idx, validation, test_idx])
    eval_counts, eval_repeats = present_all(net, inputs, exc, inh, learned, X[evaluated],
                                            neurons)
    counts = np.concatenate([train_counts, eval_counts])
    labels = y[np.concatenate([train_idx, evaluated])]
    _, scores = scoring.score(counts, labels, len(train_idx), len(label_idx), len(validation))
    repeats = {"training": train_repeats, "labelling+testing": eval_repeats}
    return scores, repeats, training_s, time.time() - started


def main():
    import brian2

    import bench_mnist
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neurons", nargs="+", type=int, default=[100, 400])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--splits", nargs="+", type=int, default=[0, 1])
    args = parser.parse_args()
    settings = {"config": dict(SETTINGS), "protocol": {}, "rule": {"rule": "baseline"}}
    for neurons in args.neurons:
        path = os.path.join(bench_mnist.RESULTS, f"baseline-{neurons}.jsonl")
        done = {(line["seed"], line["split"]) for line in bench_mnist.read_lines(path)
                if line["settings"] == settings}
        for split in args.splits:
            for seed in args.seeds:
                if (seed, split) in done:
                    continue
                before = resource.getrusage(resource.RUSAGE_SELF)
                started = time.time()
                scores, repeats, training_s, simulation_s = run(neurons, seed, split)
                after = resource.getrusage(resource.RUSAGE_SELF)
                wall = time.time() - started
                line = {
                    "command": (f"python benchmarks/baseline_diehl_cook.py --neurons {neurons} "
                                f"--seeds {seed} --splits {split}"),
                    **bench_mnist.git_commit(),
                    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                        timespec="seconds"),
                    "rule": "baseline", "neurons": neurons, "seed": seed, "split": split,
                    "accuracy": scores["accuracy"],
                    "validation_accuracy": scores["validation_accuracy"],
                    "train": SETTINGS["train"], "validation": SETTINGS["validation"],
                    "label": SETTINGS["label"], "test": SETTINGS["test"], "repeats": repeats,
                    "curve": [[p["seen"], p["accuracy"]] for p in scores["training_curve"]],
                    "silent_neurons": scores["silent_neurons"],
                    "timings": {"wall_s": wall,
                                "cpu_s": (after.ru_utime + after.ru_stime
                                          - before.ru_utime - before.ru_stime),
                                "build_s": 0.0, "simulation_s": simulation_s,
                                "per_training_digit_s": training_s / SETTINGS["train"]},
                    "versions": {"brian2": brian2.__version__, "numpy": np.__version__,
                                 "python": sys.version.split()[0]},
                    "cores": os.cpu_count(), "jobs_at_once": 1, "settings": settings,
                }
                bench_mnist.append_line(path, line)
                print(f"baseline {neurons} seed {seed} split {split}: held-out "
                      f"{100 * scores['accuracy']:.1f}%, validation "
                      f"{100 * scores['validation_accuracy']:.1f}%, {wall:.0f} s", flush=True)


if __name__ == "__main__":
    main()
