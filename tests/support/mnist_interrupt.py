"""Interrupt the MNIST job with a real SIGINT at a chosen chunk, by patching its chunk runners.

In the test process: ``arm(monkeypatch.setattr, "after", 1)``. In a fresh process (working
directory the repository root)::

    python -m tests.support.mnist_interrupt during:2 mnist --device cpp_standalone ...

runs ``brian_stdp.cli.main([...])`` with the interruption armed and exits with its status.

``after:K`` interrupts once chunk K (0-based) has completed, before chunk K + 1 simulates
anything; ``during:K`` while chunk K runs: half-way through a runtime run, or as the compiled
program starts in cpp_standalone (a chunk of it can take less than a millisecond).
"""
import os
import signal
import sys
import threading

from brian2 import second

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


def _patched(original, when, chunk):
    def run(self, index, *args, **kwargs):
        if when == "after" and index == chunk + 1:
            send_sigint()
        if when != "during" or index != chunk:
            return original(self, index, *args, **kwargs)
        owner = self.net if isinstance(self, RuntimeRunner) else self.device
        owner.run = _interrupted_run(self, owner.run)  # shadows the method for this chunk
        try:
            return original(self, index, *args, **kwargs)
        finally:
            del owner.run
    return run


def arm(setattr_, when, chunk):
    """Patch both chunk runners (with ``setattr_``, e.g. ``monkeypatch.setattr``) so that the
    job is sent a SIGINT ``when`` ("after" or "during") chunk ``chunk``."""
    if when not in ("after", "during"):
        raise ValueError(f"when must be 'after' or 'during', got {when!r}")
    for cls in (RuntimeRunner, StandaloneRunner):
        setattr_(cls, "run", _patched(cls.run, when, chunk))


if __name__ == "__main__":
    when, _, chunk = sys.argv[1].partition(":")
    arm(setattr, when, int(chunk))
    sys.exit(main(sys.argv[2:]))
