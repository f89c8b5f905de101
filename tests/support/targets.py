"""Run an open-loop job in a chosen Brian2 target.

numpy and cython run in this process; cpp_standalone runs in a fresh Python process (a
standalone device is global state): see :mod:`.standalone`, which builds many jobs as one
program.
"""
TARGETS = ["numpy", "cython", "cpp_standalone"]

# Most of the suite's time is compiling Brian2's generated code, and the tests check results,
# not the optimiser: a cold cython cache compiles the closed-loop network of test_reliability
# in 141 s at -O0 against 263 s at Brian2's -O3. Brian2's math flags are kept, so the arithmetic
# is the one users compile. Builds at Brian2's defaults remain: the float32 batch
# (``optimised=True``; float32 is where vectorisation matters most) and every test that runs the
# command line, an example, the docs or a README block.
TEST_COMPILE_ARGS = ["-w", "-O0", "-ffast-math", "-fno-finite-math-only", "-std=c++11"]


def use_test_compile_args(b2):
    b2.prefs.codegen.cpp.extra_compile_args_gcc = list(TEST_COMPILE_ARGS)


def use_target(b2, target, optimised=False):
    """Select ``target`` for what this process builds next (standalone: make -j2, built later
    by ``device.build``), compiled with :data:`TEST_COMPILE_ARGS` unless ``optimised``."""
    if not optimised:
        use_test_compile_args(b2)
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
        settings = {key: job[key] for key in ("float32", "openmp_threads", "optimised")
                    if key in job}
        return run_cases({"job": (OPEN_LOOP, job)}, settings)["job"]
    import brian2 as b2
    b2.prefs.codegen.target = target
    from .openloop import run_job
    return run_job(job)
