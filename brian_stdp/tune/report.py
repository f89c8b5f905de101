"""What a study writes: its table, its trials as JSON lines, its plots, and its best settings
as the job's templates.

``trials.jsonl`` is the study's record for others to check: one line per trial with its
parameters, its state, its value (the mean validation accuracy) and every run behind it (network
seed, split, validation accuracy), the ``brian-stdp mnist`` command that reruns each of its runs,
and the command that started the study. ``benchmarks/studies/`` keeps the ones behind the job's
defaults.
"""
import csv
import json
import os

from ..mnist.config import flag_name
from ..rules import rule_class
from .space import JOB_SETTINGS
from .storage import open_storage, shown

__all__ = ["summarize", "trial_records", "write_trials_jsonl", "job_command"]


def summarize(prepared) -> dict:
    """Write the study's table (``trials.csv``), its trials (``trials.jsonl``), its plots
    (``history.png``, ``importance.png``) and its best settings as the job's templates
    (``best_rule.json`` for ``--rule-file``, ``best_settings.json``, ``best_command.txt``);
    print and return the summary."""
    import optuna
    from optuna.trial import TrialState

    storage = open_storage(prepared.url, prepared.heartbeat)
    study = optuna.load_study(study_name=prepared.name, storage=storage)
    optuna.storages.fail_stale_trials(study)
    trials = study.get_trials(deepcopy=False)
    states = {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState}
    # Programs compiled, over all trials: every other run found its program in the study's
    # build directory (the same network gives the same code in every process,
    # brian2_private.canonical_clock_order, so the same key).
    compiles = sum(t.user_attrs.get("programs_compiled", 0) for t in trials)
    os.makedirs(prepared.out, exist_ok=True)
    files = [_write_table(trials, prepared.out),
             write_trials_jsonl(prepared, trials, os.path.join(prepared.out, "trials.jsonl"))]
    summary = {"study": prepared.name, "storage": shown(prepared.url), "trials": len(trials),
               "states": states, "compiles": compiles,
               "device": prepared.base.device, "seeds": prepared.seeds,
               "splits": prepared.splits, "best": None}
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete:
        best = study.best_trial
        files += _write_best(best, prepared)
        summary["best"] = {"number": best.number, "accuracy": best.value,
                           "runs": best.user_attrs.get("runs", []), "params": best.params}
    files += _write_plots(study, prepared.out, summary)
    summary["files"] = files
    with open(os.path.join(prepared.out, "summary.json"), "w") as handle:
        json.dump(summary, handle, indent=1)
        handle.write("\n")
    if prepared.progress:
        print(_summary_text(summary, trials), flush=True)
    return summary


def _runs_text(trial):
    return " ".join(f"{r['seed']}/{r['split']}:{r['validation_accuracy']}"
                    for r in trial.user_attrs.get("runs", []))


def _write_table(trials, out):
    from optuna.trial import TrialState
    path = os.path.join(out, "trials.csv")
    names = sorted({name for t in trials for name in t.params})
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "state", "accuracy", "runs (seed/split:accuracy)", "seconds",
                         "programs compiled", "pruned_after", *names])
        for t in trials:
            writer.writerow([t.number, t.state.name.lower(),
                             t.value if t.state == TrialState.COMPLETE else "",
                             _runs_text(t), round(t.user_attrs.get("seconds", 0.0), 2),
                             t.user_attrs.get("programs_compiled", 0),
                             t.user_attrs.get("pruned_after", ""),
                             *[t.params.get(name, "") for name in names]])
    return path


def _trial_rule(prepared, params):
    """The study's rule with a trial's rule parameters."""
    rule = rule_class(prepared.rule["rule"]).from_dict(prepared.rule)
    rule_parameters = {k: v for k, v in params.items() if k not in JOB_SETTINGS}
    return rule_class(rule.name).from_dict(
        {"rule": rule.name, "parameters": {**rule.to_dict()["parameters"], **rule_parameters}})


def _trial_settings(prepared, params):
    """Every job setting of a trial (the study's, with the trial's), None left out."""
    settings = {name: getattr(prepared.base, name) for name in JOB_SETTINGS}
    settings.update({k: v for k, v in params.items() if k in JOB_SETTINGS})
    settings["validation"] = prepared.base.validation
    mean_pixel = prepared.base.mean_pixel
    settings["mean_pixel"] = "none" if mean_pixel is None else mean_pixel  # as the flag says it
    return {k: v for k, v in settings.items() if v is not None}


def job_command(prepared, params, rule_path, **overrides) -> list:
    """The ``brian-stdp mnist`` command of a trial's settings (``overrides``: settings to
    replace, such as a run's ``seed`` and ``split_seed``, or ``test``)."""
    settings = {**_trial_settings(prepared, params), **overrides}
    command = ["brian-stdp", "mnist", "--rule-file", rule_path]
    for name, value in settings.items():
        command += [flag_name(name), _fmt_exact(value)]
    if prepared.base.data:
        command += ["--data", prepared.base.data]
    command += ["--device", prepared.base.device]
    if prepared.base.device == "runtime":   # the job's default target is cython
        command += ["--target", prepared.base.target]
    return command


def trial_records(prepared, trials) -> list:
    """One plain-data record per trial (what ``trials.jsonl`` holds)."""
    from .objective import trial_runs
    records = []
    for t in trials:
        rule = _trial_rule(prepared, t.params)
        runs = t.user_attrs.get("runs", [])
        done = {(r["seed"], r["split"]) for r in runs}
        commands = [" ".join(job_command(prepared, t.params, "RULE.json", seed=seed,
                                         split_seed=split, test=0))
                    for seed, split in trial_runs(prepared.base, prepared.seeds,
                                                  prepared.splits)
                    if (seed, split) in done or not runs]
        complete = t.state.name == "COMPLETE"
        last = max(t.intermediate_values) if t.intermediate_values else None
        records.append({
            "study": prepared.name, "number": t.number, "state": t.state.name.lower(),
            # A pruned trial has no validation accuracy: Optuna's value for it is its last
            # training-block accuracy, kept apart.
            "validation_accuracy": t.value if complete else None,
            "last_block_accuracy": t.intermediate_values[last] if last is not None else None,
            "params": t.params, "runs": runs,
            "pruned_after": t.user_attrs.get("pruned_after"),
            "seconds": t.user_attrs.get("seconds"),
            "compiled": t.user_attrs.get("compiled"), "rule": rule.to_dict(),
            "commands": commands,
            "command_note": "RULE.json: this line's rule, saved as a template",
            "study_command": prepared.command,
        })
    return records


def write_trials_jsonl(prepared, trials, path) -> str:
    """Write :func:`trial_records` to ``path``, one JSON line per trial; return the path."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:
        for record in trial_records(prepared, trials):
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def _write_best(best, prepared):
    rule = _trial_rule(prepared, best.params)
    rule_path = os.path.abspath(os.path.join(prepared.out, "best_rule.json"))
    rule.save(rule_path)
    settings = _trial_settings(prepared, best.params)
    command = job_command(prepared, best.params, rule_path)
    settings_path = os.path.join(prepared.out, "best_settings.json")
    with open(settings_path, "w") as handle:
        json.dump({"rule_file": rule_path, "settings": settings,
                   "validation_accuracy": best.value,
                   "runs": best.user_attrs.get("runs", []),
                   "trial": best.number,
                   "command": command}, handle, indent=1)
        handle.write("\n")
    command_path = os.path.join(prepared.out, "best_command.txt")
    with open(command_path, "w") as handle:
        handle.write(" ".join(command) + "\n")
    return [rule_path, settings_path, command_path]


def _fmt_exact(value):
    return repr(value) if isinstance(value, float) else str(value)


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


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
                else f" in {summary['trials']} trials; every other run found its program "
                     "compiled")]
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
