"""``brian-stdp tune``: an Optuna study over the MNIST job's settings and its rule's parameters.

:mod:`~brian_stdp.tune.space` (which parameters vary, over which ranges),
:mod:`~brian_stdp.tune.objective` (one trial: the job on validation digits carved from the
training digits, its training-block accuracy reported for pruning), :mod:`~brian_stdp.tune.study`
(storage, workers, the summary and the best settings as the job's templates).
``docs/tuning.rst`` has the commands.
"""
from .space import JOB_SETTINGS, Range, SearchSpace, default_space, load_space
from .study import TuneConfig, prepare, run_study, run_worker, summarize

__all__ = ["TuneConfig", "run_study", "prepare", "run_worker", "summarize", "SearchSpace",
           "Range", "load_space", "default_space", "JOB_SETTINGS"]
