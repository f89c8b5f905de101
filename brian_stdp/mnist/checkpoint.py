"""Checkpoints of the MNIST job: written atomically, verified before use.

A checkpoint is a directory (by default ``OUT/checkpoint``) holding

* ``state_<presentations done>.npz``: the carried state after the last completed chunk (the
  weights as SPAIC's ``[post, pre]`` matrix, every carried per-neuron variable under
  ``group.variable``, see :mod:`brian_stdp.mnist.chunks`) and ``counts``, the spikes of every
  excitatory neuron in every presentation done so far;
* ``manifest.json``: format and version, the run's identity (every setting the result depends
  on: rule parameters, sizes, timing, seeds, device, chunk length, and a sha256 of the digits),
  the progress, and the name, size and sha256 of the array file.

Writing is crash-safe: the array file is written to a temporary file in the same directory,
flushed and fsynced, then renamed over its final name (``os.replace``); only then is the
manifest written the same way, naming the new array file; only then are older array files
removed. Whenever the process stops, ``manifest.json`` is either the old one with its array
file or the new one with its array file. A Ctrl-C or SIGTERM during the write is taken once
it is done (:func:`brian_stdp.mnist.signals.deferred`).

Loading refuses, with a :class:`CheckpointError` (a ``ValueError``) that says what is wrong,
anything that is not exactly what this job would have written: missing or unreadable files,
invalid JSON, another format or version, an array file whose size or sha256 differs from the
manifest's, arrays missing, of the wrong shape or type, or not finite, progress that is not a
chunk boundary, and a run identity that differs from this run's (naming each differing setting).
"""
import hashlib
import io
import json
import os
import sys
import tempfile

import numpy as np

from ..rules.base import with_dt
from . import signals

__all__ = ["CheckpointError", "FORMAT", "VERSION", "MANIFEST", "data_fingerprint", "write",
           "load", "check_identity", "check_arrays", "resolve_directory",
           "refuse_to_overwrite_unfinished", "settings_of", "Keeper"]

FORMAT = "brian_stdp mnist checkpoint"
VERSION = 1
MANIFEST = "manifest.json"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (corrupt, truncated, or from another run)."""


def data_fingerprint(X, y):
    """sha256 of the digits (shapes, pixel values as float64, labels as int64)."""
    digest = hashlib.sha256()
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    digest.update(repr((X.shape, y.shape)).encode())
    digest.update(memoryview(X))  # no copy: the full Fashion-MNIST is 376 MB as float64
    digest.update(memoryview(y))
    return digest.hexdigest()


def _fsync_directory(directory):
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _atomic_write(path, payload):
    """Write ``payload`` (bytes) to ``path`` so that ``path`` is always old or new, whole."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix="-" +
                                   os.path.basename(path))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file (mkstemp makes it private)
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def write(directory, identity, progress, arrays, settings=None):
    """Write a checkpoint (see the module docstring); return the manifest's path.
    ``settings``: the job's settings as plain data (its config, paths absolute), kept so that
    ``--resume DIR`` alone can continue the job."""
    os.makedirs(directory, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    name = f"state_{int(progress['presentations_done']):08d}.npz"
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "identity": identity,
        "settings": settings,
        "progress": progress,
        "arrays": {"file": name, "bytes": len(payload),
                   "sha256": hashlib.sha256(payload).hexdigest(),
                   "keys": sorted(arrays)},
    }
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    with signals.deferred():  # a Ctrl-C or SIGTERM meanwhile is taken after the write
        _atomic_write(os.path.join(directory, name), payload)
        _atomic_write(os.path.join(directory, MANIFEST), text.encode())
        for other in os.listdir(directory):
            if other != name and (other.startswith("state_") and other.endswith(".npz")
                                  or other.startswith(".tmp-")):
                try:
                    os.remove(os.path.join(directory, other))
                except OSError:
                    pass
    return os.path.join(directory, MANIFEST)


def resolve_directory(path):
    """The checkpoint directory for ``--resume PATH``: PATH itself, or PATH/checkpoint (a job's
    ``--out``)."""
    if os.path.isfile(os.path.join(path, MANIFEST)):
        return path
    nested = os.path.join(path, "checkpoint")
    if os.path.isfile(os.path.join(nested, MANIFEST)):
        return nested
    raise CheckpointError(f"--resume: {path!r} holds no checkpoint (no {MANIFEST} in it or in "
                          f"{os.path.join(path, 'checkpoint')!r})")


def load(path):
    """``(directory, manifest, arrays)`` of the checkpoint at ``path``, its integrity verified.

    What the arrays must contain is checked by the caller, which knows the run's shapes.
    """
    if not isinstance(path, str) or not os.path.isdir(path):
        raise CheckpointError(f"--resume: no such checkpoint directory {path!r}")
    directory = resolve_directory(path)
    where = f"--resume {directory!r}"
    manifest_path = os.path.join(directory, MANIFEST)
    try:
        with open(manifest_path, "rb") as handle:
            manifest = json.loads(handle.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"{where}: {MANIFEST} is unreadable or not valid JSON, the "
                              f"checkpoint is corrupt ({error})") from None
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != FORMAT:
        raise CheckpointError(f"{where}: {MANIFEST} is not a brian_stdp mnist checkpoint "
                              f"manifest (format {found!r})")
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"{where}: checkpoint format version {manifest.get('version')!r}, "
                              f"this brian_stdp reads version {VERSION} only")
    for key, kind in (("identity", dict), ("progress", dict), ("arrays", dict)):
        if not isinstance(manifest.get(key), kind):
            raise CheckpointError(f"{where}: {MANIFEST} lacks its {key!r} section, the "
                                  "checkpoint is corrupt")
    info = manifest["arrays"]
    name = info.get("file")
    if (not isinstance(name, str) or os.path.basename(name) != name or not name.endswith(".npz")
            or not isinstance(info.get("sha256"), str) or not isinstance(info.get("bytes"), int)):
        raise CheckpointError(f"{where}: {MANIFEST} does not name its array file properly, the "
                              "checkpoint is corrupt")
    array_path = os.path.join(directory, name)
    try:
        with open(array_path, "rb") as handle:
            payload = handle.read()
    except OSError as error:
        raise CheckpointError(f"{where}: the array file {name!r} is missing or unreadable "
                              f"({error.strerror})") from None
    if len(payload) != info["bytes"]:
        raise CheckpointError(f"{where}: the array file {name!r} has {len(payload)} bytes, the "
                              f"manifest says {info['bytes']}: truncated or replaced")
    if hashlib.sha256(payload).hexdigest() != info["sha256"]:
        raise CheckpointError(f"{where}: the array file {name!r} does not match the sha256 in "
                              f"{MANIFEST}: corrupt or modified")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # noqa: BLE001  (numpy raises many kinds for a bad file)
        raise CheckpointError(f"{where}: the array file {name!r} is not a readable .npz "
                              f"({type(error).__name__}: {error})") from None
    return directory, manifest, arrays


def check_identity(manifest, identity, directory):
    """Refuse a checkpoint written by a run with other settings, naming every difference."""
    stored = dict(manifest["identity"])
    if "rule parameters" in stored:
        stored["rule parameters"] = with_dt(stored["rule parameters"])
    differences = []
    for key in sorted(set(stored) | set(identity)):
        if key not in stored:
            differences.append(f"{key} (missing from the checkpoint)")
        elif stored[key] != identity.get(key, "<missing>"):
            differences.append(f"{key}: checkpoint {_short(stored[key])}, this run "
                               f"{_short(identity.get(key))}")
    if differences:
        raise CheckpointError(
            f"--resume {directory!r}: the checkpoint was written by a run with other settings "
            f"({'; '.join(differences)}). A checkpoint only continues the run that wrote it: "
            "repeat that run's options with --resume.")


def _short(value):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def check_arrays(arrays, manifest, n_total, n_neurons, n_inputs, directory):
    """Check a loaded checkpoint's arrays and progress against this run's ``n_total`` digits
    and sizes; return ``(chunks done, digits done)``."""
    where = f"--resume {directory!r}"
    progress = manifest["progress"]
    chunks_done = progress.get("chunks_done")
    done = progress.get("presentations_done")
    if (not isinstance(chunks_done, int) or isinstance(chunks_done, bool)
            or chunks_done < 1 or not isinstance(done, int) or isinstance(done, bool)
            or not 0 <= done <= n_total):
        raise CheckpointError(f"{where}: its progress ({chunks_done!r} chunks, {done!r} "
                              f"digits) is not possible in this run of {n_total} digits")
    listed = manifest["arrays"].get("keys")
    if listed != sorted(arrays):
        raise CheckpointError(f"{where}: the array file holds {sorted(arrays)}, the manifest "
                              f"lists {listed}")
    for key in ("weights", "counts", "presenter.repeat", "presenter.repeats"):
        if key not in arrays:
            raise CheckpointError(f"{where}: the array file lacks {key!r}")
    for key, value in arrays.items():
        if value.dtype == bool or not (np.issubdtype(value.dtype, np.integer)
                                       or np.issubdtype(value.dtype, np.floating)):
            raise CheckpointError(f"{where}: array {key!r} has dtype {value.dtype}, not numbers")
        if not np.all(np.isfinite(value)):
            raise CheckpointError(f"{where}: array {key!r} holds NaN or inf")
        if key == "weights":
            expected = [(n_neurons, n_inputs)]
        elif key == "counts":
            expected = [(done, n_neurons)]
        elif key == "presenter.repeat":
            expected = [()]
        elif key == "presenter.repeats":
            expected = [(2,)]
        else:
            expected = [(n_neurons,), (n_inputs,)]
        if value.shape not in expected:
            raise CheckpointError(f"{where}: array {key!r} has shape {value.shape}, expected "
                                  f"{' or '.join(map(str, expected))}")
    if not np.issubdtype(arrays["counts"].dtype, np.integer) or arrays["counts"].min(
            initial=0) < 0:
        raise CheckpointError(f"{where}: the spike counts must be non-negative integers")
    for key in ("presenter.repeat", "presenter.repeats"):
        if not np.issubdtype(arrays[key].dtype, np.integer) or arrays[key].min(initial=0) < 0:
            raise CheckpointError(f"{where}: {key} must hold non-negative integers")
    return chunks_done, done


def refuse_to_overwrite_unfinished(directory, out):
    """A new job would replace the checkpoint in ``directory`` (``OUT/checkpoint``): refuse if
    it holds an interrupted job's work (or cannot be read), rather than lose it."""
    path = os.path.join(directory, MANIFEST)
    if not os.path.exists(path):
        return
    try:
        with open(path) as handle:
            progress = json.load(handle)["progress"]
        finished = progress["presentations_done"] == progress["presentations_total"]
    except (OSError, ValueError, KeyError, TypeError):
        finished = False
    if not finished:
        raise ValueError(f"--out {out!r} holds the checkpoint of an unfinished job "
                         f"({directory}): continue it with --resume {out}, or remove that "
                         "directory (or choose another --out) to start afresh")


#: Settings whose paths a checkpoint keeps absolute (``--resume DIR`` may run elsewhere).
_PATHS = ("rule_file", "data", "test_data", "out", "build_dir")


def settings_of(config) -> dict:
    """A job's settings as plain data, its paths absolute: what ``--resume DIR`` alone
    continues with."""
    import dataclasses
    settings = dataclasses.asdict(config)
    for name in _PATHS:
        if settings.get(name) is not None:
            settings[name] = os.path.abspath(settings[name])
    return json.loads(json.dumps(settings))


class Keeper:
    """Writes a job's checkpoint to ``OUT/checkpoint`` when one is due, and remembers what it
    last wrote. ``plan``: the job's plan (``identity``, ``n_total``, ``n_train``); the
    completed work passed in has ``chunks``, ``digits``, ``state``, ``counts`` and
    ``presenter_arrays()``."""

    def __init__(self, config, plan, chunks_done, resumed_from):
        self.directory = os.path.join(config.out, "checkpoint")
        if resumed_from is None and not config.overwrite:
            refuse_to_overwrite_unfinished(self.directory, config.out)
        self.plan, self.every = plan, config.checkpoint_every
        same = resumed_from is not None and os.path.abspath(
            resolve_directory(config.resume)) == os.path.abspath(self.directory)
        self.written_chunks = chunks_done if same else -1
        self.settings = settings_of(config)
        self.written_presentations = resumed_from["presentations_done"] if resumed_from else 0

    def after_chunk(self, completed):
        """Write a checkpoint if one is due: at the end of training, at the end, or
        ``--checkpoint-every`` presentations after the last one."""
        done = completed.digits
        if (done in (self.plan.n_total, self.plan.n_train)
                or (self.every > 0 and done - self.written_presentations >= self.every)):
            self.write(completed)

    def write(self, completed):
        plan = self.plan
        done = completed.digits
        arrays = dict(completed.state, **completed.presenter_arrays())
        arrays["counts"] = np.concatenate(completed.counts)
        # A signal during the write is taken once the write and its record here are done.
        with signals.deferred():
            write(self.directory, plan.identity, {
                "chunks_done": completed.chunks, "presentations_done": done,
                "presentations_total": plan.n_total,
                "training_presentations": plan.n_train, "training_done": done >= plan.n_train},
                arrays, self.settings)
            self.written_chunks, self.written_presentations = completed.chunks, done

    def keep(self, completed):
        """After a failure, Ctrl-C or SIGTERM: write the completed chunks unless already written;
        return the checkpoint directory, or None if there is no completed chunk to keep."""
        if completed.chunks == 0:
            return None
        if self.written_chunks != completed.chunks:
            try:
                self.write(completed)
            except Exception as error:  # noqa: BLE001
                print(f"brian-stdp mnist: could not write the checkpoint ({error})",
                      file=sys.stderr)
        return self.directory if self.written_chunks == completed.chunks else None
