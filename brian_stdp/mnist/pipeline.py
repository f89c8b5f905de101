"""Train, label, test: the whole unsupervised MNIST job, and what it writes.

:func:`run_mnist` takes a :class:`MnistConfig`, checks it (and a checkpoint to resume from)
completely before creating any Brian2 object, runs the network of
:mod:`brian_stdp.mnist.network` in chunks (:mod:`brian_stdp.mnist.chunks`; one compiled binary
in cpp_standalone, re-run per chunk) with checkpoints (:mod:`brian_stdp.mnist.checkpoint`), then
labels each excitatory neuron by the class it answers most on the training digits and classifies
the held-out digits by the mean spike count of each class's neurons.
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
           "predict", "TrainingInterrupted", "run_identity"]

#: ``--rule`` choices: the short name, the module and class that implement it.
RULE_ALIASES = {
    "nearest": ("brian_stdp.rules.nearest_online", "NearestOnlineSTDP"),
    "full": ("brian_stdp.rules.full_online", "FullOnlineSTDP"),
    "meta": ("brian_stdp.rules.meta_nearest_online", "MetaNearestOnlineSTDP"),
    "int": ("brian_stdp.rules.postpre_int", "PostPreIntSTDP"),
}
DEVICES = ("cpp_standalone", "runtime")
#: Training digits shown again, frozen, to label the neurons, unless --label says otherwise.
DEFAULT_LABEL = 1000
TARGETS = ("cython", "numpy")


def resolve_rule(name):
    """The rule class for a ``--rule`` short name (or a SPAIC rule name)."""
    import importlib
    from ..rules import RULES
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
    chunk: int = 100              # presentations per simulation chunk (part of the result)
    checkpoint_every: int = 500   # presentations between checkpoints (0: only at the end of
                                  # training, at the end, and on interruption)
    resume: str = None            # checkpoint directory (or a job's --out) to continue from

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
        _int_in("--chunk", self.chunk, 1, 100000)
        _int_in("--checkpoint-every", self.checkpoint_every, 0)
        if self.resume is not None:
            if not isinstance(self.resume, str):
                raise TypeError(f"--resume must be a directory path, got {self.resume!r}")
            if not os.path.isdir(self.resume):
                raise ValueError(f"--resume: no such checkpoint directory {str(self.resume)!r}")
        if n_train_available is not None and self.train > n_train_available:
            raise ValueError(f"--train must be at most {n_train_available} (the training digits "
                             f"available), got {self.train}")
        if n_test_available is not None and self.test > n_test_available:
            raise ValueError(f"--test must be at most {n_test_available} (the held-out digits "
                             f"available), got {self.test}")


def load_rule_for(config):
    from ..rules import load_rule
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
    """One line per phase every few seconds (and at the phase's end): digits done, rate, time
    left. Printed from Python between chunks, the same for every device."""

    def __init__(self, config, every_s=5.0):
        self.config, self.every_s = config, every_s
        self.phase, self.t0, self.done0, self.last = None, 0.0, 0, 0.0

    def __call__(self, phase, done, total):
        now = time.time()
        if phase != self.phase:
            self.phase, self.t0, self.done0, self.last = phase, now, done, now
            return
        if done < total and now - self.last < self.every_s:
            return
        self.last = now
        rate = (done - self.done0) / max(now - self.t0, 1e-9)
        left = (total - done) / rate if rate > 0 else 0.0
        _say(self.config, f"  {phase}: {done}/{total} digits, {rate:.1f} digits/s, "
                          f"{_format_seconds(left)} left")


# ---- the job -------------------------------------------------------------------------------
class TrainingInterrupted(KeyboardInterrupt):
    """The job was interrupted (Ctrl-C); ``checkpoint`` is where its completed work is saved
    (None if no chunk had completed)."""

    def __init__(self, message, checkpoint=None, presentations_done=0):
        super().__init__(message)
        self.message, self.checkpoint = message, checkpoint
        self.presentations_done = presentations_done

    def __str__(self):
        return self.message


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


def run_identity(config, rule, n_label, data_sha256):
    """Everything the result of a run depends on, as a checkpoint records it (flag names as
    keys, so that a refusal names the flag). ``--out``, ``--build-dir``, ``--quiet``,
    ``--checkpoint-every`` and the data's path are not part of it."""
    from .. import __version__
    from importlib.metadata import version
    identity = {
        "rule parameters": rule.to_dict(),
        "--neurons": config.neurons, "--train": config.train, "--epochs": config.epochs,
        "--label": n_label, "--test": config.test, "--presentation": config.presentation,
        "--rest": config.rest, "--dt": config.dt, "--intensity": config.intensity,
        "--theta-plus": config.theta_plus, "--seed": config.seed,
        "--split-seed": config.split_seed, "--device": config.device,
        "--target": config.target if config.device == "runtime" else None,
        "--chunk": config.chunk, "data sha256": data_sha256,
        "brian_stdp version": __version__, "brian2 version": version("brian2"),
    }
    return json.loads(json.dumps(identity))  # as it reads back from JSON


def _check_resumed_arrays(arrays, manifest, plan, n_neurons, n_inputs, directory):
    """The checkpoint's arrays and progress, checked against this run's plan and sizes."""
    from .checkpoint import CheckpointError
    where = f"--resume {directory!r}"
    progress = manifest["progress"]
    chunks_done = progress.get("chunks_done")
    done = progress.get("presentations_done")
    if (not isinstance(chunks_done, int) or isinstance(chunks_done, bool)
            or not 1 <= chunks_done <= len(plan) or not isinstance(done, int)
            or done != plan[chunks_done - 1][0] + plan[chunks_done - 1][1]):
        raise CheckpointError(f"{where}: its progress ({chunks_done!r} chunks, {done!r} "
                              "presentations) is not a chunk boundary of this run")
    listed = manifest["arrays"].get("keys")
    if listed != sorted(arrays):
        raise CheckpointError(f"{where}: the array file holds {sorted(arrays)}, the manifest "
                              f"lists {listed}")
    for key in ("weights", "counts"):
        if key not in arrays:
            raise CheckpointError(f"{where}: the array file lacks {key!r}")
    for key, value in arrays.items():
        if value.dtype == bool or not (np.issubdtype(value.dtype, np.integer)
                                       or np.issubdtype(value.dtype, np.floating)):
            raise CheckpointError(f"{where}: array {key!r} has dtype {value.dtype}, not numbers")
        if not np.all(np.isfinite(value)):
            raise CheckpointError(f"{where}: array {key!r} holds NaN or inf")
        if key == "weights":
            expected = [(n_neurons, n_inputs)]
        elif key == "counts":
            expected = [(done, n_neurons)]
        else:
            expected = [(n_neurons,), (n_inputs,)]
        if value.shape not in expected:
            raise CheckpointError(f"{where}: array {key!r} has shape {value.shape}, expected "
                                  f"{' or '.join(map(str, expected))}")
    if not np.issubdtype(arrays["counts"].dtype, np.integer) or arrays["counts"].min(
            initial=0) < 0:
        raise CheckpointError(f"{where}: the spike counts must be non-negative integers")
    return chunks_done, done


def _refuse_to_overwrite_unfinished(checkpoint_dir, out):
    """A new job would replace the checkpoint in ``OUT/checkpoint``: refuse if it holds an
    interrupted job's work (or cannot be read), rather than lose it."""
    from .checkpoint import MANIFEST
    path = os.path.join(checkpoint_dir, MANIFEST)
    if not os.path.exists(path):
        return
    try:
        with open(path) as handle:
            progress = json.load(handle)["progress"]
        finished = progress["chunks_done"] == progress["chunks_total"]
    except (OSError, ValueError, KeyError, TypeError):
        finished = False
    if not finished:
        raise ValueError(f"--out {out!r} holds the checkpoint of an unfinished job "
                         f"({checkpoint_dir}): continue it with --resume {out}, or remove that "
                         "directory (or choose another --out) to start afresh")


def run_mnist(config):
    """Run the whole job; return the results dict (also written to ``config.out``).

    The presentations (training, then labelling and held-out testing with learning frozen) run
    in chunks of ``config.chunk`` (see :mod:`brian_stdp.mnist.chunks` for why a chunk depends
    only on its starting state, the seed and its index). A checkpoint (see
    :mod:`brian_stdp.mnist.checkpoint`) is written to ``OUT/checkpoint`` every
    ``config.checkpoint_every`` presentations (rounded up to whole chunks), at the end of
    training, at the end, and when the job is interrupted or fails after a chunk completed;
    the interruption is then raised as :class:`TrainingInterrupted`. ``config.resume`` continues
    from a checkpoint, to the same result as the uninterrupted run with the same settings.
    """
    from . import checkpoint as ckpt
    from . import chunks
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
    n_eval = n_label + config.test
    n_total = len(presentations)
    n_inputs = X.shape[1]
    presentation_steps = int(round(config.presentation / config.dt))
    period_steps = presentation_steps + int(round(config.rest / config.dt))
    period_s = period_steps * config.dt / 1000.0
    weights0 = (_initial_int_weights(rule, config.neurons, n_inputs, rng) if integer
                else _initial_weights(rule, config.neurons, n_inputs, rng))
    plan = chunks.plan_chunks(n_train_total, n_eval, config.chunk)
    identity = run_identity(config, rule, n_label, ckpt.data_fingerprint(X, y))

    # Resuming: everything about the checkpoint is verified before any Brian2 object exists.
    chunks_done, state, counts_done, resumed_from = 0, None, (), None
    if config.resume is not None:
        directory, manifest, arrays = ckpt.load(config.resume)
        ckpt.check_identity(manifest, identity, directory)
        chunks_done, done = _check_resumed_arrays(arrays, manifest, plan, config.neurons,
                                                  n_inputs, directory)
        counts_done = (np.asarray(arrays.pop("counts"), dtype=np.int32),)
        state = arrays
        resumed_from = {"checkpoint": os.path.abspath(directory),
                        "presentations_done": done}
    checkpoint_dir = os.path.join(config.out, "checkpoint")
    if config.resume is None:
        _refuse_to_overwrite_unfinished(checkpoint_dir, config.out)
    os.makedirs(config.out, exist_ok=True)
    _say(config, f"brian_stdp mnist: rule {rule.name}, {config.neurons} neurons, "
                 f"{config.train} training digits x {config.epochs} epoch(s), "
                 f"{n_label} labelling, {config.test} held-out; device {config.device}"
                 + (f"; resuming after {resumed_from['presentations_done']} of {n_total} "
                    f"presentations" if resumed_from else ""))

    timings = {"build_s": 0.0, "simulation_s": 0.0, "training_s": 0.0, "evaluation_s": 0.0}
    progress = _Progress(config)
    written = {"chunks": chunks_done if resumed_from and os.path.abspath(
        ckpt.resolve_directory(config.resume)) == os.path.abspath(checkpoint_dir) else -1,
        "presentations": resumed_from["presentations_done"] if resumed_from else 0}
    # (chunks done, carried state after them, spike counts of each chunk), replaced by ONE
    # assignment after each chunk, so that a Ctrl-C never leaves them out of step.
    committed = (chunks_done, state, counts_done)

    def save(snapshot):
        n_chunks, chunk_state, chunk_counts = snapshot
        done = plan[n_chunks - 1][0] + plan[n_chunks - 1][1]
        arrays = dict(chunk_state)
        arrays["counts"] = np.concatenate(chunk_counts)
        ckpt.write(checkpoint_dir, identity, {
            "chunks_done": n_chunks, "chunks_total": len(plan), "presentations_done": done,
            "presentations_total": n_total, "training_presentations": n_train_total,
            "training_done": done >= n_train_total}, arrays)
        written.update(chunks=n_chunks, presentations=done)

    device_set = False
    previous_stop_pref = None
    try:
        if chunks_done < len(plan):
            import brian2
            from . import network
            previous_stop_pref = brian2.prefs.core.stop_on_keyboard_interrupt
            # Ctrl-C must raise KeyboardInterrupt, never end a run early as if it had finished.
            brian2.prefs.core.stop_on_keyboard_interrupt = False
            brian2.start_scope()
            if config.device == "cpp_standalone":
                build_dir = config.build_dir or os.path.join(data_module.cache_dir(),
                                                             "standalone_mnist")
                from brian2.devices.device import all_devices
                all_devices["cpp_standalone"].reinit()  # a fresh project, even after a run
                brian2.set_device("cpp_standalone", build_on_run=False, directory=build_dir)
                brian2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
                device_set = True
            else:
                brian2.set_device("runtime")
                brian2.prefs.codegen.target = config.target
            t_setup = time.time()
            template = np.zeros((config.chunk, n_inputs))
            if integer:
                parts = network.build_int(rule, config.neurons, template, period_steps,
                                          presentation_steps, config.dt, weights0, config.seed)
            else:
                parts = network.build(rule, config.neurons, template, period_steps,
                                      presentation_steps, config.dt, weights0,
                                      config.theta_plus, config.seed)
            net = parts["network"]
            if config.device == "cpp_standalone":
                # Every kind of chunk of the whole job, also when resuming: the same program,
                # so a resumed job in the same --build-dir compiles nothing again.
                kinds = {(length, learning) for _, length, learning in plan}
                # The build directory must be named again here: without it Brian2 builds in
                # a new temporary directory, and an unchanged network (a resumed job) would
                # recompile everything.
                runner = chunks.StandaloneRunner(parts, net, config.chunk, kinds, build_dir)
                _say(config, "compiling the standalone program (once) ...")
                runner.build(with_output=config.progress)
                device = brian2.get_device()
                timings["build_s"] = float(sum(v for v in device.timers["compile"].values()
                                               if v))
            else:
                runner = chunks.RuntimeRunner(parts, net, config.chunk)
            if state is not None and sorted(state) != sorted(runner.keys()):
                raise ckpt.CheckpointError(
                    f"--resume: the checkpoint carries {sorted(state)}, this network needs "
                    f"{sorted(runner.keys())}")
            timings["network_setup_s"] = time.time() - t_setup - timings["build_s"]
            cpu0 = time.process_time()
            import resource  # POSIX: CPU time of the compiler and the standalone program
            children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            for index in range(chunks_done, len(plan)):
                start, length, learning = plan[index]
                phase = "training" if learning else "labelling+testing"
                first = 0 if learning else n_train_total
                phase_total = n_train_total if learning else n_eval
                progress(phase, start - first, phase_total)
                rows = X[presentations[start:start + length]] / 4.0 * config.intensity
                t0 = time.time()
                new_state, spike_i, spike_t = runner.run(
                    index, rows, learning, chunks.chunk_seed(config.seed, index), committed[1])
                timings["training_s" if learning else "evaluation_s"] += time.time() - t0
                sample = np.minimum((spike_t / period_s + 1e-6).astype(int), length - 1)
                chunk_counts = np.zeros((length, config.neurons), dtype=np.int32)
                np.add.at(chunk_counts, (sample, spike_i), 1)
                committed = (index + 1, new_state, committed[2] + (chunk_counts,))
                done = start + length
                progress(phase, done - first, phase_total)
                if (done == n_total or done == n_train_total
                        or (config.checkpoint_every > 0
                            and done - written["presentations"] >= config.checkpoint_every)):
                    save(committed)
                if chunks.sigint_hook(index)[0]:
                    chunks.send_sigint()
            children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            timings["simulation_s"] = runner.timings["simulation_s"]
            if config.device == "cpp_standalone":
                timings["build_and_simulation_cpu_s"] = (
                    children1.ru_utime + children1.ru_stime
                    - children0.ru_utime - children0.ru_stime)
            else:
                timings["simulation_cpu_s"] = time.process_time() - cpu0
    except BaseException as error:
        # Whatever stopped the job, the chunks it completed are kept.
        saved = None
        chunks_done = committed[0]
        if chunks_done > 0 and written["chunks"] != chunks_done:
            try:
                save(committed)
            except Exception as save_error:  # noqa: BLE001
                print(f"brian-stdp mnist: could not write the checkpoint ({save_error})",
                      file=sys.stderr)
        if chunks_done > 0 and written["chunks"] == chunks_done:
            saved = checkpoint_dir
        if isinstance(error, KeyboardInterrupt) and not isinstance(error, TrainingInterrupted):
            done = plan[chunks_done - 1][0] + plan[chunks_done - 1][1] if chunks_done else 0
            if saved:
                message = (f"interrupted after {done} of {n_total} presentations "
                           f"({min(done, n_train_total)} of {n_train_total} training); "
                           f"checkpoint in {saved}. Continue with the same options and "
                           f"--resume {saved}")
            else:
                message = "interrupted before the first chunk completed; nothing to save"
            raise TrainingInterrupted(message, saved, done) from None
        raise
    finally:
        if previous_stop_pref is not None:
            import brian2
            brian2.prefs.core.stop_on_keyboard_interrupt = previous_stop_pref
        if device_set:
            import brian2
            brian2.get_device().reinit()
            brian2.set_device("runtime")

    _, state, counts_done = committed
    counts = np.concatenate(counts_done)
    weights = np.asarray(state["weights"], dtype=float)
    if integer:
        theta = np.asarray(state["excitatory.thresh"], dtype=float)  # SPAIC's integer threshold
    else:
        theta = np.asarray(state["excitatory.theta"], dtype=float) * 1000.0  # mV
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
    n_simulated = n_total - (resumed_from["presentations_done"] if resumed_from else 0)
    timings["per_presentation_s"] = timings["simulation_s"] / max(n_simulated, 1)
    n_trained_here = max(0, n_train_total - (resumed_from["presentations_done"]
                                             if resumed_from else 0))
    if n_trained_here:
        timings["per_training_digit_s"] = timings["training_s"] / n_trained_here
    timings["per_evaluation_digit_s"] = timings["evaluation_s"] / max(
        1, min(n_eval, n_simulated))
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
        "data": {**data_info, "sha256": identity["data sha256"],
                 "n_train_available": int(len(train_order)),
                 "n_held_out_available": int(len(held_out_order)),
                 "train_presentations": int(n_train_total), "label_presentations": int(n_label),
                 "test_presentations": int(config.test)},
        "checkpoint": {"directory": os.path.abspath(checkpoint_dir), "chunks": len(plan),
                       "resumed_from": resumed_from},
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
