"""The studies of Meta with 100 neurons in docs/tuning.rst: ``brian-stdp tune`` through its
Python API, with the job's defaults queued as the first trial so that the study scores them too.

    python benchmarks/study_meta.py OUT TRIALS TRAIN {wide,narrow}

Two network seeds per trial, TRAIN training digits, the 800 validation digits carved from the
training digits, two workers, the sampler seeded. ``wide``: the first study's space (1500
training digits); ``narrow``: the second's (3200, all the training digits the split leaves).
"""
import sys

from brian_stdp.mnist.config import MnistConfig
from brian_stdp.tune import TuneConfig, run_study

SPACES = {
    "wide": {"theta_plus": {"low": 0.02, "high": 0.2, "log": True},
             "Apost": {"low": 2e-3, "high": 5e-2, "log": True},
             "Apre": {"low": 1e-5, "high": 1e-3, "log": True}},
    "narrow": {"theta_plus": {"low": 0.03, "high": 0.1, "log": True},
               "Apost": {"low": 3e-3, "high": 3e-2, "log": True},
               "Apre": {"low": 5e-6, "high": 2e-4, "log": True}},
}
DEFAULTS = {"theta_plus": 0.05, "Apost": 0.01, "Apre": 1e-4}

if __name__ == "__main__":
    out, trials, train, space = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    run_study(TuneConfig(base=MnistConfig(rule="meta", neurons=100, train=train),
                         space=SPACES[space],
                         trials=trials, workers=2, seeds=2, seed=0, out=out,
                         enqueue=[DEFAULTS]))
