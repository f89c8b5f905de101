"""The files a finished job writes to ``--out``: results.json, weights.npz and the figures."""
import json
import os
import platform
import tempfile

import brian2
import numpy as np

from . import figures

__all__ = ["versions", "write_outputs", "prepare_out", "RESULTS"]

#: The file whose presence marks a finished job's outputs.
RESULTS = "results.json"


def versions():
    """The versions a result was computed with."""
    from .. import __version__
    return {"brian_stdp": __version__, "brian2": brian2.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def write_outputs(out, results, weights, theta, assignment):
    """Write the arrays, the figures, then ``results.json`` (listing every file in ``out``).

    Each file is written under a temporary name and renamed into place, ``results.json`` last,
    with Ctrl-C and SIGTERM held until all are written (:func:`~.signals.deferred`): an
    interruption never leaves a half-written output, and ``results.json`` is there only when
    everything else is.
    """
    from . import signals

    def written(name, write):
        temporary = os.path.join(out, f".tmp-{os.getpid()}-{name}")
        write(temporary)
        os.replace(temporary, os.path.join(out, name))

    def save_weights(path):
        with open(path, "wb") as handle:
            np.savez(handle, weights=weights, thresholds=theta, assignment=assignment)

    with signals.deferred():
        written("weights.npz", save_weights)
        written("receptive_fields.png",
                lambda path: figures.receptive_fields(weights, assignment, path))
        confusion = os.path.join(out, "confusion_matrix.png")
        if results["accuracy"] is not None:  # --test 0 (a study's trial) classifies none
            written("confusion_matrix.png", lambda path: figures.confusion_matrix(
                np.asarray(results["confusion_matrix"]), path))
        elif os.path.exists(confusion):  # an earlier job's, replaced (--overwrite)
            os.remove(confusion)
        written("training.png",
                lambda path: figures.training_curve(results["training_curve"], path))
        results["files"] = sorted(
            set(n for n in os.listdir(out) if not n.startswith(".")) | {RESULTS})

        def save_results(path):
            with open(path, "w") as handle:
                json.dump(results, handle, indent=1)
                handle.write("\n")
        written(RESULTS, save_results)


def prepare_out(config):
    """Check that ``config.out`` can be made and written, before any work; refuse to replace
    a finished job's outputs there unless the job continues it (``--resume``) or is told to
    (``--overwrite``). ValueError naming ``--out`` otherwise."""
    out = config.out
    # Nothing is made yet (a job refused later, for bad data, leaves no directory behind):
    # a probe directory in --out, or in its nearest existing parent, shows it can be written.
    existing = os.path.abspath(out)
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    try:
        if not os.path.isdir(existing):
            raise NotADirectoryError(f"{existing!r} is a file")
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".write-test-"))
    except OSError as error:
        raise ValueError(f"--out {out!r} cannot be written ({error.strerror or error}): give "
                         "a directory you can write to") from None
    if (config.resume is None and not config.overwrite
            and os.path.exists(os.path.join(out, RESULTS))):
        raise ValueError(f"--out {out!r} holds a finished job's results ({RESULTS}): give "
                         "--overwrite to replace them, or another --out")
