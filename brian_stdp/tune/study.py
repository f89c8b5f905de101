"""A study: its storage, its workers, and what it writes.

Every worker (a local process, or a ``brian-stdp tune`` on another machine) runs trials of one
Optuna study kept in one database: an SQLite file by default (``OUT/study.db``, nothing to set
up), or any database URL Optuna accepts (``postgresql://user@host/db``) for many machines.
The study records its rule, search space, fixed settings and training digits (a hash) when it
is created; a worker joining it with anything else is refused before it runs a trial.

Workers take trials until the study holds ``trials`` finished or running ones, so N workers
share one budget. A worker records a heartbeat in the database while its trial runs; a trial
whose worker died (killed, machine lost) is marked failed by the next worker that looks, once
the heartbeat is ``3 x heartbeat`` seconds old, and a new trial takes its place.
"""
import csv
import dataclasses
import fcntl
import json
import os
import sys
from typing import Optional, Sequence, Union

from ..mnist.config import MnistConfig, flag_name
from ..rules import rule_class
from .objective import Objective, training_digits_file
from .space import JOB_SETTINGS, SearchSpace, load_space

__all__ = ["TuneConfig", "run_study", "prepare", "run_worker", "summarize", "storage_url",
           "open_storage", "PRUNERS"]

PRUNERS = ("median", "halving", "none")
#: Settings of the base job that are the study's bookkeeping, not part of what it tunes.
_BOOKKEEPING = ("data", "test_data", "out", "build_dir", "progress", "checkpoint_every", "resume",
                "rule_file")
#: A worker stops after this many failed trials in a row (a setting the job refuses, a bug):
#: failed trials do not count towards the budget, so it would otherwise never end.
MAX_FAILURES_IN_A_ROW = 3


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """The settings of ``brian-stdp tune``.

    ``base``: the job's fixed settings (its ``out``, ``build_dir``, ``resume`` and
    ``checkpoint_every`` are the study's to set; None with ``resume``: the study's own);
    ``space``: a search-space file, a dict, or None for the rule's default
    (:mod:`brian_stdp.tune.space`); ``trials``: finished trials the study ends with, shared by
    all its workers (>= 1); ``storage``: a database URL (None: ``sqlite:///OUT/study.db``);
    ``study``: its name (None: ``mnist-RULE-NEURONS``); ``resume``: continue the existing
    study, with its own settings; ``workers``: local worker processes (>= 1); ``pruner``: one
    of :data:`PRUNERS`; ``prune_after``: training digits a trial sees before the pruner may
    stop it (0 .. its training digits - 1; None: a third of the trial's training digits);
    ``startup_trials``: completed trials before any trial is pruned (0 .. trials - 1; None:
    :data:`~brian_stdp.tune.pruning.STARTUP_TRIALS`, 5) (:mod:`brian_stdp.tune.pruning`;
    neither applies with ``pruner="none"``); ``validation``: validation digits (None: all the
    split keeps aside, 20% of the training digits); ``out``: the study's directory;
    ``heartbeat``: seconds between a running trial's heartbeats (>= 1); ``seed``: the sampler's
    seed (None: random; worker k uses seed + k); ``enqueue``: settings to try first, as
    ``{name: value}`` dicts (queued when the study is created); ``progress``: print a line per
    trial; ``seeds``: network seeds per trial (>= 1), the job's ``seed`` and the ones after it;
    a trial's value is the mean of their validation accuracies.
    """
    base: Optional[MnistConfig] = None
    space: Union[str, dict, None] = None
    trials: int = 20
    storage: Optional[str] = None
    study: Optional[str] = None
    resume: bool = False
    workers: int = 1
    pruner: str = "median"
    prune_after: Optional[int] = None
    startup_trials: Optional[int] = None
    validation: Optional[int] = None
    out: str = "tune_results"
    heartbeat: int = 10
    seed: Optional[int] = None
    enqueue: Sequence[dict] = ()
    progress: bool = True
    seeds: int = 1

    def check(self):
        for name, low in (("trials", 1), ("workers", 1), ("heartbeat", 1), ("seeds", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{flag_name(name)} must be an integer >= {low}, got {value!r}")
            if value < low:
                raise ValueError(f"{flag_name(name)} must be >= {low}, got {value}")
        if self.pruner not in PRUNERS:
            raise ValueError(f"--pruner must be one of {list(PRUNERS)}, got {self.pruner!r}")
        for name in ("prune_after", "startup_trials"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{flag_name(name)} must be an integer >= 0, got {value!r}")
            if value < 0:
                raise ValueError(f"{flag_name(name)} must be >= 0, got {value}")
            if self.pruner == "none":
                raise ValueError(f"{flag_name(name)} sets when --pruner median or halving may "
                                 "stop a trial; --pruner none stops none")
        if self.startup_trials is not None and self.startup_trials >= self.trials:
            raise ValueError(f"--startup-trials must be between 0 and {self.trials - 1} (below "
                             f"--trials {self.trials}, or no trial could be pruned), got "
                             f"{self.startup_trials}")
        if self.validation is not None and (isinstance(self.validation, bool) or not
                                            isinstance(self.validation, int)
                                            or self.validation < 1):
            raise ValueError(f"--validation must be an integer >= 1, got {self.validation!r}")
        if self.base is None and not self.resume:
            raise ValueError("a new study needs the job's settings (base)")


def storage_url(config: TuneConfig) -> str:
    """The study's database: ``config.storage``, or the SQLite file ``OUT/study.db``."""
    if config.storage:
        return config.storage
    return "sqlite:///" + os.path.abspath(os.path.join(config.out, "study.db"))


def _shown(url):
    """The URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001  (not even a URL: show it as given)
        return url


def open_storage(url: str, heartbeat: int = 10):
    """Optuna's database storage at ``url`` with heartbeats every ``heartbeat`` seconds (a
    trial silent for ``3 x heartbeat`` is failed); ValueError if it cannot be opened."""
    import warnings

    import optuna
    # Heartbeats and fail_stale_trials are "experimental" in Optuna: said once here, not per
    # trial.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url[len("sqlite:///"):]) or ".", exist_ok=True)
        # Several processes write one file: wait for its lock rather than fail at once.
        engine = {"connect_args": {"timeout": 60}}
    elif url.startswith("postgresql"):
        engine = {"connect_args": {"connect_timeout": 10}}
    else:
        engine = {}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=engine,
                                          heartbeat_interval=heartbeat,
                                          grace_period=3 * heartbeat)
    except Exception as error:  # noqa: BLE001  (driver, URL and connection errors alike)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"--storage {_shown(url)}: cannot open the study database "
                         f"({type(error).__name__}: {first})") from None


def _pruner(prepared):
    from .pruning import make_pruner
    return make_pruner(prepared.pruner, prepared.base, prepared.prune_after,
                       prepared.startup_trials)


def _check_prune_after(prune_after, base, space):
    """ValueError unless ``prune_after`` is below the training digits of the study's trials
    (the most a trial of ``space`` can have, if it varies train or epochs)."""
    if prune_after is None:
        return
    ends = {}
    for name in ("train", "epochs"):
        values = [getattr(base, name)]
        for r in space.ranges:
            if r.name == name:
                values = list(r.choices) if r.kind == "choice" else [r.low, r.high]
        ends[name] = int(max(values))
    most = ends["train"] * ends["epochs"]
    what = (f"--train {ends['train']} x --epochs {ends['epochs']}"
            + (", the most the space allows" if {"train", "epochs"} & set(space.names()) else ""))
    if most == 0:
        raise ValueError(f"--prune-after: the trials train on no digits ({what}): nothing to "
                         "prune on")
    if prune_after >= most:
        raise ValueError(f"--prune-after must be between 0 and {most - 1} (below the "
                         f"{most} training digits of a trial, {what}), got {prune_after}; "
                         "--pruner none turns pruning off")


def _study_record(base, space, rule, digits_sha256, seeds):
    """What a study stores about itself and a joining worker must match."""
    settings = {k: v for k, v in dataclasses.asdict(base).items() if k not in _BOOKKEEPING}
    return {"rule": rule.to_dict(), "space": space.to_dict(), "settings": settings,
            "training_digits_sha256": digits_sha256, "seeds": seeds}


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A study checked and ready for workers (plain data, so that it pickles to them)."""
    url: str
    name: str
    heartbeat: int
    base: MnistConfig           # with data = the training digits, test = validation digits
    space: dict
    rule: dict
    trials: int
    pruner: str
    prune_after: Optional[int]
    startup_trials: Optional[int]
    out: str
    seed: Optional[int]
    progress: bool
    seeds: int = 1


def prepare(config: TuneConfig) -> Prepared:
    """Check everything, create or join the study; nothing runs. ValueError or TypeError
    (naming the setting or parameter) for bad input: an unknown parameter, an empty or inverted
    range, an unreachable database, a study made for another rule or other settings."""
    try:
        import optuna
    except ImportError as error:
        raise ImportError("brian-stdp tune needs Optuna (and a database driver for a server): "
                          "pip install 'brian_stdp[tune]'") from error
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own progress lines instead
    config.check()
    url = storage_url(config)
    if config.resume:
        storage = open_storage(url, config.heartbeat)
        name = config.study or _default_name(config.base)
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            raise ValueError(f"--resume: no study {name!r} in {_shown(url)}; start it without "
                             "--resume") from None
        record = study.user_attrs.get("brian_stdp")
        if record is None:
            raise ValueError(f"--resume: the study {name!r} was not made by brian-stdp tune")
        if config.base is not None:
            asked = config.base.make_rule().name
            if asked != record["rule"]["rule"]:
                raise ValueError(f"--rule: the study {name!r} was created for the rule "
                                 f"{record['rule']['rule']}, not {asked}")
        rule = rule_class(record["rule"]["rule"]).from_dict(record["rule"])
        os.makedirs(config.out, exist_ok=True)
        rule_file = os.path.join(config.out, "base_rule.json")
        rule.save(rule_file)
        base = MnistConfig(**{**record["settings"], "rule_file": rule_file})
        path, digest, _, _ = training_digits_file(
            dataclasses.replace(base, data=config.base.data if config.base else None),
            config.out)
        if digest != record["training_digits_sha256"]:
            raise ValueError(f"--data: these training digits are not the study {name!r}'s")
        base = dataclasses.replace(base, data=path)
        space = SearchSpace.parse(record["space"], rule)
        _check_prune_after(config.prune_after, base, space)
        return Prepared(url, name, config.heartbeat, base, space.to_dict(), rule.to_dict(),
                        config.trials, config.pruner, config.prune_after,
                        config.startup_trials, config.out, config.seed, config.progress,
                        record.get("seeds", 1))

    base = config.base
    base.check()
    rule = base.make_rule()
    space = load_space(config.space, rule)
    path, digest, n_fit, n_validation = training_digits_file(base, config.out)
    if config.validation is not None:
        if config.validation > n_validation:
            raise ValueError(f"--validation must be at most {n_validation} (the digits the "
                             f"split keeps aside from the training digits), got "
                             f"{config.validation}")
        n_validation = config.validation
    base = dataclasses.replace(base, data=path, test_data=None, test=n_validation)
    try:
        base.check(n_fit, n_validation)
    except ValueError as error:
        raise ValueError(f"{error} (a study trains on the training digits less its "
                         f"validation digits: {n_fit})") from None
    _check_prune_after(config.prune_after, base, space)
    if config.seeds > 1 and "seed" in space.names():
        raise ValueError(f"--seeds {config.seeds}: a trial runs the network seeds "
                         f"{base.seed} .. {base.seed + config.seeds - 1}, so the search space "
                         "cannot vary seed; use --seeds 1 or leave seed out of --space")
    for fixed in config.enqueue:
        unknown = set(fixed) - set(space.names())
        if unknown:
            raise ValueError(f"enqueue: {sorted(unknown)} not in the search space "
                             f"{space.names()}")
    record = _study_record(base, space, rule, digest, config.seeds)
    storage = open_storage(url, config.heartbeat)
    name = config.study or _default_name(base)
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize",
                                load_if_exists=True)
    existing = study.user_attrs.get("brian_stdp")
    if existing is None:
        study.set_user_attr("brian_stdp", json.loads(json.dumps(record)))
        for fixed in config.enqueue:
            study.enqueue_trial(dict(fixed))
    else:
        _check_same_study(name, existing, json.loads(json.dumps(record)))
    return Prepared(url, name, config.heartbeat, base, space.to_dict(), rule.to_dict(),
                    config.trials, config.pruner, config.prune_after, config.startup_trials,
                    config.out, config.seed, config.progress, config.seeds)


def _default_name(base):
    rule = base.make_rule() if base is not None else None
    return f"mnist-{rule.short_name}-{base.neurons}" if rule else "mnist"


def _check_same_study(name, existing, record):
    if existing["rule"]["rule"] != record["rule"]["rule"]:
        raise ValueError(f"--rule: the study {name!r} was created for the rule "
                         f"{existing['rule']['rule']}, not {record['rule']['rule']}; give "
                         "another --study name")
    if existing["rule"] != record["rule"]:
        raise ValueError(f"--rule-file: the study {name!r} was created with other rule "
                         f"parameters ({existing['rule']['parameters']})")
    if existing["space"] != record["space"]:
        raise ValueError(f"--space: the study {name!r} was created with another search space "
                         f"({existing['space']})")
    differ = sorted(k for k in set(existing["settings"]) | set(record["settings"])
                    if existing["settings"].get(k) != record["settings"].get(k))
    if differ:
        raise ValueError(f"the study {name!r} was created with other settings: "
                         + ", ".join(f"{flag_name(k)} {existing['settings'].get(k)!r}"
                                     for k in differ))
    if existing["training_digits_sha256"] != record["training_digits_sha256"]:
        raise ValueError(f"--data: the study {name!r} was created with other training digits")
    if existing.get("seeds", 1) != record["seeds"]:
        raise ValueError(f"--seeds: the study {name!r} was created with --seeds "
                         f"{existing.get('seeds', 1)}, not {record['seeds']}")


# ---- workers -------------------------------------------------------------------------------
_held_slots = []


def _build_slot(out):
    """A build directory this process holds alone (an flock on ``builds/workerK.lock``): one
    program per worker and network, reused from trial to trial and from run to run."""
    builds = os.path.join(os.path.abspath(out), "builds")
    os.makedirs(builds, exist_ok=True)
    k = 0
    while True:
        handle = open(os.path.join(builds, f"worker{k}.lock"), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            k += 1
            continue
        _held_slots.append(handle)  # held for the process's life
        return os.path.join(builds, f"worker{k}"), k


def _counted(study):
    """Trials that count towards the budget: finished (complete or pruned) and running."""
    from optuna.trial import TrialState
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                        TrialState.RUNNING)))


def run_worker(prepared: Prepared, index: int = 0) -> int:
    """Run trials of the study until it has its budget; return how many this worker ran."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(prepared.url, prepared.heartbeat)
    seed = None if prepared.seed is None else prepared.seed + index
    study = optuna.load_study(study_name=prepared.name, storage=storage,
                              sampler=optuna.samplers.TPESampler(seed=seed),
                              pruner=_pruner(prepared))
    rule = rule_class(prepared.rule["rule"]).from_dict(prepared.rule)
    space = SearchSpace.parse(prepared.space, rule)
    builds, slot = _build_slot(prepared.out)
    tag = f"worker {slot} (pid {os.getpid()})"

    def say(text):
        if prepared.progress:
            print(f"[{tag}] {text}", flush=True)

    objective = Objective(prepared.base, space, prepared.out, builds, say, prepared.seeds)
    done, failures = [], 0

    def record(study, trial):
        done.append(trial)
        say(_trial_line(trial))

    while True:
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
    say(f"done: {len(done)} trial(s) here; the study has its {prepared.trials}")
    return len(done)


def _trial_line(trial):
    state = trial.state.name.lower()
    params = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.params.items())
    took = trial.user_attrs.get("seconds")
    took = f" in {took:.1f} s" if took is not None else ""
    files = trial.user_attrs.get("compiled_files") or []
    compiled = (", recompiled main.cpp" if files == ["main.o"] else
                f", compiled {len(files)} files" if files else "")
    if state == "complete":
        each = trial.user_attrs.get("accuracies")
        each = (" (seeds: " + ", ".join(f"{a * 100:.1f}%" for a in each) + ")") if each else ""
        return (f"trial {trial.number}: accuracy {trial.value * 100:.1f}%{each}{took}{compiled}"
                f" ({params})")
    if state == "pruned":
        return (f"trial {trial.number}: pruned after {trial.user_attrs.get('pruned_after')} "
                f"training digits{took} ({params})")
    return f"trial {trial.number}: {state}{took} ({params})"


def _seeds_text(prepared):
    if prepared.seeds == 1:
        return ""
    first = prepared.base.seed
    return (f", mean accuracy of network seeds {first} .. {first + prepared.seeds - 1} "
            "per trial")


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _pruning_text(prepared):
    """When the study's pruner may stop a trial, for the study's first line."""
    if prepared.pruner == "none":
        return "no pruning"
    from .pruning import STARTUP_TRIALS
    startup = STARTUP_TRIALS if prepared.startup_trials is None else prepared.startup_trials
    if prepared.prune_after is None:
        digits = prepared.base.train * prepared.base.epochs
        after = f"a third of its training digits ({digits // 3} of {digits})"
    else:
        after = f"{prepared.prune_after} training digits"
    return (f"{prepared.pruner} pruner, once {startup} trial(s) completed, after "
            f"{after} of a trial")


def _worker_process(prepared, index):
    try:
        run_worker(prepared, index)
    except KeyboardInterrupt:
        sys.exit(130)


def run_study(config: TuneConfig) -> dict:
    """Check and create (or join) the study, run ``config.workers`` workers on it until it has
    its trials, then write and return its summary (:func:`summarize`)."""
    prepared = prepare(config)
    if prepared.progress:
        print(f"brian-stdp tune: study {prepared.name!r} in {_shown(prepared.url)}; "
              f"{prepared.trials} trials over {list(prepared.space)}, rule "
              f"{prepared.rule['rule']}, {prepared.base.neurons} neurons, "
              f"{prepared.base.train} training digits, {prepared.base.test} validation digits"
              f"{_seeds_text(prepared)}; "
              f"{config.workers} worker(s); {_pruning_text(prepared)}", flush=True)
    if config.workers == 1:
        run_worker(prepared, 0)
    else:
        import multiprocessing
        context = multiprocessing.get_context("spawn")  # a fresh Brian2 in every worker
        processes = [context.Process(target=_worker_process, args=(prepared, k))
                     for k in range(config.workers)]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        failed = [p.exitcode for p in processes if p.exitcode != 0]
        if failed:
            print(f"brian-stdp tune: {len(failed)} worker(s) ended with status {failed}",
                  file=sys.stderr)
    return summarize(prepared)


# ---- outputs -------------------------------------------------------------------------------
def summarize(prepared: Prepared) -> dict:
    """Write the study's table (``trials.csv``), its plots (``history.png``,
    ``importance.png``) and its best settings as the job's templates (``best_rule.json`` for
    ``--rule-file``, ``best_settings.json``, ``best_command.txt``); print and return the
    summary."""
    import optuna
    from optuna.trial import TrialState
    storage = open_storage(prepared.url, prepared.heartbeat)
    study = optuna.load_study(study_name=prepared.name, storage=storage)
    optuna.storages.fail_stale_trials(study)
    trials = study.get_trials(deepcopy=False)
    states = {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState}
    compiled = [t for t in trials if t.user_attrs.get("compiled")]
    # A trial that recompiled main.cpp alone (a few seconds, against a minute for the whole
    # program) is counted apart. The runner writes main.cpp the same in every process
    # (brian2_private.canonical_clock_order), so none should; were main.cpp to differ again
    # (another Brian2), this count would show it.
    main_only = sum(t.user_attrs.get("compiled_files") == ["main.o"] for t in compiled)
    compiles = len(compiled) - main_only
    os.makedirs(prepared.out, exist_ok=True)
    files = [_write_table(trials, prepared.out)]
    summary = {"study": prepared.name, "storage": _shown(prepared.url), "trials": len(trials),
               "states": states, "compiles": compiles, "main_only_compiles": main_only,
               "device": prepared.base.device, "seeds": prepared.seeds,
               "best": None}
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete:
        best = study.best_trial
        files += _write_best(best, prepared)
        summary["best"] = {"number": best.number, "accuracy": best.value,
                           "accuracy_per_seed": best.user_attrs.get("accuracies", [best.value]),
                           "params": best.params}
    files += _write_plots(study, prepared.out, summary)
    summary["files"] = files
    with open(os.path.join(prepared.out, "summary.json"), "w") as handle:
        json.dump(summary, handle, indent=1)
        handle.write("\n")
    if prepared.progress:
        print(_summary_text(summary, trials), flush=True)
    return summary


def _write_table(trials, out):
    from optuna.trial import TrialState
    path = os.path.join(out, "trials.csv")
    names = sorted({name for t in trials for name in t.params})
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "state", "accuracy", "accuracy_per_seed", "seconds",
                         "compiled", "pruned_after", *names])
        for t in trials:
            writer.writerow([t.number, t.state.name.lower(),
                             t.value if t.state == TrialState.COMPLETE else "",
                             " ".join(str(a) for a in t.user_attrs.get("accuracies", [])),
                             round(t.user_attrs.get("seconds", 0.0), 2),
                             int(bool(t.user_attrs.get("compiled"))),
                             t.user_attrs.get("pruned_after", ""),
                             *[t.params.get(name, "") for name in names]])
    return path


def _write_best(best, prepared):
    rule = rule_class(prepared.rule["rule"]).from_dict(prepared.rule)
    rule_parameters = {k: v for k, v in best.params.items()
                       if k not in JOB_SETTINGS}
    rule = rule_class(rule.name).from_dict(
        {"rule": rule.name, "parameters": {**rule.to_dict()["parameters"], **rule_parameters}})
    rule_path = os.path.abspath(os.path.join(prepared.out, "best_rule.json"))
    rule.save(rule_path)
    settings = {name: getattr(prepared.base, name) for name in JOB_SETTINGS}
    settings.update({k: v for k, v in best.params.items() if k in JOB_SETTINGS})
    settings = {k: v for k, v in settings.items() if v is not None}
    command = ["brian-stdp", "mnist", "--rule-file", rule_path]
    for name, value in settings.items():
        command += [flag_name(name), _fmt_exact(value)]
    command += ["--device", prepared.base.device]
    settings_path = os.path.join(prepared.out, "best_settings.json")
    with open(settings_path, "w") as handle:
        json.dump({"rule_file": rule_path, "settings": settings,
                   "validation_accuracy": best.value,
                   "validation_accuracy_per_seed": best.user_attrs.get("accuracies",
                                                                       [best.value]),
                   "trial": best.number,
                   "command": command}, handle, indent=1)
        handle.write("\n")
    command_path = os.path.join(prepared.out, "best_command.txt")
    with open(command_path, "w") as handle:
        handle.write(" ".join(command) + "\n")
    return [rule_path, settings_path, command_path]


def _fmt_exact(value):
    return repr(value) if isinstance(value, float) else str(value)


def _write_plots(study, out, summary):
    """The optimisation history and the parameters' importance as PNGs (matplotlib)."""
    import warnings

    import matplotlib
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots
    written, notes = [], {}
    for name, draw in (("history.png", plots.plot_optimization_history),
                       ("importance.png", plots.plot_param_importances)):
        path = os.path.join(out, name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna's "experimental" warnings
                axes = draw(study)
            figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
            figure.tight_layout()
            figure.savefig(path, dpi=100)
            plt.close(figure)
            written.append(path)
        except Exception as error:  # noqa: BLE001  (too few trials for importances, ...)
            notes[name] = f"not drawn: {error}"
    if notes:
        summary["plots_not_drawn"] = notes
    return written


def _summary_text(summary, trials):
    from optuna.trial import TrialState
    lines = [f"study {summary['study']!r}: {summary['trials']} trials ("
             + ", ".join(f"{n} {state}" for state, n in summary["states"].items() if n) + ")",
             f"programs compiled: {summary['compiles']}"
             + (" (runtime device: nothing to compile)" if summary["device"] == "runtime"
                else f" in {summary['trials']} trials"
                + (f"; {summary['main_only_compiles']} more trial(s) recompiled main.cpp alone"
                   if summary["main_only_compiles"] else "")
                + "; the others ran a compiled program unchanged")]
    ranked = sorted((t for t in trials if t.state == TrialState.COMPLETE),
                    key=lambda t: -t.value)[:10]
    if ranked:
        names = sorted({n for t in ranked for n in t.params})
        lines.append("  trial  accuracy  " + "  ".join(f"{n:>12}" for n in names))
        for t in ranked:
            lines.append(f"  {t.number:5d}  {t.value * 100:7.1f}%  "
                         + "  ".join(f"{_fmt(t.params.get(n, '')):>12}" for n in names))
    if summary["best"]:
        lines.append(f"best: trial {summary['best']['number']}, validation accuracy "
                     f"{summary['best']['accuracy'] * 100:.1f}%")
    lines += [f"  {path}" for path in summary["files"]]
    for name, note in summary.get("plots_not_drawn", {}).items():
        lines.append(f"  {name}: {note}")
    return "\n".join(lines)
