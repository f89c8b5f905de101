"""One trial: the MNIST job with a trial's settings, scored on validation digits.

The validation digits are carved from the job's training digits, never from its held-out
(test) digits: every trial runs the job itself with ``--validation N`` (class-balanced training
digits set aside, never trained or labelled on, classified after training;
:func:`brian_stdp.mnist.data.carve_validation`) and ``--test 0``, so no held-out digit is ever
presented. The trial's value is the mean validation accuracy over its runs: every network seed
(``--seeds``) on every split (``--splits``: the split seeds from the study's ``--split-seed``
on, each with its own training, validation and held-out digits), as a small network's accuracy
moves by several points from one seed or split to another.

While the job trains, after every chunk the accuracy of its latest training blocks (each block
labelled by the block before it, the job's own training curve,
:func:`brian_stdp.mnist.scoring.training_curve`) is reported to Optuna, which may stop the trial
there (pruning).
"""
import dataclasses
import os
import shutil
import socket
import time

import numpy as np

from ..mnist import scoring, signals
from ..mnist.config import MnistConfig
from ..mnist.pipeline import run_mnist
from ..rules import rule_class
from .stopping import STOP, Interrupted

__all__ = ["trial_job", "trial_runs", "Objective"]


def trial_runs(base: MnistConfig, seeds: int, splits: int) -> list:
    """``[(seed, split seed), ...]`` of a trial: every network seed on every split, split by
    split (the order the pruner sees their training curves in)."""
    return [(base.seed + k, base.split_seed + s) for s in range(splits) for k in range(seeds)]


def trial_job(base: MnistConfig, job: dict, rule_parameters: dict) -> tuple:
    """``(config, rule)`` of a trial: the study's base settings with the trial's job settings,
    and the base rule with the trial's rule parameters (ValueError if the rule refuses the
    combination, e.g. w_min above w_max)."""
    rule = base.make_rule()
    rule = rule_class(rule.name).from_dict(
        {"rule": rule.name, "parameters": {**rule.to_dict()["parameters"], **rule_parameters}})
    return dataclasses.replace(base, **job), rule


class Objective:
    """The function a study optimises: ``objective(trial)`` runs the job once per
    :func:`trial_runs` entry and returns the mean of their validation accuracies.

    ``base``: the study's fixed settings (``validation`` digits carved from the training
    digits, ``test`` 0); ``space``: the :class:`~brian_stdp.tune.space.SearchSpace`;
    ``out``: the study directory (a trial's runs go to ``OUT/trials/STUDY/NUMBER``);
    ``builds``: the study's standalone build directory (a cache of programs keyed by their
    code, :mod:`brian_stdp.mnist.builds`, shared by every worker); ``say``: where progress
    lines go; ``seeds``, ``splits``: network seeds and splits per trial; ``study``: the
    study's name.
    """

    def __init__(self, base, space, out, builds, say=print, seeds=1, splits=1, study="study"):
        self.base, self.space, self.out, self.builds, self.say = base, space, out, builds, say
        self.runs = trial_runs(base, seeds, splits)
        self.study = study

    def __call__(self, trial):
        import optuna
        # Which process ran it (the study's table; several machines share one study).
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        job, rule_parameters = self.space.suggest(trial)
        config, rule = trial_job(self.base, job, rule_parameters)
        directory = os.path.join(self.out, "trials", _safe(self.study), f"{trial.number:05d}")
        os.makedirs(directory, exist_ok=True)
        rule_file = os.path.join(directory, "rule.json")
        rule.save(rule_file)
        config = dataclasses.replace(config, rule_file=rule_file, progress=False,
                                     checkpoint_every=0, resume=None)
        judge = _Judge(trial, steps_per_run=config.train * config.epochs)
        started, results = time.time(), []
        try:
            for k, (seed, split) in enumerate(self.runs):
                run_directory = (directory if len(self.runs) == 1
                                 else os.path.join(directory, f"seed{seed}-split{split}"))
                judge.run_index = k
                STOP.check()
                results.append(self._run(dataclasses.replace(
                    config, seed=seed, split_seed=split, out=run_directory), judge))
        except optuna.TrialPruned as pruned:
            trial.set_user_attr("pruned_after", judge.last_step)
            results += [pruned.args[1]] if len(pruned.args) > 1 else []
            raise
        finally:
            if config.device == "cpp_standalone":  # also for a pruned or failed trial
                # The programs this trial compiled (the others were in the study's build
                # directory already: another trial, another worker, an earlier study).
                trial.set_user_attr("programs_compiled", sum(
                    bool(r["timings"].get("compiled")) for r in results))
                trial.set_user_attr("compiled", any(r["timings"].get("compiled")
                                                    for r in results))
            trial.set_user_attr("seconds", time.time() - started)
            trial.set_user_attr("runs", [
                {"seed": seed, "split": split, "validation_accuracy": r["validation_accuracy"],
                 "repeats": r["protocol"]["repeats"],
                 "mean_spikes_per_validation_digit": r["mean_spikes_per_validation_digit"],
                 "simulation_s": r["timings"]["simulation_s"]}
                for (seed, split), r in zip(self.runs, results) if r.get("protocol")])
        accuracies = [result["validation_accuracy"] for result in results]
        trial.set_user_attr("accuracies", accuracies)
        trial.set_user_attr("build_s", sum(r["timings"]["build_s"] for r in results))
        trial.set_user_attr("simulation_s", sum(r["timings"]["simulation_s"] for r in results))
        return float(np.mean(accuracies))

    def _run(self, config, judge):
        """One job of the trial: its results (cpp_standalone: in the study's build directory,
        which every worker shares; a program is compiled once)."""
        os.makedirs(config.out, exist_ok=True)
        if config.device == "cpp_standalone":
            config = dataclasses.replace(config, build_dir=self.builds)
        try:
            if config.device == "cpp_standalone":
                results = _run_in_child(config, judge)
            else:
                try:
                    results = _kept(run_mnist(config, on_chunk=_BlockAccuracy(config, judge),
                                              settings_at_run_time=True))
                except KeyboardInterrupt as interrupt:
                    # The job takes SIGTERM itself while it runs (in this process): it is the
                    # study's interruption all the same.
                    STOP(signals.signal_of(interrupt), None)
                    raise Interrupted(str(interrupt)) from None
        finally:
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


def _safe(name):
    """A study's name as one directory name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "study"


def _kept(results):
    """What a trial keeps of a job's results."""
    return {key: results[key] for key in ("validation_accuracy", "timings", "protocol",
                                          "mean_spikes_per_validation_digit")}


class _Judge:
    """Reports an intermediate value to Optuna; says whether the trial is to stop. The step of
    the trial's k-th run (from 0) is ``k x steps_per_run`` + its training digits seen, so
    that every trial reports at the same steps."""

    def __init__(self, trial, steps_per_run):
        self.trial, self.last_step = trial, None
        self.steps_per_run, self.run_index = steps_per_run, 0

    def __call__(self, value, step):
        step += self.run_index * self.steps_per_run
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
        self.compiled = None  # whether the job compiled its program, once it has said so

    def __call__(self, report):
        import optuna
        self.compiled = report.compiled
        STOP.check()  # Ctrl-C or SIGTERM to the study: the job stops after this chunk
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
# process generates different source files, another program. A fresh process per trial
# generates the same files for the same network, whose program the build directory then has
# (keyed by its code). The child reports its block accuracy through a pipe; the parent (which
# holds the trial and its heartbeat) answers whether to stop.
def _run_in_child(config, judge):
    import multiprocessing
    import signal

    import optuna
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=_child_main, args=(child_end, config), daemon=True)
    STOP.check()
    # The job's process ignores SIGINT (also while it imports): a Ctrl-C is the study's to
    # take, which ends the process (STOP.child) with SIGTERM.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    STOP.child = child
    child_end.close()
    try:
        while True:
            try:
                message = parent_end.recv()
            except EOFError:
                child.join()
                STOP.check()
                raise RuntimeError(f"the trial's process ended without a result (exit status "
                                   f"{child.exitcode})") from None
            kind = message[0]
            if kind == "report":
                parent_end.send(judge(*message[1:]))
            elif kind == "pruned":  # the message, and what the job had done (compiled?)
                raise optuna.TrialPruned(message[1], message[2])
            elif kind == "error":
                STOP.check()
                raise RuntimeError(f"the trial's job failed: {message[1]}")
            else:
                return message[1]
    finally:
        STOP.child = None
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

    block_accuracy = _BlockAccuracy(config, judge)
    try:
        results = run_mnist(config, on_chunk=block_accuracy, settings_at_run_time=True)
    except optuna.TrialPruned as pruned:
        connection.send(("pruned", str(pruned.args[0]),
                         {"timings": {"compiled": block_accuracy.compiled}}))
    except BaseException as error:  # noqa: BLE001  (reported to the parent, which fails it)
        connection.send(("error", f"{type(error).__name__}: {error}"))
    else:
        connection.send(("done", _kept(results)))


def _die_with_parent():
    """Linux: SIGTERM to this process when its parent dies (a killed worker leaves no trial
    running on its own); elsewhere nothing."""
    try:
        import ctypes
        import signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass
