"""Train, label, test: the whole unsupervised MNIST job, and what it writes.

:func:`run_mnist` reads top to bottom: check the settings, plan the job (which digit each
presentation shows, the chunks, the initial weights) and verify a checkpoint to resume from,
all before any Brian2 object exists; run the chunks (:mod:`brian_stdp.mnist.chunks`) on the
network of :mod:`brian_stdp.mnist.network`, writing checkpoints
(:mod:`brian_stdp.mnist.checkpoint`); score the held-out digits
(:mod:`brian_stdp.mnist.scoring`); write the outputs (:mod:`brian_stdp.mnist.outputs`).
"""
import contextlib
import dataclasses
import functools
import os
import signal
import time
from typing import Callable, NamedTuple, Optional

import numpy as np

from . import checkpoint as ckpt
from .. import brian2_private
from . import builds, chunks, data, defaults, network, outputs, scoring, signals
from .config import MnistConfig, run_identity
from .device import brian_device
from .progress import Progress, say

__all__ = ["run_mnist", "TrainingInterrupted", "ChunkReport", "accuracy_text"]


class TrainingInterrupted(KeyboardInterrupt):
    """The job was interrupted (Ctrl-C, or SIGTERM: ``signum`` says which); ``checkpoint`` is
    where its completed work is saved (None if no chunk had completed)."""

    def __init__(self, message, checkpoint=None, presentations_done=0, signum=signal.SIGINT):
        super().__init__(message)
        self.message, self.checkpoint = message, checkpoint
        self.presentations_done = presentations_done
        self.signum = signal.Signals(signum)

    def __str__(self):
        return self.message


@dataclasses.dataclass
class _Plan:
    """Everything about a job decided before any Brian2 object exists."""
    presentations: np.ndarray   # digit index of each presentation: training, labelling,
    #                             validation, held-out
    n_train: int                # training presentations (all epochs)
    n_label: int
    n_validation: int
    n_test: int
    train_chunk: int            # periods per training chunk
    eval_chunk: int             # periods per labelling+testing chunk
    protocol: dict              # network.build's protocol: intensity, re-presentation, ...
    initial_weights: np.ndarray
    presentation_steps: int
    period_steps: int
    period_s: float
    identity: dict              # what a checkpoint must match (config.run_identity)

    @property
    def n_inputs(self):
        return self.initial_weights.shape[1]

    @property
    def n_eval(self):
        return self.n_label + self.n_validation + self.n_test

    @property
    def n_total(self):
        return len(self.presentations)

    def next_chunk(self, digits_done):
        """``(learning, first digit, end of its digits, periods)`` of the chunk that starts
        after ``digits_done`` digits: a chunk never spans the two phases."""
        learning = digits_done < self.n_train
        end = self.n_train if learning else self.n_total
        periods = self.train_chunk if learning else self.eval_chunk
        return learning, digits_done, min(digits_done + periods, end), periods


class _Completed(NamedTuple):
    """The work of the chunks done so far, replaced as a whole after each chunk so that a
    Ctrl-C never finds its parts out of step."""
    chunks: int                 # chunks done
    state: Optional[dict]       # the carried state after them (None: the built network's)
    counts: tuple               # spike counts [digits, neurons] of each digit's accepted period
    digits: int = 0             # digits done (accepted), training then labelling+testing
    repeat: int = 0             # times the next digit has already been shown (a repetition
    #                             that continues into the next chunk)
    repeats: tuple = (0, 0)     # periods that were repetitions: (training, labelling+testing)

    def presenter_arrays(self):
        return {"presenter.repeat": np.array(self.repeat),
                "presenter.repeats": np.array(self.repeats)}


class ChunkReport(NamedTuple):
    """What :func:`run_mnist` tells its ``on_chunk`` callback after every chunk."""
    chunks: int                 # chunks done
    learning: bool              # the chunk just done was a training chunk
    training_done: int          # training presentations done (accepted digits)
    n_train: int                # training presentations of the whole job
    counts: np.ndarray          # [training_done, neurons]: spike counts of each accepted digit
    labels: np.ndarray          # [training_done]: their classes
    compiled: Optional[bool] = None  # cpp_standalone: this job compiled its program


def run_mnist(config: MnistConfig, on_chunk: Optional[Callable[[ChunkReport], None]] = None,
              settings_at_run_time: bool = False) -> dict:
    """Run the whole job; return the results dict (also written to ``config.out``).

    ``on_chunk`` (optional) is called with a :class:`ChunkReport` after every chunk (after its
    checkpoint, if one was due); an exception it raises stops the job like any failure (the
    completed chunks are kept). ``settings_at_run_time``: intensity, intensity step,
    re-presentation limits, theta_plus and inhibition are shared variables set before every
    run rather than compiled-in constants, so that a cpp_standalone program serves every value
    of them (``brian-stdp tune``); the job itself keeps them constants.

    The presentations (training, then labelling and held-out testing with learning frozen) run
    in chunks of ``config.chunk`` (see :mod:`brian_stdp.mnist.chunks` for why a chunk depends
    only on its starting state, the seed and its index). A checkpoint (see
    :mod:`brian_stdp.mnist.checkpoint`) is written to ``OUT/checkpoint`` every
    ``config.checkpoint_every`` presentations (rounded up to whole chunks), at the end of
    training, at the end, and when the job is interrupted or fails after a chunk completed;
    the interruption (Ctrl-C, or SIGTERM, which raises :class:`~.signals.Terminated` while the
    job runs; see :mod:`brian_stdp.mnist.signals`) is then raised as
    :class:`TrainingInterrupted`. ``config.resume`` continues from a checkpoint, to the same
    result as the uninterrupted run with the same settings. The SIGTERM handler that was there
    before is put back when the job ends.
    """
    brian2_private.keep_sigint_ignored()  # nohup: a SIGINT stays ignored
    with signals.sigterm_interrupts():
        try:
            return _run_mnist(config, on_chunk, settings_at_run_time)
        except KeyboardInterrupt as interrupt:
            signals.release_abandoned(interrupt)  # a half-built network, if it stopped one
            if isinstance(interrupt, TrainingInterrupted):
                raise
            # Before the first chunk (loading the digits, building, compiling): nothing done.
            signum = signals.signal_of(interrupt)
            how = "interrupted" if signum == signal.SIGINT else f"stopped by {signum.name}"
            raise TrainingInterrupted(f"{how} before any digit was simulated: nothing to keep; "
                                      "run the same command again to start", None, 0,
                                      signum) from None


def _run_mnist(config, on_chunk=None, settings_at_run_time=False):
    t_start = time.time()
    config.check()
    outputs.prepare_out(config)
    rule = config.make_rule()
    X, y, train_order, held_out_order, data_info = data.load_job_digits(
        config.data, config.test_data, config.split_seed)
    config.check(len(train_order), len(held_out_order))
    config = config.with_digits(len(train_order))
    fit_order, validation_order = data.carve_validation(y, train_order, config.validation,
                                                        config.split_seed)
    if config.mean_pixel is not None:
        X = data.scale_to_mean_pixel(X, config.mean_pixel)
    plan = _plan(config, rule, X, y, fit_order, validation_order, held_out_order)
    start, resumed_from = _starting_point(config, plan)
    checkpoints = ckpt.Keeper(config, plan, start.chunks, resumed_from)
    os.makedirs(config.out, exist_ok=True)
    say(config, f"brian_stdp mnist: rule {rule.name}, {config.neurons} neurons, "
                f"{config.train} training digits x {config.epochs} epoch(s), "
                f"{plan.n_label} labelling, {plan.n_validation} validation, {config.test} "
                f"held-out; device {config.device}"
                + (f"; resuming after {resumed_from['presentations_done']} of {plan.n_total} "
                   f"presentations" if resumed_from else ""))

    timings = {"build_s": 0.0, "simulation_s": 0.0, "training_s": 0.0, "evaluation_s": 0.0}
    report = None if on_chunk is None else _reporter(on_chunk, plan, y, timings)
    completed = _run_chunks(config, rule, X, plan, start, checkpoints, timings, report,
                            settings_at_run_time)
    try:
        return _finish(config, rule, y, plan, completed, checkpoints, timings, resumed_from,
                       data_info, train_order, held_out_order, t_start)
    except KeyboardInterrupt as interrupt:
        # Every digit is simulated and checkpointed: --resume writes the outputs again.
        with signals.deferred(deliver=False):
            saved = checkpoints.keep(completed)
        raise _interruption(plan, completed, saved, signals.signal_of(interrupt)) from None


def _finish(config, rule, y, plan, completed, checkpoints, timings, resumed_from, data_info,
            train_order, held_out_order, t_start):
    """Score the simulated job, write its outputs, return its results."""

    counts = np.concatenate(completed.counts)
    assignment, scores = scoring.score(counts, y[plan.presentations], plan.n_train,
                                       plan.n_label, plan.n_validation)
    weights = np.asarray(completed.state["weights"], dtype=float)
    if rule.integer:
        theta = np.asarray(completed.state["excitatory.thresh"], dtype=float)  # SPAIC's units
    else:
        theta = np.asarray(completed.state["excitatory.theta"], dtype=float) * 1000.0  # mV
    _per_digit_timings(timings, plan, resumed_from, t_start)
    results = {
        **scores,
        "rule": rule.to_dict(),
        "config": dataclasses.asdict(config),
        "seeds": {"network": config.seed, "split": config.split_seed},
        "data": {**data_info, "sha256": plan.identity["data sha256"],
                 "n_train_available": int(len(train_order)),
                 "n_held_out_available": int(len(held_out_order)),
                 "train_presentations": int(plan.n_train),
                 "label_presentations": int(plan.n_label),
                 "validation_presentations": int(plan.n_validation),
                 "test_presentations": int(plan.n_test),
                 "validation": ("a class-balanced part of the training digits chosen by "
                                "--split-seed, never trained or labelled on")},
        "checkpoint": {"directory": os.path.abspath(checkpoints.directory),
                       "chunks": completed.chunks, "resumed_from": resumed_from},
        "protocol": {**plan.protocol,
                     "repeats": {"training": completed.repeats[0],
                                 "labelling+testing": completed.repeats[1]},
                     "periods": {"training": plan.n_train + completed.repeats[0],
                                 "labelling+testing": plan.n_eval + completed.repeats[1]}},
        "timings": timings,
        "versions": outputs.versions(),
    }
    outputs.write_outputs(config.out, results, weights, theta, assignment)
    say(config, accuracy_text(results, config)
                + f"; build {timings['build_s']:.1f} s, simulation "
                f"{timings['simulation_s']:.1f} s ({timings['per_presentation_s'] * 1000:.1f} "
                f"ms per presentation), total {timings['total_s']:.1f} s; outputs in "
                f"{os.path.abspath(config.out)}")
    return results


def accuracy_text(results, config):
    """The job's last line: the validation accuracy (to choose settings on), then the held-out
    one (to report)."""
    parts = []
    if results["validation_accuracy"] is not None:
        parts.append(f"validation accuracy {results['validation_accuracy'] * 100:.1f}% on "
                     f"{config.validation} digits")
    if results["accuracy"] is not None:
        parts.append(f"held-out accuracy {results['accuracy'] * 100:.1f}% on {config.test} "
                     "digits")
    return "; ".join(parts) + " (chance 10%)"


# ---- plan ----------------------------------------------------------------------------------
def _plan(config, rule, X, y, fit_order, validation_order, held_out_order):
    train_idx = fit_order[:config.train]
    label_idx = fit_order[:config.n_label]  # the first training digits (any, if --train 0)
    test_idx = held_out_order[:config.test]
    rng = np.random.default_rng(config.seed)
    # Epoch 1 in the split's (shuffled) order, later epochs reshuffled.
    epochs = [train_idx] + [rng.permutation(train_idx) for _ in range(config.epochs - 1)]
    n_train = config.train * config.epochs
    n_eval = config.n_label + len(validation_order) + config.test
    n_inputs = X.shape[1]
    settings = defaults.resolve(config, rule)
    protocol = dict(settings, min_spikes=config.min_spikes, max_repeats=config.max_repeats,
                    intensity_step=config.intensity_step)
    presentation_steps = int(round(config.presentation / config.dt))
    period_steps = presentation_steps + int(round(config.rest / config.dt))
    weights = (_initial_int_weights(rule, config.neurons, n_inputs, rng) if rule.integer
               else _initial_weights(rule, config.neurons, n_inputs, rng))
    return _Plan(presentations=np.concatenate(epochs + [label_idx, validation_order,
                                                        test_idx]),
                 n_train=n_train, n_label=config.n_label, n_validation=len(validation_order),
                 n_test=config.test,
                 train_chunk=min(config.chunk, n_train), eval_chunk=min(config.chunk, n_eval),
                 protocol=protocol, initial_weights=weights, presentation_steps=presentation_steps,
                 period_steps=period_steps, period_s=period_steps * config.dt / 1000.0,
                 identity=run_identity(config, rule, ckpt.data_fingerprint(X, y), settings))


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


def _starting_point(config, plan):
    """``(completed work, resumed_from)``: nothing done for a fresh job; for ``--resume``, the
    checkpoint's work, verified against this job (resumed_from says where it came from)."""
    if config.resume is None:
        return _Completed(0, None, ()), None
    directory, manifest, arrays = ckpt.load(config.resume)
    ckpt.check_identity(manifest, plan.identity, directory)
    n_chunks, done = ckpt.check_arrays(arrays, manifest, plan.n_total, config.neurons,
                                       plan.n_inputs, directory)
    counts = np.asarray(arrays.pop("counts"), dtype=np.int32)
    repeat = int(arrays.pop("presenter.repeat"))
    repeats = tuple(int(n) for n in arrays.pop("presenter.repeats"))
    return (_Completed(n_chunks, arrays, (counts,), done, repeat, repeats),
            {"checkpoint": os.path.abspath(directory), "presentations_done": done})


# ---- chunks --------------------------------------------------------------------------------
def _run_chunks(config, rule, X, plan, start, checkpoints, timings, report=None,
                settings_at_run_time=False):
    """Run the chunks after ``start``; return the completed work. Whatever stops the job, the
    completed chunks are kept; Ctrl-C and SIGTERM are raised as :class:`TrainingInterrupted`."""
    if start.digits == plan.n_total:
        return start
    completed = start
    progress = Progress(config)
    try:
        with brian_device(config.device, config.target, config.build_dir) as project, \
                contextlib.ExitStack() as held:
            runner = _runner(config, rule, plan, project, start, timings,
                             settings_at_run_time, held)
            import resource  # POSIX: CPU time of the compiler and the standalone program
            cpu0 = time.process_time()
            children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            while completed.digits < plan.n_total:
                learning = completed.digits < plan.n_train
                phase, first, total = (("training", 0, plan.n_train) if learning else
                                       ("labelling+testing", plan.n_train, plan.n_eval))
                progress(phase, completed.digits - first, total)
                completed = _run_chunk(config, X, plan, runner, completed, timings)
                progress(phase, completed.digits - first, total)
                checkpoints.after_chunk(completed)
                if report is not None:
                    report(completed, learning)
            children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            timings["simulation_s"] = runner.timings["simulation_s"]
            if project is not None:
                timings["build_and_simulation_cpu_s"] = (
                    children1.ru_utime + children1.ru_stime
                    - children0.ru_utime - children0.ru_stime)
            else:
                timings["simulation_cpu_s"] = time.process_time() - cpu0
    except BaseException as error:
        # The job is stopping: a further Ctrl-C or SIGTERM while its work is saved is dropped,
        # so that the save completes and the first interruption's message says where it is.
        with signals.deferred(deliver=False):
            saved = checkpoints.keep(completed)
        if isinstance(error, KeyboardInterrupt) and not isinstance(error, TrainingInterrupted):
            raise _interruption(plan, completed, saved, signals.signal_of(error)) from None
        raise
    return completed


def _reporter(on_chunk, plan, y, timings):
    """The callback of the chunk loop: ``on_chunk`` called with the training so far."""
    def report(completed, learning):
        training_done = min(completed.digits, plan.n_train)
        counts = np.concatenate(completed.counts)[:training_done]
        on_chunk(ChunkReport(completed.chunks, learning, training_done, plan.n_train, counts,
                             y[plan.presentations[:training_done]], timings.get("compiled")))
    return report


def _runner(config, rule, plan, project, start, timings, settings_at_run_time, held):
    """Build the network and its chunk runner (compiling the standalone program, unless a
    process already has); ``held`` closes the runner when the job ends."""
    t_setup = time.time()
    template = np.zeros((config.chunk, plan.n_inputs))
    build = network.build_int if rule.integer else functools.partial(
        network.build, row_scaling=config.row_scaling)
    parts = build(rule, config.neurons, template, plan.period_steps, plan.presentation_steps,
                  config.dt, plan.initial_weights, plan.protocol, config.seed,
                  settings_at_run_time=settings_at_run_time)
    if project is not None:
        # Every kind of chunk of the whole job, also when resuming: the same program, so a
        # resumed job in the same --build-dir compiles nothing again.
        kinds = {(plan.eval_chunk, False)} | ({(plan.train_chunk, True)} if plan.n_train else set())
        runner = chunks.StandaloneRunner(parts, parts["network"], config.chunk, kinds, project)
        held.callback(runner.close)
        started = time.time()
        timings["compiled"] = runner.build(
            on_compile=lambda: say(config, "compiling the standalone program ..."),
            keep=builds.KEEP if config.build_dir is None else None)
        timings["build_s"] = time.time() - started
    else:
        runner = chunks.RuntimeRunner(parts, parts["network"], config.chunk)
    if start.state is not None and sorted(start.state) != sorted(runner.keys()):
        raise ckpt.CheckpointError(
            f"--resume: the checkpoint carries {sorted(start.state)}, this network needs "
            f"{sorted(runner.keys())}")
    timings["network_setup_s"] = time.time() - t_setup - timings["build_s"]
    return runner


def _run_chunk(config, X, plan, runner, completed, timings):
    """Simulate the next chunk after the completed work; return the work including it."""
    index = completed.chunks
    learning, first, end, periods = plan.next_chunk(completed.digits)
    rows = X[plan.presentations[first:end]] / 4.0  # base rates, Hz; the network scales them
    t0 = time.time()
    state, spike_i, spike_t, presenter_end = runner.run(
        index, rows, periods, learning, chunks.chunk_seed(config.seed, index), completed.state,
        completed.repeat)
    timings["training_s" if learning else "evaluation_s"] += time.time() - t0
    by_period = chunks.spike_counts(spike_i, spike_t, plan.period_s, periods, config.neurons)
    accepted, repeat, repeats = chunks.accepted_periods(
        by_period.sum(axis=1), completed.repeat, end - first, config.min_spikes,
        config.max_repeats)
    if (len(accepted), repeat) != presenter_end:
        raise RuntimeError(f"chunk {index}: the simulation's presenter ended at digit "
                           f"{presenter_end[0]} (repeat {presenter_end[1]}), its spikes say "
                           f"{len(accepted)} (repeat {repeat})")
    phase_repeats = list(completed.repeats)
    phase_repeats[0 if learning else 1] += repeats
    return _Completed(index + 1, state, completed.counts + (by_period[accepted],),
                      first + len(accepted), repeat, tuple(phase_repeats))


def _interruption(plan, completed, saved, signum):
    """The :class:`TrainingInterrupted` telling how to continue a job stopped by ``signum``
    (SIGINT, i.e. Ctrl-C, or SIGTERM)."""
    done = completed.digits
    how = "interrupted" if signum == signal.SIGINT else f"stopped by {signum.name}"
    if saved:
        message = (f"{how} after {done} of {plan.n_total} presentations "
                   f"({min(done, plan.n_train)} of {plan.n_train} training); checkpoint in "
                   f"{saved}. Continue with: brian-stdp mnist --resume {saved}")
    else:
        message = (f"{how} before the first chunk completed: nothing to keep; run the same "
                   "command again to start")
    return TrainingInterrupted(message, saved, done, signum)


# ---- results -------------------------------------------------------------------------------
def _per_digit_timings(timings, plan, resumed_from, t_start):
    """Add the total and the times per simulated presentation (this process's share)."""
    timings["total_s"] = time.time() - t_start
    done_before = resumed_from["presentations_done"] if resumed_from else 0
    n_simulated = plan.n_total - done_before
    timings["per_presentation_s"] = timings["simulation_s"] / max(n_simulated, 1)
    n_trained_here = max(0, plan.n_train - done_before)
    if n_trained_here:
        timings["per_training_digit_s"] = timings["training_s"] / n_trained_here
    timings["per_evaluation_digit_s"] = timings["evaluation_s"] / max(
        1, min(plan.n_eval, n_simulated))
