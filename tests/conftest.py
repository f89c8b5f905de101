import os
import signal

# A shell starts a background job with SIGINT ignored, and Brian2 (imported below, through the
# tests) wraps whatever handler it finds: ignored, its wrapper calls a non-callable
# signal.SIG_IGN on the SIGINT that the MNIST checkpoint tests send themselves ("'Handlers'
# object is not callable"). The tests need Python's own Ctrl-C behaviour, so put it back first.
if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
    signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest  # noqa: E402

from tests.support.golden import GOLDEN, load_golden  # noqa: E402
from tests.support.optional import compiler_available, missing, needs_compiler  # noqa: E402
from tests.support.targets import use_test_compile_args  # noqa: E402

_COMPILER = compiler_available()


@pytest.fixture(autouse=True)
def _fresh_brian():
    """Every test starts from Brian's defaults (runtime device, numpy target, dt = 0.1 ms),
    compiling with the tests' flags (tests/support/targets.py)."""
    import brian2 as b2
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    use_test_compile_args(b2)
    b2.defaultclock.dt = 0.1 * b2.ms
    b2.start_scope()
    yield


@pytest.fixture(scope="session")
def golden():
    if not os.path.isdir(GOLDEN):
        pytest.fail(f"golden recordings not found at {GOLDEN}: set BRIAN_STDP_GOLDEN")
    return load_golden


def pytest_collection_modifyitems(config, items):
    """The ``golden`` marker is explicit, and complete: a test that takes the ``golden``
    fixture without it is a collection error (``-m "not golden"`` must skip every reader).

    The slow and standalone tests run first. pytest-xdist hands out tests in collection order
    (after the groups, largest first), and a test of a minute or more handed out last kept
    one worker busy while the other sat idle; the thousand quick tests, run last, fill in
    between the two workers instead."""
    unmarked = [item.nodeid for item in items
                if "golden" in getattr(item, "fixturenames", ())
                and item.get_closest_marker("golden") is None]
    if unmarked:
        raise pytest.UsageError("tests reading the golden recordings without "
                                "@pytest.mark.golden:\n  " + "\n  ".join(unmarked))
    items[:] = sorted(items, key=lambda item: not _long(item))   # stable: order kept within


def _long(item):
    return any(item.get_closest_marker(name) is not None for name in ("slow", "standalone"))


def pytest_runtest_setup(item):
    """A test that compiles skips (fails under CI=true) on a machine without a compiler."""
    if needs_compiler(item) and not _COMPILER:
        missing("compiler")
    _check_grouping(item)


def _check_grouping(item):
    """Under ``--dist loadgroup`` each worker appends ``@group`` to the node ids of the tests
    marked ``xdist_group``, and the controller schedules by that suffix. When it is missing (as
    with pytest 9.2, whose node ids pytest-xdist 3.8 can no longer change) the groups are
    silently spread over the workers: each worker repeats the standalone builds and the docs
    build, two of them racing on one build directory. Such a test fails here, before its work,
    with the reason (raising at collection would crash the worker without a message)."""
    config = item.config
    if (getattr(config, "workerinput", None) is not None and config.getvalue("loadgroup")
            and item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid):
        pytest.fail("pytest-xdist did not group the tests marked xdist_group: this pytest / "
                    "pytest-xdist pair cannot --dist loadgroup (pytest 9.2 with pytest-xdist "
                    "3.8 cannot); install the versions the test extra in setup.cfg pins, or "
                    "run serially with -n 0", pytrace=False)
