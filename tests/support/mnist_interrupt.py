"""Interrupt the MNIST job with a real signal at a chosen chunk, by patching its chunk runners.

In the test process: ``arm(monkeypatch.setattr, "after", 1)``. In a fresh process (working
directory the repository root)::

    python -m tests.support.mnist_interrupt during:2 mnist --device cpp_standalone ...

runs ``brian_stdp.cli.main([...])`` with the interruption armed and exits with its status.

``after:K`` interrupts (SIGINT) once chunk K (0-based) has completed, before chunk K + 1
simulates anything; ``during:K`` while chunk K runs: half-way through a runtime run, or as the
compiled program starts in cpp_standalone (a chunk of it can take less than a millisecond).

``await:K:MARKER`` sends nothing: the job pauses in the middle of chunk K, writes the file
MARKER and waits (up to 120 s) for a signal from outside, e.g. the test's SIGTERM. In runtime
mode it waits half-way through the chunk's run (in Brian2's report callback; MARKER holds the
job's pid). In cpp_standalone the chunk's program is replaced by a stand-in that writes its own
pid to MARKER and sleeps (a real chunk is over too soon to be caught running): the signal comes
while ``device.run`` waits for the child process, and the test can check that the child does not
outlive the job.
"""
import os
import signal
import sys
import threading
import time

from brian2 import prefs, second

from brian_stdp.cli import main
from brian_stdp.mnist.chunks import RuntimeRunner, StandaloneRunner


def send_sigint():
    os.kill(os.getpid(), signal.SIGINT)


def _runtime_report(elapsed, completed, start, duration):
    if completed >= 0.5:
        send_sigint()


def _interrupted_run(runner, run):
    """``run`` (the runner's net.run or device.run) with a SIGINT sent while it runs."""
    if isinstance(runner, RuntimeRunner):
        def interrupted(*args, **kwargs):
            return run(*args, report=_runtime_report, report_period=0.001 * second, **kwargs)
    else:
        def interrupted(*args, **kwargs):
            timer = threading.Timer(0.0, send_sigint)
            timer.start()
            try:
                return run(*args, **kwargs)
            finally:
                timer.cancel()
    return interrupted


WAIT_S = 120


def _write_marker(marker, pid):
    with open(marker + ".tmp", "w") as handle:
        handle.write(str(pid))
    os.replace(marker + ".tmp", marker)


def _awaiting_run(runner, run, marker):
    """``run`` paused in the middle (runtime) or replaced by a sleeping stand-in (standalone)
    until a signal from outside ends it."""
    if isinstance(runner, RuntimeRunner):
        def report(elapsed, completed, start, duration):
            if completed >= 0.5:
                _write_marker(marker, os.getpid())
                time.sleep(WAIT_S)  # the signal's handler raises here
                raise RuntimeError(f"await: no signal came within {WAIT_S} s")

        def awaiting(*args, **kwargs):
            return run(*args, report=report, report_period=0.001 * second, **kwargs)
    else:
        def awaiting(*args, **kwargs):
            saved = prefs.devices.cpp_standalone.run_cmd_unix
            prefs.devices.cpp_standalone.run_cmd_unix = [
                "/bin/sh", "-c", f'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep {WAIT_S}',
                marker]  # the run arguments follow, unused
            try:
                run(*args, **kwargs)
            finally:
                prefs.devices.cpp_standalone.run_cmd_unix = saved
            raise RuntimeError(f"await: no signal came within {WAIT_S} s")
    return awaiting


def _patched(original, when, chunk, marker=None):
    def run(self, index, *args, **kwargs):
        if when == "after" and index == chunk + 1:
            send_sigint()
        if when == "after" or index != chunk:
            return original(self, index, *args, **kwargs)
        owner = self.net if isinstance(self, RuntimeRunner) else self.device
        # Shadows the method for this chunk.
        owner.run = (_interrupted_run(self, owner.run) if when == "during"
                     else _awaiting_run(self, owner.run, marker))
        try:
            return original(self, index, *args, **kwargs)
        finally:
            del owner.run
    return run


def arm(setattr_, when, chunk, marker=None):
    """Patch both chunk runners (with ``setattr_``, e.g. ``monkeypatch.setattr``) so that the
    job is sent a SIGINT ``when`` ("after" or "during") chunk ``chunk``, or ("await") waits in
    the middle of it for a signal from outside, having written ``marker``."""
    if when not in ("after", "during", "await"):
        raise ValueError(f"when must be 'after', 'during' or 'await', got {when!r}")
    if (when == "await") != (marker is not None):
        raise ValueError("a marker file goes with 'await', and only with it")
    for cls in (RuntimeRunner, StandaloneRunner):
        setattr_(cls, "run", _patched(cls.run, when, chunk, marker))


if __name__ == "__main__":
    when, chunk, *marker = sys.argv[1].split(":", 2)
    arm(setattr, when, int(chunk), *marker)
    sys.exit(main(sys.argv[2:]))
