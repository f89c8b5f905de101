"""How a study stops on Ctrl-C or SIGTERM: at a trial's safe points, never inside Optuna.

An exception raised by a signal handler lands wherever the process happens to be; inside
Optuna's own bookkeeping (recording a trial's end in the database) it leaves a trial half
recorded or breaks Optuna itself. So a study's processes record the signal instead
(:data:`STOP`) and stop at the next safe point: the trial's job process is ended at once (its
runs are in processes of their own in cpp_standalone), a job run in this process stops after
its current chunk, the trial ends as failed through an ordinary exception
(:class:`Interrupted`, which Optuna records), and the worker stops taking trials. A job of the
study (``run_mnist``) handles SIGTERM itself while it runs: an interruption inside a job ends
that job, as for any job.
"""
import signal
import threading
from contextlib import contextmanager

__all__ = ["STOP", "Stop", "Interrupted", "stop_on_signals"]


class Interrupted(Exception):
    """The trial was cut short by Ctrl-C or SIGTERM (recorded as failed; run again on
    resume)."""


class Stop:
    """The first of SIGINT or SIGTERM received (``signum``, None before), and the trial's job
    process to end at once when one comes (``child``)."""

    def __init__(self):
        self.signum, self.child = None, None

    def __call__(self, signum, frame):
        if self.signum is None:
            self.signum = signal.Signals(signum)
        child = self.child
        if child is not None and child.is_alive():
            child.terminate()

    def check(self):
        """Raise :class:`Interrupted` once a signal has come."""
        if self.signum is not None:
            raise Interrupted(f"interrupted by {self.signum.name}")


#: This process's record of the signal (a worker is one process).
STOP = Stop()


@contextmanager
def stop_on_signals():
    """Inside, SIGINT (unless ignored, as under ``nohup``) and SIGTERM are recorded in
    :data:`STOP` instead of raising; the previous handlers are restored on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield STOP
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        for signum, handler in previous.items():
            if handler is not None and handler is not signal.SIG_IGN:
                signal.signal(signum, STOP)
        yield STOP
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
