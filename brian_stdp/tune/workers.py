"""A study's workers: each takes trials of the study until it has its budget, and the
whole study stops cleanly on Ctrl-C or SIGTERM.

A worker is a process (the ``brian-stdp tune`` command itself with ``--workers 1``, spawned
processes otherwise, or a command on another machine joining the same database). An
interruption (Ctrl-C, SIGTERM) is recorded and taken at the running trial's next safe point
(:mod:`brian_stdp.tune.stopping`): the trial ends as failed (a later run of the study replaces
it), the worker stops, and the command says how to continue (:class:`StudyInterrupted`).
Spawned workers leave SIGINT to the command, which stops them with SIGTERM.
"""
import contextlib
import fcntl
import os
import signal
import sys
import time

from ..rules import rule_class
from .objective import Objective
from .space import SearchSpace
from .stopping import STOP, stop_on_signals
from .storage import open_storage, shown

__all__ = ["run_worker", "run_workers", "StudyInterrupted", "MAX_FAILURES_IN_A_ROW"]

#: A worker stops after this many failed trials in a row (a setting the job refuses, a bug):
#: failed trials do not count towards the budget, so it would otherwise never end.
MAX_FAILURES_IN_A_ROW = 3


class StudyInterrupted(KeyboardInterrupt):
    """The study was interrupted (Ctrl-C or SIGTERM, ``signum``); the message says what it
    keeps and the command that continues it."""

    def __init__(self, prepared, signum, storage_given):
        self.signum = signal.Signals(signum)
        finished = _finished(prepared)
        how = "interrupted" if self.signum == signal.SIGINT else f"stopped by {self.signum.name}"
        command = (f"brian-stdp tune --resume --study {prepared.name} --out {prepared.out}"
                   + (f" --storage {shown(prepared.url)}" if storage_given else ""))
        #: What the study keeps, without the command that continues it (a script that runs
        #: studies names its own).
        self.kept = (f"{how}: the study {prepared.name!r} keeps its {finished} finished "
                     f"trial(s) of {prepared.trials} (a trial cut short is recorded as failed "
                     "and run again)")
        super().__init__(f"{self.kept}. Continue with: {command}")


def _finished(prepared):
    import optuna
    from optuna.trial import TrialState
    try:
        study = optuna.load_study(study_name=prepared.name,
                                  storage=open_storage(prepared.url, prepared.heartbeat))
        return len(study.get_trials(deepcopy=False,
                                    states=(TrialState.COMPLETE, TrialState.PRUNED)))
    except Exception:  # noqa: BLE001  (the message must not fail for want of a count)
        return "its"


def _fail_running_trials(prepared, pids):
    """Mark failed the trials that the workers ``pids`` (of this machine) left running: a
    worker stopped before it could (killed after 30 s), whose trial would otherwise count
    towards the budget until its heartbeat is stale."""
    import socket

    import optuna
    from optuna.trial import TrialState
    storage = open_storage(prepared.url, prepared.heartbeat)
    study = optuna.load_study(study_name=prepared.name, storage=storage)
    ours = {f"{socket.gethostname()}:{pid}" for pid in pids}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("worker") in ours:
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)


def _pruner(prepared):
    from .pruning import make_pruner
    return make_pruner(prepared.pruner, prepared.base, prepared.prune_after,
                       prepared.startup_trials)


_held_slots = []


def _worker_slot(out):
    """This worker's number: the first ``workers/workerK.lock`` it can hold (an flock, for the
    process's life), so that the workers of one machine are told apart in the progress
    lines."""
    slots = os.path.join(os.path.abspath(out), "workers")
    os.makedirs(slots, exist_ok=True)
    k = 0
    while True:
        handle = open(os.path.join(slots, f"worker{k}.lock"), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            k += 1
            continue
        _held_slots.append(handle)  # held for the process's life
        return k


def _counted(study):
    """Trials that count towards the budget: finished (complete or pruned) and running."""
    from optuna.trial import TrialState
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                        TrialState.RUNNING)))


def sampler_seed(seed, index, trials_before):
    """The seed of worker ``index``'s sampler when the study already holds ``trials_before``
    trials (None: random). A resumed study must not draw its first session's settings again
    (the same seed would repeat the same random start-up trials), so the count enters the seed;
    a fresh study's worker k keeps ``seed + k``."""
    if seed is None:
        return None
    if trials_before == 0:
        return seed + index
    import numpy as np
    return int(np.random.SeedSequence([seed, index, trials_before]).generate_state(1)[0])


def run_worker(prepared, index: int = 0) -> int:
    """Run trials of the study (``prepared``: :class:`brian_stdp.tune.study.Prepared`) until it
    has its budget; return how many this worker ran."""
    import optuna
    # The workers print a line per trial; Optuna's own warnings would add a traceback for a
    # trial cut short by Ctrl-C.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(prepared.url, prepared.heartbeat)
    study = optuna.load_study(study_name=prepared.name, storage=storage,
                              pruner=_pruner(prepared))
    study.sampler = optuna.samplers.TPESampler(
        seed=sampler_seed(prepared.seed, index, len(study.get_trials(deepcopy=False))))
    rule = rule_class(prepared.rule["rule"]).from_dict(prepared.rule)
    space = SearchSpace.parse(prepared.space, rule)
    slot = _worker_slot(prepared.out)
    # One build directory for every worker: programs keyed by their code, each compiled once
    # whichever worker needs it first (brian_stdp.mnist.builds).
    builds = os.path.join(os.path.abspath(prepared.out), "builds")
    tag = f"worker {slot} (pid {os.getpid()})"

    def say(text):
        if prepared.progress:
            print(f"[{tag}] {text}", flush=True)

    objective = Objective(prepared.base, space, prepared.out, builds, say, prepared.seeds,
                          prepared.splits, prepared.name)
    done, failures = [], 0

    def record(study, trial):
        done.append(trial)
        say(_trial_line(trial))

    while STOP.signum is None:
        optuna.storages.fail_stale_trials(study)  # a dead worker's trial: failed, replaced
        if _counted(study) >= prepared.trials:
            break
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[record])
        if done and done[-1].state == optuna.trial.TrialState.FAIL:
            failures += 1
            if failures >= MAX_FAILURES_IN_A_ROW:
                raise RuntimeError(f"{tag}: {failures} trials failed in a row, the last with "
                                   f"{done[-1].user_attrs.get('error') or done[-1].system_attrs}"
                                   "; stopping")
        else:
            failures = 0
    if STOP.signum is None:
        say(f"done: {len(done)} trial(s) here; the study has its {prepared.trials}")
    return len(done)


def _trial_line(trial):
    state = trial.state.name.lower()
    params = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.params.items())
    took = trial.user_attrs.get("seconds")
    took = f" in {took:.1f} s" if took is not None else ""
    programs = trial.user_attrs.get("programs_compiled") or 0
    compiled = (f", compiled {programs} program{'s' if programs > 1 else ''}" if programs
                else "")
    if state == "complete":
        each = trial.user_attrs.get("runs") or []
        each = (" (" + ", ".join(f"seed {r['seed']} split {r['split']}: "
                                 f"{r['validation_accuracy'] * 100:.1f}%" for r in each) + ")"
                if len(each) > 1 else "")
        return (f"trial {trial.number}: accuracy {trial.value * 100:.1f}%{each}{took}{compiled}"
                f" ({params})")
    if state == "pruned":
        return (f"trial {trial.number}: pruned after {trial.user_attrs.get('pruned_after')} "
                f"training digits{took} ({params})")
    return f"trial {trial.number}: {state}{took} ({params})"


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _worker_process(prepared, index):
    """A spawned worker (started with SIGINT ignored: the command takes Ctrl-C and stops its
    workers with SIGTERM); ends with 143 when stopped, no traceback (the command reports the
    study's state)."""
    from .. import brian2_private
    brian2_private.keep_sigint_ignored()
    with stop_on_signals():
        run_worker(prepared, index)
    if STOP.signum is not None:
        sys.exit(128 + int(STOP.signum))


def run_workers(prepared, workers):
    """Run ``workers`` worker processes (one: this process) until the study has its trials;
    returns the signal that stopped them (Ctrl-C, SIGTERM; None: the study has its trials).
    On a signal, each worker is sent SIGTERM and given 60 s to end its trial (then killed),
    and the trials they left running are marked failed."""
    with stop_on_signals():
        if workers == 1:
            run_worker(prepared, 0)
            return STOP.signum
        processes = _start_workers(prepared, workers)
        stopping_since = None
        while any(process.is_alive() for process in processes):
            for process in processes:
                process.join(timeout=0.2)
            if STOP.signum is not None and stopping_since is None:
                stopping_since = time.time()
                for process in processes:
                    if process.is_alive():
                        process.terminate()
            if stopping_since is not None and time.time() - stopping_since > 60:
                for process in processes:
                    if process.is_alive():
                        process.kill()
    if STOP.signum is not None:
        _fail_running_trials(prepared, {p.pid for p in processes})
        return STOP.signum
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        print(f"brian-stdp tune: {len(failed)} worker(s) ended with status {failed}",
              file=sys.stderr)
    return None


def _start_workers(prepared, workers):
    """Spawn the worker processes with SIGINT ignored (so that a Ctrl-C reaching the whole
    process group, even while a worker imports, leaves them to the command)."""
    import multiprocessing
    context = multiprocessing.get_context("spawn")  # a fresh Brian2 in every worker
    processes = [context.Process(target=_worker_process, args=(prepared, k))
                 for k in range(workers)]
    with _sigint_ignored():
        for process in processes:
            process.start()
    return processes


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored inside (processes started here inherit it), then as it was."""
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
