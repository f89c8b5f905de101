"""Open-loop jobs for the tests: :mod:`brian_stdp.replay` driven from picklable job dicts."""
import numpy as np

from brian_stdp.replay import (build_open_loop, object_name, replay_target,  # noqa: F401
                               run_open_loop, spike_generator)


def build_job(b2, **job):
    """:func:`build_open_loop` for one job (a dict: ``rule`` as ``to_dict()``, ``w_start``,
    ``in_spk``, ``out_spk`` and optional ``dt`` (ms, default 1), ``period``, ``record``,
    ``plastic``, ``thresh``, ``draws``, ``seed``, ``float32``, ``openmp_threads``). ``float32``
    and ``openmp_threads`` are global preferences: the caller sets them (:func:`run_job`, or a
    standalone batch's settings); here they are only checked."""
    from brian_stdp import rule_class
    b2.defaultclock.dt = job.pop("dt", 1.0) * b2.ms
    rule_data = job.pop("rule")
    rule = rule_class(rule_data["rule"]).from_dict(rule_data)
    float32 = job.pop("float32", False)
    if (b2.prefs.core.default_float_dtype == np.float32) != bool(float32):
        raise ValueError(f"job float32={float32} but prefs.core.default_float_dtype is "
                         f"{b2.prefs.core.default_float_dtype.__name__}")
    threads = job.pop("openmp_threads", 0)
    if b2.prefs.devices.cpp_standalone.openmp_threads != threads:
        raise ValueError(f"job openmp_threads={threads} but the preference is "
                         f"{b2.prefs.devices.cpp_standalone.openmp_threads}")
    seed = job.pop("seed", None)
    if seed is not None:
        b2.seed(seed)
    return build_open_loop(b2, rule, **job)


def run_job(job):
    """Run one job (see :func:`build_job`) in the current runtime target, in this process:
    ``{var: [R, T, ...]}``. ``float32`` sets Brian2's default float type for the run and puts
    it back afterwards, for the tests that follow in this process."""
    import brian2 as b2
    job = dict(job)
    if "openmp_threads" in job:
        raise ValueError("openmp_threads needs cpp_standalone (a standalone batch)")
    float_dtype = b2.prefs.core.default_float_dtype
    if job.get("float32"):
        b2.prefs.core.default_float_dtype = np.float32
    try:
        return build_job(b2, **job)()
    finally:
        b2.prefs.core.default_float_dtype = float_dtype
