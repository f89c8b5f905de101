"""One trial: the MNIST job with a trial's settings, scored on validation digits.

The validation digits are carved from the job's training digits, never from its held-out
(test) digits: :func:`training_digits_file` writes the training digits alone to
``OUT/training_digits.npz``, and every trial runs the job on that file (``--data``), whose
own class-balanced split (``--split-seed``) then keeps 20% of them aside. The trial's value is
the job's held-out accuracy on those validation digits.

While the job trains, after every chunk the accuracy of its latest training blocks (each block
labelled by the block before it, the job's own training curve,
:func:`brian_stdp.mnist.scoring.training_curve`) is reported to Optuna, which may stop the trial
there (pruning).
"""
import dataclasses
import hashlib
import json
import os
import shutil
import socket
import time

import numpy as np

from ..mnist import data, scoring
from ..mnist.config import MnistConfig
from ..mnist.pipeline import run_mnist
from ..rules import rule_class

__all__ = ["training_digits_file", "trial_job", "Objective", "program_key"]

#: Which of the validation file's digits validate: its split_digits fraction.
VALIDATION_FRACTION = data.HELD_OUT_FRACTION


def training_digits_file(base: MnistConfig, out: str) -> tuple:
    """Write the job's training digits (``--data``, split by ``--split-seed`` as the job
    splits them; never its held-out digits) to ``OUT/training_digits.npz``; return ``(path,
    sha256 of the digits, number of training digits, number of validation digits)``."""
    X, y, train_order, _, _ = data.load_job_digits(base.data, None, base.split_seed)
    X_train = np.asarray(X[train_order], dtype=np.uint8)
    y_train = np.asarray(y[train_order], dtype=np.int64)
    digest = hashlib.sha256(X_train.tobytes() + y_train.tobytes()).hexdigest()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "training_digits.npz")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp.npz"  # workers starting together: write, then rename
        np.savez(tmp, X=X_train, y=y_train)
        os.replace(tmp, path)
    fit, validate = data.split_digits(y_train, seed=base.split_seed)
    return path, digest, len(fit), len(validate)


def trial_job(base: MnistConfig, job: dict, rule_parameters: dict) -> tuple:
    """``(config, rule)`` of a trial: the study's base settings with the trial's job settings,
    and the base rule with the trial's rule parameters (ValueError if the rule refuses the
    combination, e.g. w_min above w_max)."""
    rule = base.make_rule()
    rule = rule_class(rule.name).from_dict(
        {"rule": rule.name, "parameters": {**rule.to_dict()["parameters"], **rule_parameters}})
    return dataclasses.replace(base, **job), rule


def program_key(config: MnistConfig, rule) -> str:
    """What a cpp_standalone program depends on besides its run-time settings: trials with the
    same key run the same compiled program (settings as run arguments)."""
    from ..mnist.network import RUN_TIME_SETTINGS
    fields = {k: v for k, v in dataclasses.asdict(config).items()
              if k not in RUN_TIME_SETTINGS and k not in ("out", "build_dir", "progress",
                                                          "rule_file", "data", "test_data")}
    text = json.dumps([fields, rule.to_dict()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _build_stamps(build_dir):
    """``{file: modification time}`` of what building a standalone project writes, its object
    files and its program (``main``): a compile or a link changes them."""
    stamps = {}
    for root, _, names in os.walk(build_dir):
        for name in names:
            if name.endswith(".o") or (name == "main" and root == build_dir):
                path = os.path.join(root, name)
                stamps[os.path.relpath(path, build_dir)] = os.stat(path).st_mtime_ns
    return stamps


class Objective:
    """The function a study optimises: ``objective(trial)`` runs the job once per network seed
    and returns the mean of its validation accuracies.

    ``base``: the study's fixed settings (``data`` the training-digits file, ``test`` the
    validation digits); ``space``: the :class:`~brian_stdp.tune.space.SearchSpace`;
    ``out``: the study directory; ``builds``: this worker's standalone build directory (one
    program per :func:`program_key` under it); ``say``: where progress lines go; ``seeds``:
    network seeds per trial, ``base.seed`` and the ones after it (a trial's settings judged on
    one network seed are judged partly on that network's luck).
    """

    def __init__(self, base, space, out, builds, say=print, seeds=1):
        self.base, self.space, self.out, self.builds, self.say = base, space, out, builds, say
        self.seeds = seeds

    def __call__(self, trial):
        import optuna
        # Which process ran it (the study's table; several machines share one study).
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        job, rule_parameters = self.space.suggest(trial)
        config, rule = trial_job(self.base, job, rule_parameters)
        directory = os.path.join(self.out, "trials", f"{trial.number:05d}")
        os.makedirs(directory, exist_ok=True)
        rule_file = os.path.join(directory, "rule.json")
        rule.save(rule_file)
        config = dataclasses.replace(config, rule_file=rule_file, progress=False,
                                     checkpoint_every=0, resume=None)
        judge = _Judge(trial, steps_per_seed=config.train * config.epochs)
        started, rebuilt, results = time.time(), [], []
        try:
            for k in range(self.seeds):
                seed_directory = (directory if self.seeds == 1
                                  else os.path.join(directory, f"seed{config.seed + k}"))
                judge.seed_index = k
                results.append(self._run(dataclasses.replace(
                    config, seed=config.seed + k, out=seed_directory), rule, judge, rebuilt))
        except optuna.TrialPruned:
            trial.set_user_attr("pruned_after", judge.last_step)
            raise
        finally:
            if config.device == "cpp_standalone":  # also for a pruned or failed trial
                trial.set_user_attr("compiled", bool(rebuilt))
                trial.set_user_attr("compiled_files",
                                    [name for name in rebuilt if name.endswith(".o")])
                trial.set_user_attr("linked", "main" in rebuilt)
            trial.set_user_attr("seconds", time.time() - started)
        accuracies = [result["accuracy"] for result in results]
        if self.seeds > 1:
            trial.set_user_attr("accuracies", accuracies)
        trial.set_user_attr("build_s", sum(r["timings"]["build_s"] for r in results))
        trial.set_user_attr("simulation_s", sum(r["timings"]["simulation_s"] for r in results))
        repeats = [r["protocol"]["repeats"] for r in results]
        trial.set_user_attr("repeats", repeats if self.seeds > 1 else repeats[0])
        trial.set_user_attr("mean_spikes_per_digit",
                            float(np.mean([r["mean_spikes_per_test_digit"] for r in results])))
        return float(np.mean(accuracies))

    def _run(self, config, rule, judge, rebuilt):
        """One job of the trial: its results; what its build rewrote goes to ``rebuilt``
        (also when the job stops early)."""
        os.makedirs(config.out, exist_ok=True)
        build_dir = None
        if config.device == "cpp_standalone":
            build_dir = os.path.join(self.builds, program_key(config, rule))
        config = dataclasses.replace(config, build_dir=build_dir)
        stamps = _build_stamps(build_dir) if build_dir else {}
        try:
            if config.device == "cpp_standalone":
                results = _run_in_child(config, judge)
            else:
                results = run_mnist(config, on_chunk=_BlockAccuracy(config, judge),
                                    settings_at_run_time=True)
        finally:
            if build_dir:
                # Which object files this job's build compiled, whether it linked the program
                # again (neither: the program as it was)
                rebuilt += sorted(name for name, stamp in _build_stamps(build_dir).items()
                                  if stamps.get(name) != stamp)
            # A job's outputs are not needed again but its results.json (kept): the weights
            # and figures of every trial would fill the disk of a long study.
            for name in os.listdir(config.out):
                if name not in ("results.json", "rule.json"):
                    path = os.path.join(config.out, name)
                    if os.path.isdir(path):
                        shutil.rmtree(path)
                    else:
                        os.remove(path)
        return results


class _Judge:
    """Reports an intermediate value to Optuna; says whether the trial is to stop. The step of
    the trial's k-th seed (from 0) is ``k x steps_per_seed`` + its training digits seen, so
    that every trial reports at the same steps."""

    def __init__(self, trial, steps_per_seed):
        self.trial, self.last_step = trial, None
        self.steps_per_seed, self.seed_index = steps_per_seed, 0

    def __call__(self, value, step):
        step += self.seed_index * self.steps_per_seed
        self.last_step = step
        self.trial.report(value, step=step)
        return self.trial.should_prune()


class _BlockAccuracy:
    """The job's ``on_chunk``: after every training chunk, the mean accuracy of the training
    blocks it completed (each labelled by the block before it, the job's own training curve)
    goes to ``judge(value, training digits seen)``; ``optuna.TrialPruned`` stops the job when
    the judge says so."""

    def __init__(self, config, judge):
        self.block = scoring.block_size(config.train * config.epochs)
        self.judge, self.reported = judge, 0

    def __call__(self, report):
        import optuna
        if not report.learning:
            return
        curve = scoring.training_curve(report.counts, report.labels, self.block)
        new = [point["accuracy"] for point in curve if point["seen"] > self.reported]
        if not new:
            return  # fewer than two blocks yet: nothing to judge
        self.reported = curve[-1]["seen"]
        if self.judge(float(np.mean(new)), self.reported):
            raise optuna.TrialPruned(f"pruned after {self.reported} training digits")


# ---- cpp_standalone: each trial in a fresh process -------------------------------------------
# Brian2 names generated code and orders a run's clocks by what else lives in the process
# (name counters, set order of objects by address), so a second network built in the same
# process generates different source files and recompiles. A fresh process per trial generates
# the same files for the same network, and the build directory's program is reused (only
# changed files are recompiled, as for a resumed job). The child reports its block accuracy
# through a pipe; the parent (which holds the trial and its heartbeat) answers whether to stop.
def _run_in_child(config, judge):
    import multiprocessing

    import optuna
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=_child_main, args=(child_end, config), daemon=True)
    child.start()
    child_end.close()
    try:
        while True:
            try:
                message = parent_end.recv()
            except EOFError:
                child.join()
                raise RuntimeError(f"the trial's process ended without a result (exit status "
                                   f"{child.exitcode})") from None
            kind = message[0]
            if kind == "report":
                parent_end.send(judge(*message[1:]))
            elif kind == "pruned":
                raise optuna.TrialPruned(message[1])
            elif kind == "error":
                raise RuntimeError(f"the trial's job failed: {message[1]}")
            else:
                return message[1]
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def _child_main(connection, config):
    """The trial's process: run the job, send its block accuracy and its result."""
    _die_with_parent()
    import optuna

    def judge(value, step):
        connection.send(("report", value, step))
        return connection.recv()

    try:
        results = run_mnist(config, on_chunk=_BlockAccuracy(config, judge),
                            settings_at_run_time=True)
    except optuna.TrialPruned as pruned:
        connection.send(("pruned", str(pruned)))
    except BaseException as error:  # noqa: BLE001  (reported to the parent, which fails it)
        connection.send(("error", f"{type(error).__name__}: {error}"))
    else:
        connection.send(("done", {key: results[key] for key in (
            "accuracy", "timings", "protocol", "mean_spikes_per_test_digit")}))


def _die_with_parent():
    """Linux: SIGTERM to this process when its parent dies (a killed worker leaves no trial
    running on its own); elsewhere nothing."""
    try:
        import ctypes
        import signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass
