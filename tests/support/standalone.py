"""Many cases in one cpp_standalone program: one build instead of one per case.

A standalone build (mostly compiling) dominates a test that runs a small network in
cpp_standalone. A :class:`Batch` collects the cases of the tests that share its global
settings (float type, OpenMP threads); the first test that asks for a result builds every case
registered so far (each in a ``Network`` of its own, with its own ``run()`` calls, its objects
named apart) as one program, its code objects compiled as one file
(:func:`brian_stdp.brian2_private.code_objects_in_one_file`), in a fresh process, and every
test then checks its own case. If the batch fails, each case is retried alone, so that a
failure still names its case.

A case is ``(builder, kwargs)``: ``builder`` is ``"module:function"``; ``function(b2,
**kwargs)`` creates its objects and network, runs it (records the runs, ``build_on_run`` is
off) and returns ``read()``, called after the build, which returns a dict of arrays.

Run as ``python -m tests.support.standalone JOB.pkl`` from the repository root.
"""
import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings

import pytest

from . import ROOT

OPEN_LOOP = "tests.support.openloop:build_job"
_BATCHES = {}


def batch(name, **settings):
    """The session's batch ``name`` (created on first use; every use must agree on
    ``settings``: ``float32=True``, ``openmp_threads=N``, ``optimised=True`` for Brian2's
    compiler flags instead of the tests' unoptimised ones)."""
    if name not in _BATCHES:
        _BATCHES[name] = Batch(name, settings)
    elif _BATCHES[name].settings != settings:
        raise ValueError(f"standalone batch {name!r}: settings {settings} differ from "
                         f"{_BATCHES[name].settings}")
    return _BATCHES[name]


class Batch:
    def __init__(self, name, settings):
        self.name, self.settings = name, settings
        self.cases = {}          # case -> (builder, kwargs factory)
        self.results = {}
        self.failures = {}       # case -> error text of its run alone
        self.batch_error = None
        # the marks of a test that reads the batch's results: under pytest-xdist's
        # --dist loadgroup, every test of a batch runs in one worker, which builds it once
        self.marks = [pytest.mark.standalone, pytest.mark.xdist_group(f"standalone-{name}")]

    def __call__(self, test):
        """Decorator: the batch's marks on a test that reads its results."""
        for mark in self.marks:
            test = mark(test)
        return test

    def add(self, case, make_kwargs, builder=OPEN_LOOP):
        """Register ``case``; ``make_kwargs()`` gives the builder's keyword arguments (called
        when the batch is built, so that registering at import time reads no data)."""
        if case in self.cases:
            raise ValueError(f"standalone batch {self.name!r} already has a case {case!r}")
        self.cases[case] = (builder, make_kwargs)

    def result(self, case):
        """The dict ``read()`` returned for ``case``; builds the pending cases on first use."""
        if case not in self.cases:
            raise KeyError(f"standalone batch {self.name!r} has no case {case!r}")
        pending = [c for c in self.cases if c not in self.results and c not in self.failures]
        if case in pending and self.batch_error is None:
            jobs = self._jobs(pending)
            try:
                self.results.update(run_cases(jobs, self.settings) if jobs else {})
            except RuntimeError as error:
                self.batch_error = f"{', '.join(jobs)}: {error}"
        if case not in self.results and case not in self.failures:
            if len(self.cases) > 1:
                warnings.warn(f"standalone batch {self.name!r} failed; running {case!r} alone. "
                              f"The batch's error: {(self.batch_error or '')[-2000:]}",
                              stacklevel=2)
            jobs = self._jobs([case])
            try:
                self.results.update(run_cases(jobs, self.settings) if jobs else {})
            except RuntimeError as error:
                self.failures[case] = str(error)
        if case in self.failures:
            raise RuntimeError(f"standalone case {case!r} failed:\n{self.failures[case]}")
        return self.results[case]

    def _jobs(self, cases):
        """``{case: (builder, kwargs)}``; a case whose kwargs cannot be made fails alone."""
        jobs = {}
        for case in cases:
            builder, make_kwargs = self.cases[case]
            try:
                jobs[case] = (builder, make_kwargs())
            except Exception as error:
                self.failures[case] = f"making its arguments: {type(error).__name__}: {error}"
        return jobs


def run_cases(cases, settings=None):
    """Build ``{case: (builder, kwargs)}`` as one cpp_standalone program in a fresh process;
    ``{case: read()}``. Raises RuntimeError with the process's output if it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        job_file = os.path.join(tmp, "job.pkl")
        with open(job_file, "wb") as handle:
            pickle.dump({"cases": cases, "settings": dict(settings or {}),
                         "build_directory": os.path.join(tmp, "build")}, handle)
        result = subprocess.run([sys.executable, "-m", "tests.support.standalone", job_file],
                                cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError("standalone run failed:\n" + result.stdout[-3000:]
                               + result.stderr[-5000:])
        with open(job_file + ".out", "rb") as handle:
            return pickle.load(handle)


def main(job_file):
    import brian2 as b2
    import numpy as np

    from brian_stdp import brian2_private

    from .targets import use_target
    with open(job_file, "rb") as handle:
        job = pickle.load(handle)
    settings = job["settings"]
    use_target(b2, "cpp_standalone", optimised=settings.get("optimised", False))
    if settings.get("float32"):
        b2.prefs.core.default_float_dtype = np.float32
    b2.prefs.devices.cpp_standalone.openmp_threads = settings.get("openmp_threads", 0)
    started = time.time()
    readers = {}
    for case, (builder, kwargs) in job["cases"].items():
        module, function = builder.split(":")
        try:
            readers[case] = getattr(importlib.import_module(module), function)(b2, **kwargs)
        except Exception as error:
            raise RuntimeError(f"building case {case!r}") from error
    directory = job["build_directory"]
    with brian2_private.code_objects_in_one_file(b2.device):
        b2.device.build(directory=directory, compile=True, run=True, with_output=False)
    results = {case: read() for case, read in readers.items()}
    print(f"{len(readers)} case(s) in one build: "
          f"{time.time() - started:.1f} s")
    with open(job_file + ".out", "wb") as handle:
        pickle.dump(results, handle)


if __name__ == "__main__":
    main(sys.argv[1])
