"""The job and the tuner run the way people run them: several at once on one machine, stopped by
Ctrl-C or SIGTERM at any moment (also with SIGINT ignored, as under ``nohup``), continued from a
directory alone, with their outputs kept, and a command line that is quiet and clear.

Real processes and real signals throughout; tiny networks (runtime numpy unless the case is
about the compiled program). ``docs/reliability.rst`` lists every case tried here.
"""
import json
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
TINY = ["--neurons", "8", "--train", "40", "--label", "10", "--validation", "10", "--test",
        "10", "--presentation", "50", "--chunk", "10", "--checkpoint-every", "10", "--quiet"]
RUNTIME = ["--device", "runtime", "--target", "numpy"]


def _default_sigint():
    # A shell's background job starts with SIGINT ignored; a terminal's job does not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _ignored_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start(args, env=None, sigint=_default_sigint):
    """``brian-stdp ARGS`` in a fresh process of its own group (as a terminal's job)."""
    return subprocess.Popen([sys.executable, "-m", "brian_stdp", *args], cwd=ROOT,
                            env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=sigint)


def run_cli(args, env=None):
    """``brian-stdp ARGS`` to its end in a fresh process (compiled programs get Brian2's own
    flags there, as every process of a compared pair must); its status must be 0."""
    result = subprocess.run([sys.executable, "-m", "brian_stdp", *args], cwd=ROOT,
                            env=env or ENV, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result


def wait_for(condition, process, timeout=300):
    deadline = time.time() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the process ended first: {process.communicate()}")
        if time.time() > deadline:
            process.kill()
            pytest.fail("timed out")
        time.sleep(0.05)


def stopped(process, signum, group=False, timeout=60):
    """Send ``signum`` (to the whole group, as a terminal's Ctrl-C does, with ``group``);
    ``(status, stdout, stderr, seconds to end)``."""
    sent = time.time()
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr, time.time() - sent


def weights(out):
    with np.load(os.path.join(out, "weights.npz")) as arrays:
        return arrays["weights"], arrays["thresholds"]


_CACHE_NOTICE = re.compile(r"INFO +Cache size for target '[a-z_]+': .*?\[brian2\]\n", re.S)


def without_cache_notice(stderr):
    """``stderr`` without Brian2's import-time notice that its cython cache passed 1 GB (printed
    by every process, including the tuner's workers, once the machine's cache is that large):
    Brian2's message about the machine, not the command's output."""
    return _CACHE_NOTICE.sub("", stderr)


def assert_one_clean_line(stderr, *words):
    stderr = without_cache_notice(stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "g++" not in stderr and "make" not in stderr
    for word in words:
        assert word in stderr, stderr


def _finished(out):
    """Whether the job in ``out`` wrote every output: results.json, whole, and each file it
    lists (a job stopped by a signal before it finished has no results.json)."""
    try:
        results = json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        return False
    return all((out / name).exists() for name in results["files"])


def checkpointed(out):
    return lambda: os.path.exists(os.path.join(out, "checkpoint", "manifest.json"))


# ---- several jobs at once ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.standalone
def test_two_jobs_at_once_on_an_empty_cache_equal_their_runs_alone(tmp_path):
    """Two standalone jobs started together with the default build directory (an empty cache),
    the same settings and another seed, then each alone: the same weights and thresholds. One
    program per network is compiled, no run writes into a program's directory, and no
    temporary project is left."""
    env = dict(ENV, XDG_CACHE_HOME=str(tmp_path / "cache"))
    jobs = {"a": [], "b": [], "c": ["--seed", "3"]}
    together = {name: start(["mnist", *TINY, *extra, "--out", str(tmp_path / name)], env)
                for name, extra in jobs.items()}
    printed = {}
    for name, process in together.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
        printed[name] = stdout + stderr
    cache = tmp_path / "cache" / "brian_stdp" / "standalone_mnist"
    programs = sorted(p for p in os.listdir(cache) if not p.endswith(".lock"))
    assert len(programs) == 2, programs  # a and b: one program; c: another (its seed)
    for program in programs:
        assert os.listdir(cache / program / "results") == []  # runs wrote elsewhere
        assert not list((cache / program / "static_arrays").glob("init_*_????????*.dat"))
    for name, extra in jobs.items():
        alone = tmp_path / f"{name}_alone"
        run_cli(["mnist", *TINY, *extra, "--out", str(alone), "--build-dir",
                 str(tmp_path / "own")])
        for mine, theirs in zip(weights(tmp_path / name), weights(alone)):
            np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(weights(tmp_path / "a")[0], weights(tmp_path / "b")[0])


# ---- interruptions -------------------------------------------------------------------------
def _compiling(build_dir):
    return lambda: os.path.isdir(build_dir) and any(
        name.startswith(".build-") and os.path.exists(os.path.join(build_dir, name, "make.log"))
        for name in os.listdir(build_dir))


@pytest.mark.slow
@pytest.mark.standalone
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_compiling_stops_at_once_and_leaves_nothing_half_built(signum, status,
                                                                            tmp_path):
    build, out = tmp_path / "build", tmp_path / "out"
    process = start(["mnist", *TINY, "--build-dir", str(build), "--out", str(out)])
    wait_for(_compiling(str(build)), process)
    time.sleep(0.5)  # make and the compiler at work
    code, stdout, stderr, took = stopped(process, signum, group=signum == signal.SIGINT)
    assert code == status and took < 5, (code, took, stderr)
    assert_one_clean_line(stderr, "before the first chunk completed", "nothing to keep")
    assert [name for name in os.listdir(build) if not name.endswith(".lock")] == []
    # The next run in the same directories starts afresh and finishes.
    run_cli(["mnist", *TINY, "--build-dir", str(build), "--out", str(out)])


@pytest.mark.slow
@pytest.mark.parametrize("device", ["runtime", "cpp_standalone"])
def test_with_sigint_ignored_a_job_keeps_it_ignored_and_stops_on_sigterm(device, tmp_path):
    """As under ``nohup`` or a batch system: SIGINT changes nothing, SIGTERM stops the job with
    its checkpoint, and the directory alone continues it to the uninterrupted result."""
    flags = [*TINY, *(RUNTIME if device == "runtime" else ["--build-dir",
                                                           str(tmp_path / "build")])]
    out = tmp_path / "out"
    process = start(["mnist", *flags, "--out", str(out)], sigint=_ignored_sigint)
    wait_for(checkpointed(out), process)
    process.send_signal(signal.SIGINT)
    time.sleep(1.0)
    if process.poll() is None:  # still running: the SIGINT was ignored
        code, stdout, stderr, took = stopped(process, signal.SIGTERM)
        if code == -signal.SIGTERM and _finished(out):
            # The job did its last work in the second waited, and SIGTERM came as the process
            # exited, its handlers already put back: it finished, every output written.
            pass
        else:
            assert code == 143 and took < 10, stderr
            assert_one_clean_line(stderr, "stopped by SIGTERM",
                                  "Continue with: brian-stdp mnist --resume")
            resume = re.search(r"--resume (\S+)\s*$", stderr).group(1)
            run_cli(["mnist", "--resume", resume, "--quiet"])
    else:  # the job was done in time; it must have finished normally
        assert process.returncode == 0, process.communicate()
    alone = tmp_path / "alone"
    run_cli(["mnist", *flags, "--out", str(alone)])
    for mine, theirs in zip(weights(out), weights(alone)):
        np.testing.assert_array_equal(mine, theirs)


def test_a_signal_while_the_outputs_are_written_is_taken_after_them(tmp_path, monkeypatch):
    """Ctrl-C (here SIGTERM) in the middle of writing the outputs: every output is written
    whole, then the job stops with its checkpoint, from which --resume writes them again."""
    from brian_stdp.mnist import figures, signals
    drawn = figures.training_curve

    def interrupted(*args):
        os.kill(os.getpid(), signal.SIGTERM)
        return drawn(*args)

    monkeypatch.setattr(figures, "training_curve", interrupted)
    out = tmp_path / "out"
    with signals.sigterm_interrupts():
        assert main(["mnist", *TINY, *RUNTIME, "--out", str(out)]) == 143
    results = json.loads((out / "results.json").read_text())  # whole, listing every file
    assert {"weights.npz", "training.png", "results.json"} <= set(results["files"])
    assert not [name for name in os.listdir(out) if name.startswith(".tmp")]


def test_a_signal_before_any_chunk_says_nothing_was_kept(tmp_path, monkeypatch, capsys):
    from brian_stdp.mnist import data, signals
    load = data.load_job_digits

    def interrupted(*args):
        os.kill(os.getpid(), signal.SIGTERM)
        return load(*args)

    monkeypatch.setattr(data, "load_job_digits", interrupted)
    with signals.sigterm_interrupts():
        assert main(["mnist", *TINY, *RUNTIME, "--out", str(tmp_path / "out")]) == 143
    assert_one_clean_line(capsys.readouterr().err, "stopped by SIGTERM before any digit",
                          "nothing to keep")


# ---- resume from the directory alone -------------------------------------------------------
# The tests sharing the interrupted job run on one worker, which makes the job once.
RESUME_JOB = pytest.mark.xdist_group("resume-job")


@pytest.fixture(scope="module")
def interrupted_job(tmp_path_factory):
    """A job stopped (SIGTERM) after its first checkpoint, and the same job uninterrupted."""
    base = tmp_path_factory.mktemp("resume")
    process = start(["mnist", *TINY, *RUNTIME, "--out", str(base / "stopped")])
    wait_for(checkpointed(base / "stopped"), process)
    code, _, stderr, _ = stopped(process, signal.SIGTERM)
    if code == 0:
        pytest.fail("the tiny job finished before SIGTERM reached it")
    assert main(["mnist", *TINY, *RUNTIME, "--out", str(base / "whole")]) == 0
    return base


@RESUME_JOB
def test_resume_alone_continues_with_the_stored_settings_exactly(interrupted_job, tmp_path):
    job = tmp_path / "job"
    shutil.copytree(interrupted_job / "stopped", job)
    assert main(["mnist", "--resume", str(job), "--out", str(job), "--quiet"]) == 0
    for mine, theirs in zip(weights(job), weights(interrupted_job / "whole")):
        np.testing.assert_array_equal(mine, theirs)


@RESUME_JOB
@pytest.mark.parametrize("option, words", [
    (["--neurons", "9"], "--neurons 9: the checkpoint in"),
    (["--seed", "4"], "--seed 4: the checkpoint in"),
    (["--rule", "full"], "--rule: the checkpoint in"),
    (["--validation", "20"], "--validation 20: the checkpoint in"),
])
def test_an_option_that_contradicts_the_checkpoint_is_refused_by_name(interrupted_job, option,
                                                                      words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["mnist", "--resume", str(interrupted_job / "stopped"), *option])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "leave" in err, err


# ---- outputs -------------------------------------------------------------------------------
@pytest.mark.slow   # three tiny jobs
def test_a_finished_out_is_replaced_only_with_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["mnist", *TINY, *RUNTIME, "--out", str(out)]) == 0
    before = (out / "results.json").read_bytes()
    with pytest.raises(SystemExit) as exit_:
        main(["mnist", *TINY, *RUNTIME, "--seed", "2", "--out", str(out)])
    assert exit_.value.code == 2
    assert "holds a finished job's results" in capsys.readouterr().err
    assert (out / "results.json").read_bytes() == before
    assert main(["mnist", *TINY, *RUNTIME, "--seed", "2", "--out", str(out),
                 "--overwrite"]) == 0
    assert json.loads((out / "results.json").read_text())["seeds"]["network"] == 2


@pytest.mark.parametrize("out, words", [
    ("a_file", "is a file, not a directory"),
    ("a_file/below", "cannot be written"),
    ("/proc/brian_stdp/out", "cannot be written"),
])
def test_a_bad_out_is_refused_with_status_2_before_any_work(out, words, tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    out = out if out.startswith("/") else str(tmp_path / out)
    started = time.time()
    with pytest.raises(SystemExit) as exit_:
        main(["mnist", *TINY, *RUNTIME, "--out", out])
    assert exit_.value.code == 2 and time.time() - started < 5
    err = capsys.readouterr().err
    assert f"--out {out!r}" in err and words in err, err


# ---- the command line ----------------------------------------------------------------------
def test_a_closed_stdout_ends_quietly():
    for _ in range(3):
        process = subprocess.Popen([sys.executable, "-m", "brian_stdp", "template", "nearest"],
                                   cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        process.stdout.close()  # as `| head -c 1` does once it has its byte
        stderr = without_cache_notice(process.stderr.read().decode())
        assert process.wait() in (0, 141) and stderr == "", stderr


def test_malformed_json_names_the_file_line_and_column(tmp_path, capsys):
    rule = tmp_path / "rule.json"
    rule.write_text('{"rule": "nearest_online_STDP",\n "parameters": {"Apost": ,}}')
    with pytest.raises(SystemExit) as exit_:
        main(["mnist", "--rule-file", str(rule), "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    assert f"--rule-file {rule}: not valid JSON at line 2, column 26" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["mnist", "tune"])
def test_rule_and_rule_file_together_are_refused_by_name(command, tmp_path, capsys):
    rule = tmp_path / "rule.json"
    assert main(["template", "full"]) == 0
    rule.write_text(capsys.readouterr().out)
    with pytest.raises(SystemExit) as exit_:
        main([command, "--rule", "meta", "--rule-file", str(rule), "--out",
              str(tmp_path / "o")])
    assert exit_.value.code == 2
    assert "--rule and --rule-file: give one of them" in capsys.readouterr().err


@pytest.mark.slow   # two jobs in fresh processes
def test_each_result_is_printed_once(tmp_path):
    for quiet in ([], ["--quiet"]):
        flags = [f for f in TINY if f != "--quiet"] + quiet
        result = subprocess.run([sys.executable, "-m", "brian_stdp", "mnist", *flags, *RUNTIME,
                                 "--out", str(tmp_path / f"o{len(quiet)}")], cwd=ROOT, env=ENV,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("held-out accuracy") == 1, result.stdout
        assert result.stdout.count("validation accuracy") == 1, result.stdout


@pytest.mark.parametrize("neurons", [3, 10, pytest.param(400, marks=pytest.mark.slow)])
def test_figures_are_not_clipped(neurons, tmp_path):
    """Every figure keeps a white margin: nothing drawn reaches its edge (a 10-neuron grid was
    narrower than its title, which lost both ends)."""
    import matplotlib.image

    from brian_stdp.mnist import figures
    rng = np.random.default_rng(0)
    paths = [tmp_path / "rf.png", tmp_path / "cm.png", tmp_path / "curve.png"]
    figures.receptive_fields(rng.random((neurons, 784)), rng.integers(-1, 10, neurons),
                             str(paths[0]))
    figures.confusion_matrix(rng.integers(0, 50, (10, 11)), str(paths[1]))
    figures.training_curve([{"seen": 50 * (k + 1), "accuracy": 0.1 * k,
                             "neurons_per_class": [1] * 10} for k in range(8)], str(paths[2]))
    for path in paths:
        image = matplotlib.image.imread(str(path))[..., :3]
        edges = np.concatenate([image[:2].reshape(-1, 3), image[-2:].reshape(-1, 3),
                                image[:, :2].reshape(-1, 3), image[:, -2:].reshape(-1, 3)])
        assert edges.min() > 0.98, (path.name, edges.min())


# ---- the tuner -----------------------------------------------------------------------------
TUNE = ["--neurons", "8", "--train", "40", "--label", "10", "--validation", "10",
        "--presentation", "50", "--chunk", "20", "--min-spikes", "0", "--pruner", "none",
        "--heartbeat", "2"]


@pytest.mark.slow
@pytest.mark.parametrize("signum, workers, device", [
    (signal.SIGTERM, "1", RUNTIME), (signal.SIGINT, "2", RUNTIME),
    pytest.param(signal.SIGINT, "1", ["--device", "cpp_standalone"],
                 marks=pytest.mark.standalone)])
def test_an_interrupted_study_says_how_to_continue_and_resume_reaches_its_total(signum,
                                                                              workers, device,
                                                                              tmp_path):
    """A study stopped by Ctrl-C (the whole process group, as a terminal sends it) or SIGTERM
    (the command alone) in its first trial: one line, the status of the signal, the command
    that continues it; that command brings the study to its total of trials."""
    import optuna
    out = tmp_path / "study"
    process = start(["tune", "--trials", "3", "--workers", workers, "--out", str(out), *TUNE,
                     *device])
    wait_for(lambda: (out / "trials").exists() and any(
        os.path.exists(os.path.join(root, "results.json"))
        for root, _, _ in os.walk(out / "trials")), process)
    code, stdout, stderr, took = stopped(process, signum, group=signum == signal.SIGINT)
    assert code == 128 + signum and took < 40, (code, took, stderr)
    assert_one_clean_line(stderr, "keeps its", "Continue with: brian-stdp tune --resume")
    command = re.search(r"Continue with: (brian-stdp tune .*)$", stderr.strip()).group(1)
    resumed = subprocess.run([sys.executable, "-m", "brian_stdp", *command.split()[1:],
                              "--quiet"], cwd=ROOT, env=ENV, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    study = optuna.load_study(study_name="mnist-nearest-8",
                              storage=f"sqlite:///{out}/study.db")
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 3  # the requested total, not 3 more
    assert len({t.number for t in finished}) == 3


@pytest.mark.slow
def test_a_study_scores_float_images_as_the_job_reads_them(tmp_path):
    """Float pixels reach the trials as they are (no rounding to bytes on the way)."""
    from brian_stdp.mnist import data
    from brian_stdp.mnist.config import MnistConfig
    from brian_stdp.tune import TuneConfig, run_study
    X, y, _ = data.load_digits(None)
    spikes = {}
    for name, images in (("float", np.clip(X * 0.95 + 0.5, 0, 255)),
                         ("rounded", np.floor(np.clip(X * 0.95 + 0.5, 0, 255)))):
        path = tmp_path / f"{name}.npz"
        np.savez(path, X=images, y=y)
        base = MnistConfig(neurons=8, train=40, label=10, validation=10, presentation=50.0,
                           chunk=20, min_spikes=0, device="runtime", target="numpy",
                           data=str(path), mean_pixel=None)
        summary = run_study(TuneConfig(base=base, space={"intensity": [0.5, 2.0]}, trials=1,
                                       enqueue=[{"intensity": 1.0}], pruner="none",
                                       out=str(tmp_path / name), progress=False))
        run = summary["best"]["runs"][0]
        spikes[name] = run["mean_spikes_per_validation_digit"]
        alone = tmp_path / f"{name}_alone"
        assert main(["mnist", "--neurons", "8", "--train", "40", "--label", "10",
                     "--validation", "10", "--test", "0", "--presentation", "50", "--chunk",
                     "20", "--min-spikes", "0", *RUNTIME, "--data", str(path), "--mean-pixel",
                     "none", "--intensity", "1.0", "--out", str(alone), "--quiet"]) == 0
        results = json.loads((alone / "results.json").read_text())
        assert results["validation_accuracy"] == run["validation_accuracy"]
        assert results["mean_spikes_per_validation_digit"] == spikes[name]
    assert spikes["float"] != spikes["rounded"]  # the two inputs do differ
