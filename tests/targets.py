"""Run an open-loop simulation in a chosen Brian2 target.

numpy and cython run in this process; cpp_standalone runs in a fresh Python process (a
standalone device is global state, and one build per process keeps tests independent).
"""
import os
import pickle
import subprocess
import sys
import tempfile

TARGETS = ["numpy", "cython", "cpp_standalone"]
HERE = os.path.dirname(os.path.abspath(__file__))


def use_target(b2, target):
    """Select ``target`` for what this process builds next (standalone: make -j2, built later
    by ``device.build``)."""
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", build_on_run=False)
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    else:
        b2.prefs.codegen.target = target


def simulate(target, job):
    """``job`` is a dict of picklable arguments for :func:`openloop.run_job`."""
    if target == "cpp_standalone":
        with tempfile.TemporaryDirectory() as tmp:
            job_file = os.path.join(tmp, "job.pkl")
            with open(job_file, "wb") as handle:
                pickle.dump(dict(job, build_directory=os.path.join(tmp, "build")), handle)
            result = subprocess.run([sys.executable, os.path.join(HERE, "openloop.py"),
                                     job_file], capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError("standalone run failed:\n" + result.stdout + result.stderr)
            with open(job_file + ".out", "rb") as handle:
                return pickle.load(handle)
    import brian2 as b2
    b2.prefs.codegen.target = target
    from openloop import run_job
    return run_job(job)
