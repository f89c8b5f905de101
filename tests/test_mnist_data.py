"""The user's own digits: ``--data`` / ``--test-data`` as IDX files (plain or .gz), a directory
of them, or an ``.npz``; every defective file refused with the flag and the file named.

The tests write small IDX files of their own; one test reads the real Fashion-MNIST that
Debian's ``dataset-fashion-mnist`` installs (``.ci/run`` installs it). No network is simulated.
"""
import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from brian_stdp.cli import main
from brian_stdp.mnist import data as mnist_data
from brian_stdp.mnist import pipeline
from brian_stdp.mnist.data import load_digits, load_job_digits, split_digits
from tests.support.optional import missing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = "/usr/share/datasets/fashion-mnist"


def write_idx(path, array, magic=None):
    """An IDX file of unsigned bytes (gzip-compressed if ``path`` ends in .gz)."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 | array.ndim if magic is None else magic
    content = struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()
    with (gzip.open if str(path).endswith(".gz") else open)(path, "wb") as stream:
        stream.write(content)
    return str(path)


def write_digits(directory, part="train", n=12, suffix=".gz", seed=0, prefix=""):
    """``(images path, X [n, 784], y [n])``: random digits as MNIST's pair of IDX files."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
    y = np.arange(n) % 10
    os.makedirs(directory, exist_ok=True)
    images = write_idx(os.path.join(directory, f"{prefix}{part}-images-idx3-ubyte{suffix}"),
                       X.reshape(n, 28, 28))
    write_idx(os.path.join(directory, f"{prefix}{part}-labels-idx1-ubyte{suffix}"), y)
    return images, X, y


# ---- good files ----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_files_read_back_as_written(tmp_path, suffix):
    images, X, y = write_digits(tmp_path, suffix=suffix)
    X2, y2, info = load_digits(images)
    assert X2.dtype == np.float64 and y2.dtype == np.int64
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert info["source"] == images
    assert info["labels"] == images.replace("images-idx3", "labels-idx1")
    assert info["format"] == ("IDX, gzip" if suffix else "IDX") and info["count"] == 12
    json.dumps(info)


@pytest.mark.parametrize("images, labels", [
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ("train-images.idx3-ubyte", "train-labels.idx1-ubyte"),        # as some copies name them
    ("emnist-digits-train-images-idx3-ubyte.gz", "emnist-digits-train-labels-idx1-ubyte.gz"),
])
def test_labels_are_found_beside_the_images_by_mnists_naming(tmp_path, images, labels):
    assert mnist_data.labels_path_for(str(tmp_path / images)) == str(tmp_path / labels)
    X = np.arange(3 * 784).reshape(3, 28, 28) % 256
    write_idx(tmp_path / images, X)
    write_idx(tmp_path / labels, [7, 8, 9])
    X2, y2, _ = load_digits(str(tmp_path / images))
    np.testing.assert_array_equal(X2, X.reshape(3, 784))
    assert y2.tolist() == [7, 8, 9]


def test_a_directory_means_its_train_files_for_data_and_t10k_for_test_data(tmp_path):
    _, X_train, y_train = write_digits(tmp_path, "train", n=20, seed=1)
    _, X_test, _ = write_digits(tmp_path, "t10k", n=8, seed=2)
    X, y, _ = load_digits(str(tmp_path))
    np.testing.assert_array_equal(X, X_train)
    np.testing.assert_array_equal(y, y_train)

    X, _, train_order, held_out_order, info = load_job_digits(str(tmp_path), str(tmp_path))
    np.testing.assert_array_equal(X[held_out_order], X_test)
    assert sorted(train_order) == list(range(20))
    assert info["test"]["source"].endswith("t10k-images-idx3-ubyte.gz")


def test_a_directory_without_test_data_is_split_and_its_t10k_files_are_not_used(tmp_path):
    write_digits(tmp_path, "train", n=50)
    write_digits(tmp_path, "t10k", n=8, seed=2)
    X, y, train_order, held_out_order, info = load_job_digits(str(tmp_path), None, 3)
    assert len(X) == 50  # the t10k digits are not loaded
    expected = split_digits(y, seed=3)
    np.testing.assert_array_equal(train_order, expected[0])
    np.testing.assert_array_equal(held_out_order, expected[1])
    assert "t10k files" in info["held_out"] and "--test-data" in info["held_out"]


def test_without_test_data_the_job_digits_are_load_digits_split(tmp_path):
    rng = np.random.default_rng(0)
    path = str(tmp_path / "own.npz")
    np.savez(path, X=rng.integers(0, 256, size=(40, 784)), y=np.arange(40) % 10)
    X, y, info = load_digits(path)
    X2, y2, train_order, held_out_order, info2 = load_job_digits(path, None, 5)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    for got, expected in zip((train_order, held_out_order), split_digits(y, seed=5)):
        np.testing.assert_array_equal(got, expected)
    assert info2["source"] == info["source"] and "--split-seed" in info2["held_out"]


def test_test_data_comes_after_the_training_digits_in_file_order(tmp_path):
    train, X_train, y_train = write_digits(tmp_path / "a", "train", n=30, seed=1)
    test, X_test, y_test = write_digits(tmp_path / "b", "t10k", n=10, seed=2, suffix="")
    X, y, train_order, held_out_order, info = load_job_digits(train, test, split_seed=0)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, np.concatenate([X_train, X_test]))
    np.testing.assert_array_equal(y, np.concatenate([y_train, y_test]))
    assert held_out_order.tolist() == list(range(30, 40))  # the test set's order: --test N
    assert sorted(train_order.tolist()) == list(range(30))
    assert train_order.tolist() != list(range(30))  # shuffled, so a prefix mixes classes

    again = load_job_digits(train, test, split_seed=0)[2]
    other = load_job_digits(train, test, split_seed=1)
    np.testing.assert_array_equal(train_order, again)
    assert not np.array_equal(train_order, other[2])
    np.testing.assert_array_equal(held_out_order, other[3])  # the seed never moves the test set

    assert info["n_train"] == 30 and info["n_test"] == 10
    assert info["train"]["source"] == train and info["test"]["source"] == test
    assert info["test"]["format"] == "IDX"
    json.dumps(info)


def test_npz_training_digits_with_idx_test_digits(tmp_path):
    path = str(tmp_path / "own.npz")
    np.savez(path, X=np.full((6, 784), 3.0), y=np.arange(6))
    test, X_test, _ = write_digits(tmp_path, "t10k", n=4)
    X, _, train_order, held_out_order, info = load_job_digits(path, test)
    np.testing.assert_array_equal(X[:6], 3.0)
    np.testing.assert_array_equal(X[held_out_order], X_test)
    assert info["train"]["format"] == "npz"


def test_test_data_with_the_shipped_digits_trains_on_all_of_them(tmp_path, monkeypatch):
    shipped_X = np.zeros((25, 784), np.uint8)
    shipped_y = np.arange(25) % 10
    monkeypatch.setattr(mnist_data, "_load_shipped", lambda: (shipped_X, shipped_y, None))
    test, X_test, _ = write_digits(tmp_path, "t10k", n=5)
    X, _, train_order, held_out_order, info = load_job_digits(None, test, 0)
    assert sorted(train_order) == list(range(25))
    assert held_out_order.tolist() == list(range(25, 30))
    assert "no split" in info["train"]["note"]


def test_the_same_file_for_training_and_testing_is_refused(tmp_path):
    images, _, _ = write_digits(tmp_path)
    with pytest.raises(ValueError, match="--test-data: .* also the --data file"):
        load_job_digits(images, images)


# ---- bad files: each names the flag, the file and what is wrong ----------------------------
def _good(tmp_path, suffix=".gz"):
    images, X, y = write_digits(tmp_path, suffix=suffix)
    return images, images.replace("images-idx3", "labels-idx1"), X, y


def wrong_magic(tmp_path):
    images, _, X, _ = _good(tmp_path)
    write_idx(images, X.reshape(-1, 28, 28), magic=0x00000903)
    return images, images, ["magic number is 0x00000903", "0x00000803"]


def labels_magic_in_images(tmp_path):
    images, _, X, _ = _good(tmp_path)
    write_idx(images, X.reshape(-1), magic=0x00000801)
    return images, images, ["magic number", "IDX labels file"]


def images_of_27x28(tmp_path):
    images, _, _, _ = _good(tmp_path)
    write_idx(images, np.zeros((12, 27, 28)))
    return images, images, ["27x28", "(12, 27, 28)", "28x28"]


def truncated_body(tmp_path):
    images, _, _, _ = _good(tmp_path, suffix="")
    content = open(images, "rb").read()
    open(images, "wb").write(content[:-100])
    return images, images, ["truncated", "(12, 28, 28)"]


def truncated_header(tmp_path):
    images, _, _, _ = _good(tmp_path, suffix="")
    open(images, "wb").write(struct.pack(">II", 0x803, 12))
    return images, images, ["truncated", "header"]


def bytes_after_the_data(tmp_path):
    images, _, _, _ = _good(tmp_path, suffix="")
    open(images, "ab").write(b"\0" * 5)
    return images, images, ["longer than its header says"]


def fewer_labels(tmp_path):
    images, labels, _, y = _good(tmp_path)
    write_idx(labels, y[:-1])
    return images, labels, ["12 images", "11 labels", "counts must match"]


def label_10(tmp_path):
    images, labels, _, y = _good(tmp_path)
    y[4] = 10
    write_idx(labels, y)
    return images, labels, ["label 10", "position 4", "0..9"]


def missing_labels(tmp_path):
    images, labels, _, _ = _good(tmp_path)
    os.remove(labels)
    return images, labels, ["no labels file", "expected"]


def labels_compressed_differently(tmp_path):
    images, labels, _, y = _good(tmp_path)
    os.remove(labels)
    write_idx(labels[:-3], y)
    return images, labels, ["no labels file", "compressed differently"]


def not_gzip_despite_gz(tmp_path):
    images, _, X, _ = _good(tmp_path)
    write_idx(images[:-3], X.reshape(-1, 28, 28))
    os.replace(images[:-3], images)
    return images, images, ["not a complete, valid gzip file", ".gz"]


def truncated_gzip(tmp_path):
    images, _, _, _ = _good(tmp_path)
    content = open(images, "rb").read()
    open(images, "wb").write(content[:len(content) // 2])
    return images, images, ["not a complete, valid gzip file"]


def gzip_without_gz(tmp_path):
    images, _, X, y = _good(tmp_path, suffix="")
    with gzip.open(images, "wb") as stream:
        stream.write(open(images, "rb").read())
    return images, images, ["gzip-compressed", "must end in .gz"]


def empty_images(tmp_path):
    images, _, _, _ = _good(tmp_path, suffix="")
    open(images, "wb").close()
    return images, images, ["is empty"]


def empty_gzip_labels(tmp_path):
    images, labels, _, _ = _good(tmp_path)
    open(labels, "wb").close()
    return images, labels, ["is empty"]


def one_image(tmp_path):
    images, labels, X, y = _good(tmp_path)
    write_idx(images, X[:1].reshape(1, 28, 28))
    write_idx(labels, y[:1])
    return images, images, ["1 image(s)", "at least 2"]


def labels_file_passed(tmp_path):
    _, labels, _, _ = _good(tmp_path)
    return labels, labels, ["labels file", "pass the images file"]


def missing_images(tmp_path):
    images = str(tmp_path / "train-images-idx3-ubyte.gz")
    return images, images, ["no such file"]


def directory_without_idx(tmp_path):
    tmp_path.mkdir()
    (tmp_path / "readme.txt").write_text("no digits here")
    return str(tmp_path), str(tmp_path), ["holds no IDX images file", "images-idx3-ubyte[.gz]"]


def directory_with_two(tmp_path):
    for part in ("train", "t10k"):
        write_digits(tmp_path, part, suffix="")
        write_digits(tmp_path, part, suffix=".gz")
    return str(tmp_path), str(tmp_path), ["holds 2 IDX images files", "pass the one to use"]


BAD_FILES = [wrong_magic, labels_magic_in_images, images_of_27x28, truncated_body,
             truncated_header, bytes_after_the_data, fewer_labels, label_10, missing_labels,
             labels_compressed_differently, not_gzip_despite_gz, truncated_gzip, gzip_without_gz,
             empty_images, empty_gzip_labels, one_image, labels_file_passed, missing_images,
             directory_without_idx, directory_with_two]


@pytest.mark.parametrize("make_bad", BAD_FILES, ids=lambda make: make.__name__)
def test_a_bad_data_file_is_refused_naming_flag_file_and_problem(tmp_path, make_bad):
    path, culprit, words = make_bad(tmp_path / "bad")
    with pytest.raises(ValueError) as info:
        load_digits(path)
    message = str(info.value)
    assert message.startswith("--data: ") and culprit in message, message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("make_bad", BAD_FILES, ids=lambda make: make.__name__)
def test_a_bad_test_data_file_is_refused_naming_flag_file_and_problem(tmp_path, make_bad):
    good, _, _ = write_digits(tmp_path / "good")
    path, culprit, words = make_bad(tmp_path / "bad")
    with pytest.raises(ValueError) as info:
        load_job_digits(good, path, 0)
    message = str(info.value)
    assert message.startswith("--test-data: ") and culprit in message, message
    for word in words:
        assert word in message, message


def test_bad_npz_test_data_names_test_data(tmp_path):
    good, _, _ = write_digits(tmp_path)
    path = str(tmp_path / "nan.npz")
    np.savez(path, X=np.full((4, 784), np.nan), y=np.zeros(4, int))
    with pytest.raises(ValueError, match="--test-data: X must be finite"):
        load_job_digits(good, path, 0)
    text = tmp_path / "digits.idx"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"--test-data: .* not a readable \.npz .*idx3-ubyte"):
        load_job_digits(good, str(text), 0)


# ---- the command line: refused with status 2, before anything runs -------------------------
@pytest.mark.parametrize("flag", ["--data", "--test-data"])
def test_cli_refuses_a_bad_file_with_status_2_before_any_simulation(tmp_path, capsys,
                                                                    monkeypatch, flag):
    def no_simulation(*args, **kwargs):
        raise AssertionError("the job went on to plan a network despite the bad file")
    monkeypatch.setattr(pipeline, "_plan", no_simulation)
    good, _, _ = write_digits(tmp_path / "good")
    bad, _, _ = write_digits(tmp_path / "bad")
    open(bad, "wb").write(b"not gzip")
    out = tmp_path / "out"
    files = ["--data", bad] if flag == "--data" else ["--data", good, "--test-data", bad]
    with pytest.raises(SystemExit) as exit_info:
        main(["mnist", *files, "--out", str(out), "--device", "runtime", "--quiet"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"brian-stdp mnist: error: {flag}: " in error and bad in error
    assert not out.exists()


def test_the_command_exits_2_with_the_message_on_stderr(tmp_path):
    bad = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 27, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte", [1, 2, 3])
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "brian_stdp.cli", "mnist", "--data", bad,
                             "--out", str(out)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert f"--data: the images of {bad!r} are 27x28 pixels" in result.stderr
    assert result.stdout == "" and not out.exists()


# ---- the real Fashion-MNIST (Debian's dataset-fashion-mnist) -------------------------------
def test_the_real_fashion_mnist_files_load():
    train = os.path.join(FASHION, "train-images-idx3-ubyte.gz")
    if not os.path.isfile(train):
        missing("fashion-mnist")
    X, y, train_order, held_out_order, info = load_job_digits(FASHION, FASHION, 0)
    assert X.shape == (70000, 784) and X.dtype == np.float64
    assert (info["n_train"], info["n_test"]) == (60000, 10000)
    assert np.bincount(y[:60000]).tolist() == [6000] * 10
    assert np.bincount(y[60000:]).tolist() == [1000] * 10
    assert X.min() == 0 and X.max() == 255
    assert held_out_order.tolist() == list(range(60000, 70000))
    assert info["test"]["source"] == os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")
