"""The one-line notice while runtime cython compiles a network's code (docs/howto.rst)."""
import time

import brian2 as b2
import pytest
from brian2.utils.logger import std_silent

from brian_stdp import NearestOnlineSTDP
from brian_stdp.rendering import run_boundary
from brian_stdp.rendering.run_boundary import _CompileNotice


@pytest.fixture
def notice_after(monkeypatch):
    def set_delay(seconds):
        monkeypatch.setattr(run_boundary, "COMPILE_NOTICE_AFTER_S", seconds)
    yield set_delay
    _CompileNotice.end()


def _attached(monkeypatch, threshold="False"):
    """A group with the rule attached to itself, in runtime numpy, the notice wanted: what a
    run does with the notice, without a compiler."""
    monkeypatch.setattr(_CompileNotice, "wanted", staticmethod(lambda: True))
    monkeypatch.setattr(b2.prefs.codegen, "target", "numpy")
    b2.start_scope()
    group = b2.NeuronGroup(2, "v : 1", threshold=threshold)
    S = NearestOnlineSTDP().synapses(group, group)
    S.connect()
    return group, S


def test_the_notice_reaches_the_terminal_while_brian2_silences_it(notice_after, monkeypatch,
                                                                  capfd):
    notice_after(0.05)
    # no network here: as if inside one's before_run (the tests below use real ones)
    monkeypatch.setattr(_CompileNotice, "preparing", staticmethod(lambda thread: True))
    _CompileNotice.start()
    with std_silent():          # as Brian2 compiles: file descriptors 1 and 2 to its files
        time.sleep(0.5)
    _CompileNotice.end()
    err = capfd.readouterr().err
    assert err.count("brian_stdp: cython is compiling this network's code") == 1
    assert "later runs start at once" in err


def test_no_notice_when_the_run_starts_before_the_delay(notice_after, capfd):
    notice_after(5.0)
    _CompileNotice.start()
    _CompileNotice.start()      # a second attachment of the same run: still one timer
    _CompileNotice.end()
    time.sleep(0.1)
    assert "compiling" not in capfd.readouterr().err
    assert _CompileNotice.timer is None


@pytest.mark.parametrize("target,device,level,wanted", [
    ("cython", "runtime", "INFO", True), ("numpy", "runtime", "INFO", False),
    ("cython", "cpp_standalone", "INFO", False), ("cython", "runtime", "WARNING", False)])
def test_only_runtime_cython_with_info_lines_gets_a_notice(target, device, level, wanted,
                                                         monkeypatch):
    monkeypatch.setattr(b2.prefs.codegen, "target", target)
    monkeypatch.setattr(b2.prefs.logging, "console_log_level", level)
    if device != "runtime":  # the standalone device compiles in device.build, not in run()
        monkeypatch.setattr(run_boundary, "get_device", lambda: object())
    assert _CompileNotice.wanted() is wanted


def test_a_run_starts_and_its_first_step_ends_the_notice(monkeypatch):
    calls = []
    monkeypatch.setattr(_CompileNotice, "start", classmethod(lambda cls: calls.append("start")))
    monkeypatch.setattr(_CompileNotice, "end", classmethod(lambda cls: calls.append("end")))
    group, S = _attached(monkeypatch)  # locals: b2.run collects its caller's objects
    b2.run(3 * b2.defaultclock.dt)
    assert calls[0] == "start" and calls[1] == "end"


def test_the_how_to_shows_the_notice_as_it_is():
    import os

    from tests.support import ROOT
    with open(os.path.join(ROOT, "docs", "howto.rst")) as handle:
        text = handle.read()
    line = run_boundary.COMPILE_NOTICE.format(cache="~/.cython/brian_extensions").strip()
    assert "   " + line + "\n" in text


def test_a_run_stopped_while_preparing_leaves_no_notice_and_the_next_run_gets_one(
        notice_after, monkeypatch, capfd):
    """An exception in a later object's before_run (as Ctrl-C while cython compiles) stops the
    run before the first step that ends the notice: the notice stays silent, and the next
    run's compilation gets a notice of its own."""
    notice_after(0.2)
    network = b2.Network(*_attached(monkeypatch, threshold="v > undefined_name"))
    with pytest.raises(Exception, match="spike_thresholder") as error:
        network.run(b2.defaultclock.dt)
    assert "undefined_name" in str(error.value.__cause__ or error.value.__context__)
    time.sleep(0.5)
    assert "compiling" not in capfd.readouterr().err
    first = _CompileNotice.timer
    _CompileNotice.start()      # the next run
    assert _CompileNotice.timer is not first and _CompileNotice.timer.is_alive()


def test_the_notice_speaks_while_a_network_prepares(notice_after, monkeypatch, capfd):
    """The notice of a slow before_run reaches stderr (the step that would end it comes
    later)."""
    notice_after(0.05)
    slow = b2.NeuronGroup(1, "x : 1")
    slow.before_run = lambda run_namespace: time.sleep(0.5)   # as a compiling object
    b2.Network(*_attached(monkeypatch), slow).run(b2.defaultclock.dt)
    assert capfd.readouterr().err.count("cython is compiling") == 1
