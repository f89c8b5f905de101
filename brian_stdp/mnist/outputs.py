"""The files a finished job writes to ``--out``: results.json, weights.npz and the figures."""
import json
import os
import platform

import brian2
import numpy as np

from . import figures

__all__ = ["versions", "write_outputs"]


def versions():
    """The versions a result was computed with."""
    from .. import __version__
    return {"brian_stdp": __version__, "brian2": brian2.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def write_outputs(out, results, weights, theta, assignment):
    """Write the arrays, the figures, then ``results.json`` (listing every file in ``out``)."""
    np.savez(os.path.join(out, "weights.npz"), weights=weights, thresholds=theta,
             assignment=assignment)
    figures.receptive_fields(weights, assignment, os.path.join(out, "receptive_fields.png"))
    if results["accuracy"] is not None:  # --test 0 (a study's trial) classifies no held-out
        figures.confusion_matrix(np.asarray(results["confusion_matrix"]),
                                 os.path.join(out, "confusion_matrix.png"))
    figures.training_curve(results["training_curve"], os.path.join(out, "training.png"))
    results["files"] = sorted(set(os.listdir(out) + ["results.json"]))
    with open(os.path.join(out, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
        handle.write("\n")
