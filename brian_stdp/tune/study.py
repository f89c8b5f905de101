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
import dataclasses
import json
import os
from typing import Optional, Sequence, Union

from ..mnist.config import MnistConfig, flag_name, with_added_settings
from ..rules import rule_class
from .objective import trial_runs
from .report import summarize
from .space import SearchSpace, load_space
from .storage import open_storage
from .storage import shown as _shown
from .workers import StudyInterrupted, run_worker, run_workers

__all__ = ["TuneConfig", "run_study", "prepare", "run_worker", "summarize", "storage_url",
           "open_storage", "PRUNERS"]

PRUNERS = ("median", "halving", "none")
#: Settings of the base job that are the study's bookkeeping, not part of what it tunes.
_BOOKKEEPING = ("data", "test_data", "out", "build_dir", "progress", "checkpoint_every", "resume",
                "rule_file", "overwrite")


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """The settings of ``brian-stdp tune``.

    ``base``: the job's fixed settings (its ``out``, ``build_dir``, ``resume`` and
    ``checkpoint_every`` are the study's to set; None with ``resume``: the study's own);
    ``space``: a search-space file, a dict, or None for the rule's default
    (:mod:`brian_stdp.tune.space`); ``trials``: finished trials the study ends with, shared by
    all its workers (>= 1; None with ``resume``: the study's own total); ``storage``: a
    database URL (None: ``sqlite:///OUT/study.db``);
    ``study``: its name (None: ``mnist-RULE-NEURONS``; with ``resume``, the one study of the
    storage); ``resume``: continue the existing
    study, with its own settings; ``workers``: local worker processes (>= 1); ``pruner``: one
    of :data:`PRUNERS`; ``prune_after``: training digits a trial sees before the pruner may
    stop it (0 .. its training digits - 1; None: a third of the trial's training digits);
    ``startup_trials``: completed trials before any trial is pruned (0 .. trials - 1; None:
    :data:`~brian_stdp.tune.pruning.STARTUP_TRIALS`, 5) (:mod:`brian_stdp.tune.pruning`;
    neither applies with ``pruner="none"``); ``out``: the study's directory;
    ``heartbeat``: seconds between a running trial's heartbeats (>= 1); ``seed``: the sampler's
    seed (None: random; worker k uses seed + k); ``enqueue``: settings to try first, as
    ``{name: value}`` dicts (queued when the study is created); ``progress``: print a line per
    trial; ``seeds``: network seeds per trial (>= 1), the job's ``seed`` and the ones after it;
    ``splits``: splits per trial (>= 1), the job's ``split_seed`` and the ones after it (each
    its own training, validation and held-out digits); a trial's value is the mean validation
    accuracy of every seed on every split (``base.validation`` digits, >= 1, carved from the
    training digits; the held-out digits are never presented); ``command``: the command that
    started the study, kept with it and in its exported trials (None: not known).
    """
    base: Optional[MnistConfig] = None
    space: Union[str, dict, None] = None
    trials: Optional[int] = 20
    storage: Optional[str] = None
    study: Optional[str] = None
    resume: bool = False
    workers: int = 1
    pruner: str = "median"
    prune_after: Optional[int] = None
    startup_trials: Optional[int] = None
    out: str = "tune_results"
    heartbeat: int = 10
    seed: Optional[int] = None
    enqueue: Sequence[dict] = ()
    progress: bool = True
    seeds: int = 1
    splits: int = 1
    command: Optional[str] = None

    def check(self):
        if self.trials is None and not self.resume:
            raise ValueError("--trials: a new study needs its number of trials")
        for name, low in (("trials", 1), ("workers", 1), ("heartbeat", 1), ("seeds", 1),
                          ("splits", 1)):
            value = getattr(self, name)
            if name == "trials" and value is None:
                continue
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
        if (self.startup_trials is not None and self.trials is not None
                and self.startup_trials >= self.trials):
            raise ValueError(f"--startup-trials must be between 0 and {self.trials - 1} (below "
                             f"--trials {self.trials}, or no trial could be pruned), got "
                             f"{self.startup_trials}")
        if self.base is not None and self.base.validation < 1:
            raise ValueError(f"--validation must be at least 1 in a study (its trials are "
                             f"scored on validation digits), got {self.base.validation}")
        if self.base is None and not self.resume:
            raise ValueError("a new study needs the job's settings (base)")


def storage_url(config: TuneConfig) -> str:
    """The study's database: ``config.storage``, or the SQLite file ``OUT/study.db``."""
    if config.storage:
        return config.storage
    return "sqlite:///" + os.path.abspath(os.path.join(config.out, "study.db"))


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


def _study_record(base, space, rule, digits_sha256, seeds, splits, command, trials):
    """What a study stores about itself and a joining worker must match (not its
    ``command``, ``data`` path: the digits' sha256 is what must match)."""
    settings = {k: v for k, v in dataclasses.asdict(base).items() if k not in _BOOKKEEPING}
    return {"rule": rule.to_dict(), "space": space.to_dict(), "settings": settings,
            "digits_sha256": digits_sha256, "seeds": seeds, "splits": splits,
            "data": base.data, "command": command, "trials": trials}


def _digits(base):
    """``(number of training digits of a split, sha256 of all the digits)`` of ``base.data``
    (the shipped digits if None). Only their count and hash: no trial presents a held-out
    digit (``--test 0``)."""
    from ..mnist import checkpoint, data
    X, y, train_order, _, _ = data.load_job_digits(base.data, None, base.split_seed)
    return len(train_order), checkpoint.data_fingerprint(X, y)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A study checked and ready for workers (plain data, so that it pickles to them)."""
    url: str
    name: str
    heartbeat: int
    base: MnistConfig           # train resolved, test 0: validation digits only
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
    splits: int = 1
    command: Optional[str] = None


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
        name = config.study or _only_study(storage, url)
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
        if "digits_sha256" not in record:
            raise ValueError(f"--resume: the study {name!r} was made by an older brian-stdp "
                             "tune (trials scored on a validation file of its own); start a "
                             "new study")
        rule = rule_class(record["rule"]["rule"]).from_dict(record["rule"])
        os.makedirs(config.out, exist_ok=True)
        rule_file = os.path.join(config.out, "base_rule.json")
        rule.save(rule_file)
        data_path = (config.base.data if config.base is not None and config.base.data
                     else record["data"])
        base = MnistConfig(**{**record["settings"], "rule_file": rule_file, "data": data_path})
        if _digits(base)[1] != record["digits_sha256"]:
            raise ValueError(f"--data: these digits are not the study {name!r}'s")
        space = SearchSpace.parse(record["space"], rule)
        _check_prune_after(config.prune_after, base, space)
        trials = config.trials if config.trials is not None else record.get("trials", 20)
        return Prepared(url, name, config.heartbeat, base, space.to_dict(), rule.to_dict(),
                        trials, config.pruner, config.prune_after,
                        config.startup_trials, config.out, config.seed, config.progress,
                        record["seeds"], record["splits"], record.get("command"))

    _study_directory(config.out)
    base = dataclasses.replace(config.base, test=0, test_data=None)
    base.check()
    rule = base.make_rule()
    space = load_space(config.space, rule)
    n_train_available, digest = _digits(base)
    base = base.with_digits(n_train_available)
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
    record = _study_record(base, space, rule, digest, config.seeds, config.splits,
                           config.command, config.trials)
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
                    config.out, config.seed, config.progress, config.seeds, config.splits,
                    config.command)


def _study_directory(out):
    """Make the study's directory ``--out`` (refused, naming it, if it cannot be)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out {out!r} is a file, not a directory: give a directory for the "
                         "study")
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, f".write-test-{os.getpid()}")
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError as error:
        raise ValueError(f"--out {out!r} cannot be written ({error.strerror or error}): give "
                         "a directory you can write to") from None


def _only_study(storage, url):
    """The name of the one study in ``storage`` (``--resume`` without ``--study``)."""
    import optuna
    names = optuna.study.get_all_study_names(storage)
    if len(names) != 1:
        raise ValueError(f"--resume: {_shown(url)} holds {len(names)} studies "
                         f"{sorted(names)}: name the one to continue with --study")
    return names[0]


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
    # A study stored by another version may hold bookkeeping this one does not compare (or
    # lack one it has): only what a result depends on must match.
    stored = with_added_settings(existing["settings"])
    differ = sorted(k for k in set(stored) | set(record["settings"])
                    if k not in _BOOKKEEPING and stored.get(k) != record["settings"].get(k))
    if differ:
        raise ValueError(f"the study {name!r} was created with other settings: "
                         + ", ".join(f"{flag_name(k)} {stored.get(k)!r}"
                                     for k in differ))
    if existing.get("digits_sha256") != record["digits_sha256"]:
        raise ValueError(f"--data: the study {name!r} was created with other digits")
    for name_of in ("seeds", "splits"):
        if existing.get(name_of) != record[name_of]:
            raise ValueError(f"--{name_of}: the study {name!r} was created with --{name_of} "
                             f"{existing.get(name_of)}, not {record[name_of]}")


def _seeds_text(prepared):
    runs = trial_runs(prepared.base, prepared.seeds, prepared.splits)
    if len(runs) == 1:
        return ""
    seed, split = prepared.base.seed, prepared.base.split_seed
    return (f", mean accuracy of network seeds {seed} .. {seed + prepared.seeds - 1} on splits "
            f"{split} .. {split + prepared.splits - 1} ({len(runs)} runs) per trial")


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


def run_study(config: TuneConfig) -> dict:
    """Check and create (or join) the study, run ``config.workers`` workers on it until it has
    its trials, then write and return its summary (:func:`summarize`)."""
    prepared = prepare(config)
    if prepared.progress:
        print(f"brian-stdp tune: study {prepared.name!r} in {_shown(prepared.url)}; "
              f"{prepared.trials} trials over {list(prepared.space)}, rule "
              f"{prepared.rule['rule']}, {prepared.base.neurons} neurons, "
              f"{prepared.base.train} training digits, {prepared.base.validation} validation "
              f"digits"
              f"{_seeds_text(prepared)}; "
              f"{config.workers} worker(s); {_pruning_text(prepared)}", flush=True)
    from .. import brian2_private
    brian2_private.keep_sigint_ignored()  # nohup: a SIGINT stays ignored
    signum = run_workers(prepared, config.workers)
    if signum is not None:
        raise StudyInterrupted(prepared, signum, config.storage is not None)
    return summarize(prepared)
