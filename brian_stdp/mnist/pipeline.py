"""Train, label, test: the whole unsupervised MNIST job, and what it writes.

:func:`run_mnist` takes a :class:`MnistConfig`, checks it completely before creating any Brian2
object, runs the network of :mod:`brian_stdp.mnist.network` (one compiled binary in
cpp_standalone), then labels each excitatory neuron by the class it answers most on the training
digits and classifies the held-out digits by the mean spike count of each class's neurons.
"""
import dataclasses
import json
import math
import os
import sys
import time

import numpy as np

from . import data as data_module

__all__ = ["MnistConfig", "run_mnist", "RULE_ALIASES", "resolve_rule", "assign_labels",
           "predict"]

#: ``--rule`` choices: the short name, the module and class that implement it.
RULE_ALIASES = {
    "nearest": ("brian_stdp.nearest_online", "NearestOnlineSTDP"),
    "full": ("brian_stdp.full_online", "FullOnlineSTDP"),
    "meta": ("brian_stdp.meta_nearest_online", "MetaNearestOnlineSTDP"),
    "int": ("brian_stdp.postpre_int", "PostPreIntSTDP"),
}
DEVICES = ("cpp_standalone", "runtime")
#: Training digits shown again, frozen, to label the neurons, unless --label says otherwise.
DEFAULT_LABEL = 1000
TARGETS = ("cython", "numpy")


def resolve_rule(name):
    """The rule class for a ``--rule`` short name (or a SPAIC rule name)."""
    import importlib
    from ..rule import RULES
    if name in RULE_ALIASES:
        module_name, class_name = RULE_ALIASES[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"--rule {name}: this installation has no {module_name} "
                             f"({error})") from error
        if not hasattr(module, class_name):
            raise ValueError(f"--rule {name}: {module_name} has no {class_name} yet")
        return getattr(module, class_name)
    if name in RULES:
        return RULES[name]
    raise ValueError(f"--rule must be one of {sorted(RULE_ALIASES)} (or a SPAIC rule name "
                     f"{sorted(RULES)}), got {name!r}")


def _int_in(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"in {low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")


def _real_in(name, value, low, high, low_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high}], got {value}")


@dataclasses.dataclass
class MnistConfig:
    """Every setting of one run (the CLI flags, by the same names)."""
    rule: str = "nearest"
    rule_file: str = None
    neurons: int = 100
    train: int = 1500
    epochs: int = 1
    label: int = None        # training digits used to label the neurons (None: up to 1000)
    test: int = 1000
    presentation: float = 250.0   # ms (D&C: 350; 250 fits more digits in the time budget)
    rest: float = 0.0             # ms (silent inputs after each presentation)
    dt: float = 1.0               # ms; SPAIC's constants are per step: traces decay with 20 steps
    intensity: float = 1.0        # rate = pixel / 4 Hz * intensity
    theta_plus: float = 0.05      # mV added to a neuron's threshold per spike while training
    seed: int = 0
    split_seed: int = 0
    device: str = "cpp_standalone"
    target: str = "cython"        # code generation target in runtime mode
    data: str = None
    out: str = "mnist_results"
    build_dir: str = None
    progress: bool = True

    def check(self, n_train_available=None, n_test_available=None):
        """Refuse bad settings (naming the flag and its allowed values)."""
        if self.rule_file is None and not isinstance(self.rule, str):
            raise TypeError(f"--rule must be a name, got {self.rule!r}")
        _int_in("--neurons", self.neurons, 1, 10000)
        _int_in("--train", self.train, 1)
        _int_in("--epochs", self.epochs, 1, 1000)
        if self.label is not None:
            _int_in("--label", self.label, 1, self.train)
        _int_in("--test", self.test, 1)
        _real_in("--dt", self.dt, 0.0, 10.0, low_open=True)
        _real_in("--presentation", self.presentation, 0.0, 10000.0, low_open=True)
        _real_in("--rest", self.rest, 0.0, 10000.0)
        for flag, value in (("--presentation", self.presentation), ("--rest", self.rest)):
            steps = value / self.dt
            if abs(steps - round(steps)) > 1e-9:
                raise ValueError(f"{flag} must be a whole number of --dt steps ({self.dt} ms), "
                                 f"got {value} ms")
        _real_in("--intensity", self.intensity, 0.0, 100.0, low_open=True)
        _real_in("--theta-plus", self.theta_plus, 0.0, 100.0)
        _int_in("--seed", self.seed, 0, 2**31 - 1)
        _int_in("--split-seed", self.split_seed, 0, 2**31 - 1)
        if self.device not in DEVICES:
            raise ValueError(f"--device must be one of {list(DEVICES)}, got {self.device!r}")
        if self.target not in TARGETS:
            raise ValueError(f"--target must be one of {list(TARGETS)}, got {self.target!r}")
        if n_train_available is not None and self.train > n_train_available:
            raise ValueError(f"--train must be at most {n_train_available} (the training digits "
                             f"available), got {self.train}")
        if n_test_available is not None and self.test > n_test_available:
            raise ValueError(f"--test must be at most {n_test_available} (the held-out digits "
                             f"available), got {self.test}")


def load_rule_for(config):
    from ..rule import load_rule
    if config.rule_file is not None:
        if not os.path.isfile(config.rule_file):
            raise ValueError(f"--rule-file: no such file {config.rule_file!r}")
        return load_rule(config.rule_file)
    return resolve_rule(config.rule)()


# ---- analysis ------------------------------------------------------------------------------
def assign_labels(counts, labels, n_classes=data_module.N_CLASSES):
    """Each neuron's class: the one with the highest mean spike count per presentation.

    ``counts`` [presentations, neurons]; a neuron that never spiked gets -1 (no vote).
    """
    counts = np.asarray(counts, dtype=float)
    means = np.zeros((n_classes, counts.shape[1]))
    for c in range(n_classes):
        members = labels == c
        if members.any():
            means[c] = counts[members].mean(axis=0)
    assignment = means.argmax(axis=0)
    assignment[means.max(axis=0) <= 0] = -1
    return assignment


def predict(counts, assignment, n_classes=data_module.N_CLASSES):
    """Class per presentation: the highest mean count over the neurons assigned to a class.

    A presentation without any spike from an assigned neuron gets -1 (counted as wrong).
    """
    counts = np.asarray(counts, dtype=float)
    scores = np.full((counts.shape[0], n_classes), -1.0)
    for c in range(n_classes):
        members = assignment == c
        if members.any():
            scores[:, c] = counts[:, members].mean(axis=1)
    prediction = scores.argmax(axis=1)
    prediction[scores.max(axis=1) <= 0] = -1
    return prediction


def confusion(truth, prediction, n_classes=data_module.N_CLASSES):
    """[true class, predicted class]; an extra last column counts "no answer"."""
    matrix = np.zeros((n_classes, n_classes + 1), dtype=int)
    for t, p in zip(truth, prediction):
        matrix[t, p if p >= 0 else n_classes] += 1
    return matrix


def training_curve(counts, labels, block):
    """Accuracy of each block of training presentations, labelled by the previous block."""
    points = []
    for start in range(block, len(labels) - block + 1, block):
        assignment = assign_labels(counts[start - block:start], labels[start - block:start])
        window = slice(start, start + block)
        accuracy = float(np.mean(predict(counts[window], assignment) == labels[window]))
        per_class = [int(np.sum(assignment == c)) for c in range(data_module.N_CLASSES)]
        points.append({"seen": start + block, "accuracy": accuracy,
                       "neurons_per_class": per_class})
    return points


# ---- progress ------------------------------------------------------------------------------
def _format_seconds(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class _Progress:
    """Brian's report callback (runtime mode): samples done, rate, time left in the phase."""

    def __init__(self, phase, n_samples, first_sample, period_s, stream=sys.stdout):
        self.phase, self.n, self.first, self.period = phase, n_samples, first_sample, period_s
        self.stream = stream

    def __call__(self, elapsed, completed, start, duration):
        done = min(self.n, int(float(completed) * self.n + 1e-6))
        elapsed = float(elapsed)
        if done == 0:
            return
        rate = done / max(elapsed, 1e-9)
        left = (self.n - done) / rate
        print(f"  {self.phase}: {done}/{self.n} digits, {rate:.1f} digits/s, "
              f"{_format_seconds(left)} left", file=self.stream, flush=True)


def _standalone_report(phases, period_s):
    """C++ report code: the same line as :class:`_Progress`, for each phase by its start."""
    lines = ["const double t_now = start + completed * duration;",
             "const char* phase = \"\"; int n = 0; double first = 0;"]
    for name, first, n in phases:
        lines.append(f"if (start >= {first * period_s!r} - 1e-9) {{ phase = \"{name}\"; "
                     f"n = {n}; first = {first}; }}")
    lines += [
        "int done = (int)(completed * n + 1e-6);",
        "if (done <= 0 || n == 0) return;",
        "double rate = done / (elapsed > 1e-9 ? elapsed : 1e-9);",
        "int left = (int)((n - done) / rate + 0.5);",
        "std::cout << \"  \" << phase << \": \" << done << \"/\" << n << \" digits, \" << "
        "(int)(rate * 10) / 10.0 << \" digits/s, \";",
        "if (left >= 60) std::cout << left / 60 << \"m\" << left % 60 << \"s left\";",
        "else std::cout << left << \"s left\";",
        "std::cout << std::endl << std::flush;",
    ]
    return "\n".join(lines)


# ---- the job -------------------------------------------------------------------------------
def _initial_weights(rule, n_neurons, n_inputs, rng):
    """D&C's random start (uniform up to 0.3), rows scaled to the rule's weight budget."""
    weights = rng.uniform(0.0, 0.3, size=(n_neurons, n_inputs))
    w_norm = getattr(rule, "w_norm", 78.4)
    weights *= w_norm / weights.sum(axis=1, keepdims=True)
    return np.clip(weights, 0.0, 1.0)


def _initial_int_weights(rule, n_neurons, n_inputs, rng):
    """Integer weights uniform in [w_min, w_min + 0.3 (w_max - w_min)], as D&C's 0..0.3."""
    high = rule.w_min + int(0.3 * (rule.w_max - rule.w_min))
    return rng.integers(rule.w_min, high + 1, size=(n_neurons, n_inputs)).astype(float)


def _say(config, text):
    if config.progress:
        print(text, flush=True)


def run_mnist(config):
    """Run the whole job; return the results dict (also written to ``config.out``)."""
    t_start = time.time()
    config.check()
    rule = load_rule_for(config)
    integer = type(rule).__name__ == "PostPreIntSTDP"
    if integer:
        try:
            from .. import neurons  # noqa: F401  (the companion integer neuron)
        except ImportError as error:
            raise ValueError("--rule int needs SPAIC's integer Diehl & Cook neuron "
                             "(brian_stdp.neurons), missing from this installation") from error
    X, y, data_info = data_module.load_digits(config.data)
    train_order, held_out_order = data_module.split_digits(y, seed=config.split_seed)
    config.check(len(train_order), len(held_out_order))
    n_label = config.label if config.label is not None else min(config.train, DEFAULT_LABEL)
    train_idx = train_order[:config.train]
    label_idx = train_idx[:n_label]
    test_idx = held_out_order[:config.test]
    rng = np.random.default_rng(config.seed)
    # Epoch 1 in the split's (shuffled) order, later epochs reshuffled.
    epochs = [train_idx] + [rng.permutation(train_idx) for _ in range(config.epochs - 1)]
    presentations = np.concatenate(epochs + [label_idx, test_idx])
    n_train_total = config.train * config.epochs
    rates = X[presentations] / 4.0 * config.intensity
    presentation_steps = int(round(config.presentation / config.dt))
    period_steps = presentation_steps + int(round(config.rest / config.dt))
    period_s = period_steps * config.dt / 1000.0
    os.makedirs(config.out, exist_ok=True)
    weights0 = (_initial_int_weights(rule, config.neurons, X.shape[1], rng) if integer
                else _initial_weights(rule, config.neurons, X.shape[1], rng))
    _say(config, f"brian_stdp mnist: rule {rule.name}, {config.neurons} neurons, "
                 f"{config.train} training digits x {config.epochs} epoch(s), "
                 f"{n_label} labelling, {config.test} held-out; device {config.device}")

    import brian2
    from . import network
    brian2.start_scope()
    if config.device == "cpp_standalone":
        build_dir = config.build_dir or os.path.join(data_module.cache_dir(), "standalone_mnist")
        from brian2.devices.device import all_devices
        all_devices["cpp_standalone"].reinit()  # a fresh project, even after an earlier run
        brian2.set_device("cpp_standalone", build_on_run=False, directory=build_dir)
        brian2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    else:
        brian2.set_device("runtime")
        brian2.prefs.codegen.target = config.target
    t_setup = time.time()
    if integer:
        parts = network.build_int(rule, config.neurons, rates, period_steps, presentation_steps,
                                  config.dt, weights0, config.seed)
    else:
        parts = network.build(rule, config.neurons, rates, period_steps, presentation_steps,
                              config.dt, weights0, config.theta_plus, config.seed)
    net = parts["network"]
    n_eval = n_label + config.test
    phases = [("training", 0, n_train_total), ("labelling+testing", n_train_total, n_eval)]
    timings = {}
    if config.device == "cpp_standalone":
        report = _standalone_report(phases, period_s) if config.progress else None
        net.run(n_train_total * parts["period"], report=report, report_period=5 * brian2.second, namespace={})
        network.freeze(parts)
        net.run(n_eval * parts["period"], report=report, report_period=5 * brian2.second, namespace={})
        _say(config, "compiling the standalone program (once) and running it ...")
        device = brian2.get_device()
        import resource  # cpp_standalone runs on POSIX here (make, the Unix run command)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        device.build(directory=device.project_dir, compile=True, run=True,
                     with_output=config.progress)
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU seconds of the compiler and of the program: wall time depends on what else runs.
        timings["build_and_simulation_cpu_s"] = (
            children_after.ru_utime + children_after.ru_stime
            - children_before.ru_utime - children_before.ru_stime)
        timings["build_s"] = float(sum(v for v in device.timers["compile"].values() if v))
        timings["simulation_s"] = float(device.timers["run_binary"])
        timings["network_setup_s"] = time.time() - t_setup - timings["build_s"] - \
            timings["simulation_s"]
    else:
        cpu0 = time.process_time()
        t0 = time.time()
        net.run(n_train_total * parts["period"], report=_Progress(
            "training", n_train_total, 0, period_s) if config.progress else None,
            report_period=5 * brian2.second, namespace={})
        timings["training_s"] = time.time() - t0
        network.freeze(parts)
        t1 = time.time()
        net.run(n_eval * parts["period"], report=_Progress(
            "labelling+testing", n_eval, n_train_total, period_s) if config.progress else None,
            report_period=5 * brian2.second, namespace={})
        timings["evaluation_s"] = time.time() - t1
        timings["simulation_cpu_s"] = time.process_time() - cpu0
        timings["build_s"] = 0.0
        timings["simulation_s"] = timings["training_s"] + timings["evaluation_s"]
        timings["network_setup_s"] = t0 - t_setup
    spike_i = np.asarray(parts["spikes"].i[:], dtype=int)
    spike_t = np.asarray(parts["spikes"].t[:] / brian2.second, dtype=float)
    weights = rule.get_weights(parts["synapses"])
    if integer:
        theta = np.asarray(parts["exc"].thresh[:], dtype=float)  # SPAIC's integer threshold
    else:
        theta = np.asarray(parts["exc"].theta[:] / brian2.mV, dtype=float)
    if config.device == "cpp_standalone":
        brian2.get_device().reinit()
        brian2.set_device("runtime")
    n_total = len(presentations)
    sample = np.minimum((spike_t / period_s + 1e-6).astype(int), n_total - 1)
    counts = np.zeros((n_total, config.neurons), dtype=np.int32)
    np.add.at(counts, (sample, spike_i), 1)
    labels_all = y[presentations]
    train_counts = counts[:n_train_total]
    label_counts = counts[n_train_total:n_train_total + n_label]
    test_counts = counts[n_train_total + n_label:]
    assignment = assign_labels(label_counts, y[label_idx])
    prediction = predict(test_counts, assignment)
    truth = y[test_idx]
    accuracy = float(np.mean(prediction == truth))
    matrix = confusion(truth, prediction)
    per_class = {str(c): float(np.mean(prediction[truth == c] == c))
                 for c in range(data_module.N_CLASSES) if np.any(truth == c)}
    block = max(10, min(500, n_train_total // 20))
    curve = training_curve(train_counts, labels_all[:n_train_total], block)
    timings["total_s"] = time.time() - t_start
    timings["per_presentation_s"] = timings["simulation_s"] / n_total
    if "training_s" in timings:
        timings["per_training_digit_s"] = timings["training_s"] / n_train_total
        timings["per_evaluation_digit_s"] = timings["evaluation_s"] / n_eval
    results = {
        "accuracy": accuracy,
        "chance": 1.0 / data_module.N_CLASSES,
        "confusion_matrix": matrix.tolist(),
        "confusion_matrix_columns": "predicted class 0..9, then 'no spike' (no answer)",
        "per_class_accuracy": per_class,
        "no_answer": int(np.sum(prediction < 0)),
        "neurons_per_class": [int(np.sum(assignment == c))
                              for c in range(data_module.N_CLASSES)],
        "silent_neurons": int(np.sum(assignment < 0)),
        "mean_spikes_per_test_digit": float(test_counts.sum(axis=1).mean()),
        "test_digits_without_spikes": int(np.sum(test_counts.sum(axis=1) == 0)),
        "training_curve": curve,
        "rule": rule.to_dict(),
        "config": dataclasses.asdict(config),
        "seeds": {"network": config.seed, "split": config.split_seed},
        "data": {**data_info, "n_train_available": int(len(train_order)),
                 "n_held_out_available": int(len(held_out_order)),
                 "train_presentations": int(n_train_total), "label_presentations": int(n_label),
                 "test_presentations": int(config.test)},
        "timings": timings,
        "versions": _versions(),
    }
    _write_outputs(config.out, results, weights, theta, assignment)
    _say(config, f"held-out accuracy: {accuracy * 100:.1f}% on {config.test} digits "
                 f"(chance 10%); build {timings['build_s']:.1f} s, simulation "
                 f"{timings['simulation_s']:.1f} s ({timings['per_presentation_s'] * 1000:.1f} "
                 f"ms per presentation), total {timings['total_s']:.1f} s; outputs in "
                 f"{os.path.abspath(config.out)}")
    return results


def _versions():
    import platform
    import brian2
    from .. import __version__
    return {"brian_stdp": __version__, "brian2": brian2.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def _write_outputs(out, results, weights, theta, assignment):
    from . import figures
    np.savez(os.path.join(out, "weights.npz"), weights=weights, thresholds=theta,
             assignment=assignment)
    figures.receptive_fields(weights, assignment, os.path.join(out, "receptive_fields.png"))
    figures.confusion_matrix(np.asarray(results["confusion_matrix"]),
                             os.path.join(out, "confusion_matrix.png"))
    figures.training_curve(results["training_curve"], os.path.join(out, "training.png"))
    results["files"] = sorted(os.listdir(out) + ["results.json"])
    results["files"] = sorted(set(results["files"]))
    with open(os.path.join(out, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
        handle.write("\n")
