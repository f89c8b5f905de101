"""When a study may stop a trial: its pruner (median or successive halving) with a warm-up.

A trial reports its training-block accuracy after every chunk, at the step ``training digits
seen so far`` (:class:`brian_stdp.tune.objective.Objective`). The pruner may stop it only once

* ``startup_trials`` trials of the study have completed (:data:`STARTUP_TRIALS` by default),
  so that there is a field to compare with, and
* the trial has seen its warm-up digits: ``prune_after`` (``--prune-after``), by default a
  third of its own training digits (``train x epochs``, which a space may vary per trial).
"""
import optuna
from optuna.trial import TrialState

__all__ = ["STARTUP_TRIALS", "WarmUp", "warm_up_digits", "training_digits", "make_pruner"]

#: Completed trials before any trial is pruned (``--startup-trials``): Optuna's own default for
#: its median pruner; the median of fewer finished trials is a noisy bar.
STARTUP_TRIALS = 5


def training_digits(base, params) -> int:
    """The training digits (steps) of a trial with ``params`` over the study's ``base``."""
    return int(params.get("train", base.train)) * int(params.get("epochs", base.epochs))


def warm_up_digits(n_training, prune_after=None) -> int:
    """Training digits a trial of ``n_training`` digits sees before it may be pruned."""
    if prune_after is not None:
        return prune_after
    # A third: a 100-neuron D&C network is near chance for its first few hundred digits and
    # passes 70% after 1000-2000 of 4000, so before then a trial's rank says little.
    return n_training // 3


class WarmUp(optuna.pruners.BasePruner):
    """``pruner``, asked only once ``startup_trials`` trials have completed and the trial's
    latest step (training digits seen) has reached its warm-up (:func:`warm_up_digits` of its
    own training digits: ``base`` with the trial's ``train`` and ``epochs``)."""

    def __init__(self, pruner, base, prune_after=None, startup_trials=STARTUP_TRIALS):
        self.pruner, self.base = pruner, base
        self.prune_after, self.startup_trials = prune_after, startup_trials

    def warm_up(self, trial) -> int:
        return warm_up_digits(training_digits(self.base, trial.params), self.prune_after)

    def prune(self, study, trial) -> bool:
        step = trial.last_step
        if step is None or step < self.warm_up(trial):
            return False
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(completed) < self.startup_trials:
            return False
        return self.pruner.prune(study, trial)


def make_pruner(name, base, prune_after=None, startup_trials=None):
    """The pruner ``name`` (``median``, ``halving`` or ``none``) of a study of ``base``."""
    if name == "none":
        return optuna.pruners.NopPruner()
    startup_trials = STARTUP_TRIALS if startup_trials is None else startup_trials
    if name == "median":
        # Startup and warm-up are the wrapper's (the warm-up can differ from trial to trial).
        inner = optuna.pruners.MedianPruner(n_startup_trials=0, n_warmup_steps=0)
    else:
        # Successive halving's first rung at the warm-up of the study's own training digits
        # (its "auto" would put it at 1% of a trial's steps).
        inner = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=max(1, warm_up_digits(training_digits(base, {}), prune_after)))
    return WarmUp(inner, base, prune_after, startup_trials)
