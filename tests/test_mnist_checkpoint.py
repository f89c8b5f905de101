"""The MNIST job loses nothing when interrupted: checkpoints, Ctrl-C, SIGTERM, --resume.

Tiny runs (8 neurons, 10 training + 20 evaluation presentations of 30 ms in chunks of 4, numpy
target); the cpp_standalone cases run the job in fresh processes and share one build. An
interrupted and resumed job must end with exactly the weights, thresholds and spike counts of
the uninterrupted job; a corrupt or mismatched checkpoint must be refused before anything runs.
"""
import gc
import hashlib
import io
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from brian_stdp.cli import main
from brian_stdp.mnist import MnistConfig, network, run_mnist, signals
from brian_stdp.mnist import checkpoint as ckpt
from brian_stdp.mnist.checkpoint import CheckpointError
from tests.support.mnist_interrupt import arm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 10 training digits, then 20 evaluation ones, in chunks of 4 presentations; so few spikes in
# 30 ms that many digits are shown again (Diehl & Cook's re-presentation), so the chunks hold
# different numbers of digits and repetitions continue across chunk boundaries.
TINY = ["--neurons", "8", "--train", "10", "--label", "10", "--validation", "0", "--test", "10",
        "--presentation", "30", "--intensity", "2", "--chunk", "4", "--quiet"]
RUNTIME = ["--device", "runtime", "--target", "numpy"]
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def tiny_config(out, **changes):
    """The MnistConfig of ``TINY + RUNTIME`` (for calling run_mnist directly)."""
    settings = dict(neurons=8, train=10, label=10, validation=0, test=10, presentation=30.0,
                    intensity=2.0,
                    chunk=4, progress=False, device="runtime", target="numpy", out=str(out))
    settings.update(changes)
    return MnistConfig(**settings)


def manifest(out):
    return json.loads((out / "checkpoint" / "manifest.json").read_text())


def final_state(out):
    """What an identical result means: weights, thresholds, assignment, every spike count."""
    weights = np.load(out / "weights.npz")
    results = json.loads((out / "results.json").read_text())
    state_file = out / "checkpoint" / manifest(out)["arrays"]["file"]
    counts = np.load(state_file)["counts"]
    return weights, results, counts


def assert_same_result(out_a, out_b):
    weights_a, results_a, counts_a = final_state(out_a)
    weights_b, results_b, counts_b = final_state(out_b)
    for key in ("weights", "thresholds", "assignment"):
        np.testing.assert_array_equal(weights_a[key], weights_b[key], err_msg=key)
    np.testing.assert_array_equal(counts_a, counts_b)
    assert counts_a.shape == (30, 8)
    for key in ("accuracy", "confusion_matrix", "training_curve", "neurons_per_class",
                "mean_spikes_per_test_digit"):
        assert results_a[key] == results_b[key], key


# module-scoped jobs (the uninterrupted run, the standalone build) are shared by the tests:
# under pytest-xdist's --dist loadgroup the module runs in one worker
pytestmark = pytest.mark.xdist_group("mnist-checkpoint")

@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    assert main(["mnist", *TINY, *RUNTIME, "--checkpoint-every", "8", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    """A checkpoint of a job stopped by SIGINT after its 2nd chunk (written on Ctrl-C)."""
    out = tmp_path_factory.mktemp("partial")
    with pytest.MonkeyPatch.context() as patch:
        arm(patch.setattr, "after", 1)
        status = main(["mnist", *TINY, *RUNTIME, "--checkpoint-every", "0", "--out", str(out)])
    assert status == 130
    return out


def test_ctrl_c_writes_the_completed_chunks_and_exits_130(partial, capsys):
    progress = manifest(partial)["progress"]
    # --checkpoint-every 0: nothing was due, the checkpoint is the one Ctrl-C wrote.
    done = progress["presentations_done"]  # digits: 4 presentations each, some repeated
    assert progress["chunks_done"] == 2 and 1 <= done <= 8
    assert not (partial / "results.json").exists()
    files = os.listdir(partial / "checkpoint")
    assert sorted(files) == ["manifest.json", f"state_{done:08d}.npz"]  # no temporary left


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("rule", ["nearest", "PostPreIntSTDP"])
def test_ctrl_c_while_the_network_is_built_leaves_no_warning_per_object(tmp_path, monkeypatch,
                                                                        rule):
    """Ctrl-C half-way through building the network: the interruption alone, no warning from
    Brian2 for each object it abandoned; afterwards an object really forgotten is still
    warned about (only the job's own abandoned objects were silenced)."""
    import brian2

    def ctrl_c_before_the_network(*args, **kwargs):
        raise KeyboardInterrupt  # every object created, held by the build, none in a network

    monkeypatch.setattr(network, "_parts", ctrl_c_before_the_network)
    records = _Records()
    brian2_logger = logging.getLogger("brian2")
    brian2_logger.addHandler(records)
    try:
        with pytest.raises(KeyboardInterrupt, match="before the first chunk") as interrupted:
            run_mnist(tiny_config(tmp_path / "out", rule=rule))
        del interrupted
        gc.collect()
        unused = [m for m in records.messages if "never included in a network" in m]
        assert unused == []
        brian2.NeuronGroup(1, "v : 1", name="forgotten_after_the_job")
        gc.collect()
        unused = [m for m in records.messages if "never included in a network" in m]
        assert len(unused) == 1 and "forgotten_after_the_job" in unused[0]
    finally:
        brian2_logger.removeHandler(records)


def test_the_tiny_job_shows_digits_again(uninterrupted):
    """The checkpoint tests run Diehl & Cook's re-presentation: many digits are repeated."""
    results = json.loads((uninterrupted / "results.json").read_text())
    assert results["protocol"]["repeats"]["training"] >= 3
    assert results["protocol"]["periods"]["training"] == 10 + results["protocol"]["repeats"][
        "training"]


def test_a_new_job_does_not_overwrite_an_unfinished_checkpoint(partial, no_simulation):
    before = (partial / "checkpoint" / "manifest.json").read_bytes()
    with pytest.raises(ValueError, match="unfinished job .* --resume"):
        run_mnist(tiny_config(partial))
    assert (partial / "checkpoint" / "manifest.json").read_bytes() == before


def test_interrupted_twice_and_resumed_equals_the_uninterrupted_run(uninterrupted, partial,
                                                                     tmp_path, monkeypatch,
                                                                     capsys):
    out = tmp_path / "resumed"
    shutil.copytree(partial, out)
    # Resume, and be interrupted again in the middle of a later chunk (index 5).
    with monkeypatch.context() as patch:
        arm(patch.setattr, "during", 5)
        assert main(["mnist", *TINY, *RUNTIME, "--checkpoint-every", "4", "--out", str(out),
                     "--resume", str(out / "checkpoint")]) == 130
    err = capsys.readouterr().err
    done = manifest(out)["progress"]["presentations_done"]
    assert f"interrupted after {done} of 30 presentations" in err and "--resume" in err
    assert manifest(out)["progress"]["chunks_done"] == 5  # chunk 5 never counts as done
    # A resume also accepts the job's --out, and another --checkpoint-every.
    assert main(["mnist", *TINY, *RUNTIME, "--checkpoint-every", "0", "--out", str(out),
                 "--resume", str(out)]) == 0
    n_chunks = manifest(uninterrupted)["progress"]["chunks_done"]
    assert manifest(out)["progress"]["chunks_done"] == n_chunks
    assert_same_result(uninterrupted, out)
    results = json.loads((out / "results.json").read_text())
    assert results["checkpoint"]["resumed_from"]["presentations_done"] == done


def test_an_external_sigint_is_caught_and_the_job_resumes_exactly(uninterrupted, tmp_path):
    """As a user's Ctrl-C: SIGINT from outside while the job runs, at no chosen point."""
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "brian_stdp", "mnist", *TINY, *RUNTIME,
               "--checkpoint-every", "4", "--out", str(out)]
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    manifest_path = out / "checkpoint" / "manifest.json"
    deadline = time.time() + 300
    while not manifest_path.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "checkpoint in" in stderr and "Traceback" not in stderr
    done = manifest(out)["progress"]["chunks_done"]
    assert 1 <= done < manifest(uninterrupted)["progress"]["chunks_done"]
    assert main(["mnist", *TINY, *RUNTIME, "--out", str(out), "--resume", str(out)]) == 0
    assert_same_result(uninterrupted, out)


def start_awaiting_job(job, chunk, marker):
    """``brian-stdp`` + ``job`` in a fresh process that pauses in the middle of chunk ``chunk``
    (see tests/support/mnist_interrupt.py, ``await``); returns the process once ``marker``
    says that it waits there."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.mnist_interrupt", f"await:{chunk}:{marker}", *job],
        env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while not marker.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    if not marker.exists():
        process.kill()
        pytest.fail(f"the job never reached chunk {chunk}: {process.communicate()[1]}")
    return process


def printed_resume(stderr):
    """The checkpoint that the job's last words tell to continue from (``--resume DIR``)."""
    found = re.search(r"Continue with: brian-stdp mnist --resume (\S+)\s*$", stderr)
    assert found, stderr
    return found.group(1)


def test_an_external_sigterm_is_caught_exits_143_and_the_job_resumes_exactly(uninterrupted,
                                                                             tmp_path):
    """SIGTERM from outside (as from ``kill``, a batch system or a container stop) in the middle
    of chunk 1: the checkpoint of chunk 0, status 143, the command that resumes, exactly."""
    out = tmp_path / "terminated"
    process = start_awaiting_job(["mnist", *TINY, *RUNTIME, "--checkpoint-every", "0", "--out",
                                  str(out)], 1, tmp_path / "in_chunk")
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 143, stderr
    # --checkpoint-every 0: nothing was due, the checkpoint is the one SIGTERM wrote.
    progress = manifest(out)["progress"]
    done = progress["presentations_done"]
    assert f"stopped by SIGTERM after {done} of 30 presentations" in stderr, stderr
    assert "Traceback" not in stderr
    assert progress["chunks_done"] == 1 and 1 <= done <= 4
    assert sorted(os.listdir(out / "checkpoint")) == ["manifest.json", f"state_{done:08d}.npz"]
    resume = printed_resume(stderr)
    assert os.path.samefile(resume, out / "checkpoint")
    handler = signal.getsignal(signal.SIGTERM)
    # The printed command alone: the checkpoint knows every setting of its job.
    assert main(["mnist", "--resume", resume, "--quiet"]) == 0
    assert signal.getsignal(signal.SIGTERM) is handler  # put back after the job
    assert_same_result(uninterrupted, out)


def test_the_sigterm_handler_is_put_back_and_an_ignored_sigterm_left_alone(tmp_path,
                                                                          monkeypatch):
    """The job's SIGTERM handler lives as long as the job, also when the job fails; a SIGTERM
    that the process ignores (SIG_IGN) stays ignored."""
    during = []

    def build(*args, **kwargs):  # inside the job: what handles SIGTERM now?
        during.append(signal.getsignal(signal.SIGTERM))
        raise ValueError("stop here")

    def own_handler(signum, frame):
        pass

    monkeypatch.setattr(network, "build", build)
    monkeypatch.setattr(network, "build_int", build)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        for before in (own_handler, signal.SIG_DFL, signal.SIG_IGN):
            signal.signal(signal.SIGTERM, before)
            with pytest.raises(ValueError, match="stop here"):
                run_mnist(tiny_config(tmp_path / "out"))
            assert signal.getsignal(signal.SIGTERM) is before
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert during[0] is during[1] is signals._raise_terminated
    assert during[2] is signal.SIG_IGN


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt),
                                             (signal.SIGTERM, signals.Terminated)],
                         ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_checkpoint_write_waits_for_the_write(partial, tmp_path, monkeypatch,
                                                                signum, raised):
    """Ctrl-C or SIGTERM arriving as the array file is written: the manifest is still written,
    then the signal is taken (as in a job: SIGTERM raises while signals.sigterm_interrupts)."""
    _, info, arrays = ckpt.load(str(partial / "checkpoint"))
    atomic_write = ckpt._atomic_write

    def interrupted(path, payload):
        if path.endswith(".npz"):
            os.kill(os.getpid(), signum)
        atomic_write(path, payload)

    monkeypatch.setattr(ckpt, "_atomic_write", interrupted)
    directory = tmp_path / "checkpoint"
    with signals.sigterm_interrupts(), pytest.raises(raised):
        ckpt.write(str(directory), info["identity"], info["progress"], arrays)
    _, written, loaded = ckpt.load(str(directory))  # whole: manifest and array file
    assert written["progress"] == info["progress"] and sorted(loaded) == sorted(arrays)
    done = info["progress"]["presentations_done"]
    assert sorted(os.listdir(directory)) == ["manifest.json", f"state_{done:08d}.npz"]


def _rewrite_arrays(directory, change):
    """Change the state file and re-hash it in the manifest (a consistent but wrong file)."""
    info = json.loads((directory / "manifest.json").read_text())
    path = directory / info["arrays"]["file"]
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    path.write_bytes(payload)
    info["arrays"].update(bytes=len(payload), sha256=hashlib.sha256(payload).hexdigest(),
                          keys=sorted(arrays))
    (directory / "manifest.json").write_text(json.dumps(info))


def _edit_manifest(directory, change):
    info = json.loads((directory / "manifest.json").read_text())
    change(info)
    (directory / "manifest.json").write_text(json.dumps(info))


def _state_file(directory):
    return directory / json.loads((directory / "manifest.json").read_text())["arrays"]["file"]


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _flip_bytes(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 8] = b"\x00\x01\x02\x03\x04\x05\x06\x07"
    path.write_bytes(bytes(data))


def _set(section, key, value):
    return lambda info: info[section].__setitem__(key, value)


def _truncated_but_rehashed(d):
    _truncate(_state_file(d))
    payload = _state_file(d).read_bytes()
    _edit_manifest(d, lambda info: info["arrays"].update(
        bytes=len(payload), sha256=hashlib.sha256(payload).hexdigest()))


CORRUPTIONS = {
    "truncated state file": (lambda d: _truncate(_state_file(d)), "truncated or replaced"),
    "modified state file": (lambda d: _flip_bytes(_state_file(d)), "does not match the sha256"),
    "state file missing": (lambda d: _state_file(d).unlink(), "missing or unreadable"),
    "truncated, re-hashed state file": (_truncated_but_rehashed, "not a readable .npz"),
    "truncated manifest": (lambda d: _truncate(d / "manifest.json"), "not valid JSON"),
    "manifest missing": (lambda d: (d / "manifest.json").unlink(), "holds no checkpoint"),
    "another format": (lambda d: _edit_manifest(d, lambda i: i.update(format="x")),
                       "not a brian_stdp mnist checkpoint"),
    "newer version": (lambda d: _edit_manifest(d, lambda i: i.update(version=2)),
                      "format version 2"),
    "progress edited": (lambda d: _edit_manifest(d, _set("progress", "presentations_done", 31)),
                        "not possible in this run of 30 digits"),
    "NaN weights": (lambda d: _rewrite_arrays(d, lambda a: a["weights"].__setitem__(
        (0, 0), np.nan)), "'weights' holds NaN"),
    "weights of another shape": (lambda d: _rewrite_arrays(d, lambda a: a.__setitem__(
        "weights", a["weights"][:, :100])), "'weights' has shape (8, 100)"),
    "counts missing": (lambda d: _rewrite_arrays(d, lambda a: a.pop("counts")),
                       "lacks 'counts'"),
    "counts not matching the progress": (lambda d: _rewrite_arrays(d, lambda a: a.__setitem__(
        "counts", a["counts"][:-1])), "'counts' has shape"),
    "repetition state missing": (lambda d: _rewrite_arrays(d, lambda a: a.pop(
        "presenter.repeat")), "lacks 'presenter.repeat'"),
    "negative repetition count": (lambda d: _rewrite_arrays(d, lambda a: a.__setitem__(
        "presenter.repeats", np.array([-1, 0]))), "presenter.repeats must hold non-negative"),
}


@pytest.fixture
def no_simulation(monkeypatch):
    """Refusals must come before any network is built."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a network was built despite the bad checkpoint")
    monkeypatch.setattr(network, "build", forbidden)
    monkeypatch.setattr(network, "build_int", forbidden)


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_a_corrupt_checkpoint_is_refused_clearly(partial, tmp_path, no_simulation, name):
    out = tmp_path / "out"
    shutil.copytree(partial, out)
    corrupt, words = CORRUPTIONS[name]
    corrupt(out / "checkpoint")
    with pytest.raises(CheckpointError) as info:
        run_mnist(tiny_config(out, resume=str(out / "checkpoint")))
    assert words in str(info.value)
    assert str(info.value).startswith("--resume")


@pytest.mark.parametrize("changes, words", [
    (dict(neurons=9), "--neurons: checkpoint 8, this run 9"),
    (dict(seed=1), "--seed: checkpoint 0, this run 1"),
    (dict(chunk=5), "--chunk: checkpoint 4, this run 5"),
    (dict(rule="full"), "rule parameters: checkpoint"),
    (dict(presentation=40.0), "--presentation: checkpoint 30.0, this run 40.0"),
    (dict(device="cpp_standalone"), "--device: checkpoint \"runtime\", this run "
                                    "\"cpp_standalone\""),
])
def test_a_checkpoint_of_another_run_is_refused_naming_the_difference(partial, no_simulation,
                                                                      changes, words):
    with pytest.raises(CheckpointError) as info:
        run_mnist(tiny_config(partial, resume=str(partial), **changes))
    assert words in str(info.value)


def test_a_checkpoint_of_other_data_or_rule_parameters_is_refused(partial, tmp_path,
                                                                 no_simulation, capsys):
    rng = np.random.default_rng(1)
    data = tmp_path / "digits.npz"
    np.savez(data, X=rng.integers(0, 256, size=(60, 784)), y=np.arange(60) % 10)
    with pytest.raises(CheckpointError, match="data sha256: checkpoint"):
        run_mnist(tiny_config(partial, resume=str(partial), data=str(data)))
    template = tmp_path / "rule.json"
    assert main(["template", "nearest"]) == 0
    rule = json.loads(capsys.readouterr().out)
    rule["parameters"]["Apost"] = 0.02
    template.write_text(json.dumps(rule))
    with pytest.raises(SystemExit) as exit_info:  # the CLI: status 2 and the message
        main(["mnist", *TINY, *RUNTIME, "--rule-file", str(template), "--out",
              str(tmp_path / "o"), "--resume", str(partial)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--rule-file: the checkpoint" in err and "0.02" in err
    assert "leave --rule-file out to continue it" in err


def test_a_checkpoint_written_before_rules_recorded_their_dt_resumes(uninterrupted, partial,
                                                                       tmp_path):
    """Its rule held SPAIC's 1 ms (the job's --dt 1): the same rule, so it continues; a rule
    stated at another dt is another rule."""
    out = tmp_path / "before_dt"
    shutil.copytree(partial, out)
    manifest = json.loads((out / "checkpoint" / "manifest.json").read_text())
    manifest["identity"]["rule parameters"]["parameters"].pop("dt")
    (out / "checkpoint" / "manifest.json").write_text(json.dumps(manifest))
    other = tmp_path / "other_dt"
    shutil.copytree(out, other)
    assert main(["mnist", *TINY, *RUNTIME, "--rule", "nearest", "--out", str(out),
                 "--resume", str(out)]) == 0
    assert_same_result(uninterrupted, out)
    manifest["identity"]["rule parameters"]["parameters"]["dt"] = 0.5
    (other / "checkpoint" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="rule parameters: checkpoint"):
        run_mnist(tiny_config(other, resume=str(other)))


def test_a_resume_runs_from_the_checkpoint_not_from_scratch(uninterrupted, partial, tmp_path):
    """The comparison above can fail: a checkpoint whose thresholds were changed (and
    re-hashed, so it is accepted) gives another result."""
    out = tmp_path / "tampered"
    shutil.copytree(partial, out)
    _rewrite_arrays(out / "checkpoint", lambda a: a["excitatory.theta"].__setitem__(
        slice(None), a["excitatory.theta"] + 0.005))
    assert main(["mnist", *TINY, *RUNTIME, "--out", str(out), "--resume", str(out)]) == 0
    thresholds = np.load(out / "weights.npz")["thresholds"]
    expected = np.load(uninterrupted / "weights.npz")["thresholds"]
    assert np.all(np.abs(thresholds - expected) > 4.0)  # mV: the 5 mV carried over


def test_resuming_a_finished_job_rewrites_its_outputs_without_simulating(uninterrupted,
                                                                        tmp_path,
                                                                        no_simulation):
    out = tmp_path / "again"
    shutil.copytree(uninterrupted, out)
    (out / "results.json").unlink()
    results = run_mnist(tiny_config(out, resume=str(out)))
    assert results["timings"]["simulation_s"] == 0.0
    assert_same_result(uninterrupted, out)


@pytest.mark.parametrize("flag, value, words", [
    ("chunk", 0, "--chunk must be in 1..100000"),
    ("checkpoint_every", -1, "--checkpoint-every must be >= 0"),
    ("resume", 3, "--resume must be a directory path"),
])
def test_bad_checkpoint_settings_are_refused(tmp_path, flag, value, words):
    with pytest.raises((TypeError, ValueError)) as info:
        run_mnist(tiny_config(tmp_path / "out", **{flag: value}))
    assert words in str(info.value)
    assert not (tmp_path / "out").exists()


def test_resume_from_a_directory_without_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="--resume: no such checkpoint directory"):
        run_mnist(tiny_config(tmp_path / "out", resume=str(tmp_path / "nowhere")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        run_mnist(tiny_config(tmp_path / "out", resume=str(tmp_path / "empty")))


def standalone_job(build, out, *extra):
    """The arguments of the cpp_standalone job built in ``build``."""
    return ["mnist", *TINY, "--device", "cpp_standalone", "--build-dir", str(build), "--out",
            str(out), *extra]


def run_standalone(build, out, *extra, interrupt=None):
    """The job in a fresh process; with an interruption, the same CLI call with the chunk
    runners patched first."""
    driver = (["-m", "tests.support.mnist_interrupt", interrupt] if interrupt
              else ["-m", "brian_stdp"])
    return subprocess.run([sys.executable, *driver, *standalone_job(build, out, *extra)],
                          env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    """One cpp_standalone build (the only compilation of this module) and its uninterrupted run;
    ``built`` records the compiled objects' times, which later runs must not change."""
    root = tmp_path_factory.mktemp("standalone")
    build, full = root / "build", root / "full"
    result = run_standalone(build, full)
    assert result.returncode == 0, result.stderr
    # The program is compiled once, into the build directory's one program directory (keyed
    # by its code; main.cpp is written the same in every process: the runner puts what Brian
    # writes in the order of a set of Clock objects in the order of their names,
    # brian2_private.canonical_clock_order).
    objects = sorted(build.glob("*/code_objects/*.o"))
    assert objects
    return {"build": build, "full": full,
            "built": {path: path.stat().st_mtime_ns for path in objects}}


def assert_not_compiled_again(standalone):
    assert {path: path.stat().st_mtime_ns for path in standalone["built"]} == \
        standalone["built"], "compiled again"


@pytest.mark.standalone
def test_standalone_resume_is_exact_and_matches_runtime(uninterrupted, standalone, tmp_path):
    """cpp_standalone: one compiled program re-run per chunk; interrupted during chunk 2 and
    resumed (same --build-dir: the code objects are not compiled again), it ends as its
    uninterrupted run; both spike exactly as the numpy run (the weights agree to rounding)."""
    build, stopped = standalone["build"], tmp_path / "stopped"
    result = run_standalone(build, stopped, interrupt="during:2")
    assert result.returncode == 130, result.stderr
    assert manifest(stopped)["progress"]["chunks_done"] == 2
    resumed = run_standalone(build, stopped, "--resume", str(stopped))
    assert resumed.returncode == 0, resumed.stderr
    assert_same_result(standalone["full"], stopped)
    assert_not_compiled_again(standalone)

    _, _, counts_standalone = final_state(standalone["full"])
    _, _, counts_numpy = final_state(uninterrupted)
    np.testing.assert_array_equal(counts_standalone, counts_numpy)
    np.testing.assert_allclose(np.load(standalone["full"] / "weights.npz")["weights"],
                               np.load(uninterrupted / "weights.npz")["weights"], atol=1e-12)


@pytest.mark.standalone
def test_standalone_sigterm_stops_the_program_and_the_job_resumes_exactly(standalone, tmp_path):
    """SIGTERM to the job (only to it, as ``kill PID`` sends it) while it waits for the compiled
    program of chunk 4: the program is killed rather than left running, the job writes its
    checkpoint, exits with 143 and prints the command that resumes it to the uninterrupted
    result (reusing the build)."""
    out, marker = tmp_path / "terminated", tmp_path / "program_pid"
    process = start_awaiting_job(standalone_job(standalone["build"], out, "--checkpoint-every",
                                                "0"), 4, marker)
    program = int(marker.read_text())
    try:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 143, stderr
        with pytest.raises(ProcessLookupError):  # killed and reaped with the job
            os.kill(program, 0)
    finally:
        try:
            os.kill(program, signal.SIGKILL)
        except ProcessLookupError:
            pass
    done = manifest(out)["progress"]["presentations_done"]
    assert f"stopped by SIGTERM after {done} of 30 presentations" in stderr, stderr
    assert "Traceback" not in stderr
    assert manifest(out)["progress"]["chunks_done"] == 4  # written on SIGTERM (every 0)
    resume = printed_resume(stderr)
    resumed = run_standalone(standalone["build"], out, "--resume", resume)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_result(standalone["full"], out)
    assert_not_compiled_again(standalone)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_program_left_running_by_an_interruption_is_stopped(tmp_path):
    """An interruption that comes while Popen still sets the program up leaves it running
    (subprocess.call only kills a child it is waiting for): the job stops it by its directory,
    and leaves its other children alone."""
    program_dir, other_dir = tmp_path / "program", tmp_path / "other"
    program_dir.mkdir()
    other_dir.mkdir()
    program = subprocess.Popen(["sleep", "60"], cwd=program_dir)
    other = subprocess.Popen(["sleep", "60"], cwd=other_dir)
    try:
        signals.stop_programs_started_in(str(program_dir))
        with pytest.raises(ProcessLookupError):  # killed and reaped
            os.kill(program.pid, 0)
        assert other.poll() is None
    finally:
        for child in (program, other):
            try:
                child.kill()
                child.wait()
            except (ProcessLookupError, ChildProcessError):
                pass
