"""Run an open-loop job in a chosen Brian2 target.

numpy and cython run in this process; cpp_standalone runs in a fresh Python process (a
standalone device is global state): see :mod:`.standalone`, which builds many jobs as one
program.
"""
TARGETS = ["numpy", "cython", "cpp_standalone"]


def use_target(b2, target):
    """Select ``target`` for what this process builds next (standalone: make -j2, built later
    by ``device.build``)."""
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", build_on_run=False)
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    else:
        b2.prefs.codegen.target = target


def simulate(target, job):
    """``job`` is a dict of picklable arguments for :func:`.openloop.build_job`. In
    cpp_standalone, one build of this job alone (a test with several standalone jobs shares
    one build through a :class:`.standalone.Batch` instead)."""
    if target == "cpp_standalone":
        from .standalone import OPEN_LOOP, run_cases
        settings = {key: job[key] for key in ("float32", "openmp_threads") if key in job}
        return run_cases({"job": (OPEN_LOOP, job)}, settings)["job"]
    import brian2 as b2
    b2.prefs.codegen.target = target
    from .openloop import run_job
    return run_job(job)
