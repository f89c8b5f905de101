"""How the MNIST job takes Ctrl-C (SIGINT) and SIGTERM: as an interruption, never half-way
through a checkpoint write.

* SIGINT raises ``KeyboardInterrupt`` as Python always does (Brian2's wrapper passes it on,
  :mod:`brian_stdp.mnist.device` turns its "stop the run" off for the job).
* SIGTERM, while :func:`sigterm_interrupts` is active, raises :class:`Terminated`, a
  ``KeyboardInterrupt`` too, so it takes exactly the path of a Ctrl-C: the job keeps its
  completed chunks and stops, and the command line exits with :func:`exit_status` (143 =
  128 + 15, as a shell reports a process ended by SIGTERM; 130 for SIGINT). In cpp_standalone
  the compiled program is a child process that Brian2 waits for with ``subprocess.call``: the
  exception raised in that wait makes ``subprocess.call`` kill the child and reap it, so no
  program is left running after the job.
* :func:`deferred` holds both signals back while a checkpoint is written and delivers them
  afterwards, each to the handler it had before.

Handlers are only changed in the main thread (Python allows no other), and always put back.
"""
import signal
import threading
from contextlib import contextmanager

__all__ = ["Terminated", "sigterm_interrupts", "deferred", "signal_of", "exit_status"]

DEFERRED = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM received while the job ran (a ``KeyboardInterrupt``, so handled as Ctrl-C)."""
    signum = signal.SIGTERM

    def __init__(self, message="terminated (SIGTERM)"):
        super().__init__(message)


def signal_of(interrupt):
    """The signal behind a ``KeyboardInterrupt``: SIGTERM for :class:`Terminated` (or anything
    carrying ``signum``), otherwise SIGINT."""
    return signal.Signals(getattr(interrupt, "signum", signal.SIGINT))


def exit_status(interrupt):
    """128 + the signal number: 130 after Ctrl-C, 143 after SIGTERM."""
    return 128 + int(signal_of(interrupt))


def _raise_terminated(signum, frame):
    raise Terminated()


@contextmanager
def sigterm_interrupts():
    """Inside, SIGTERM raises :class:`Terminated`; the previous handler is restored on exit.

    Left alone: outside the main thread, and when SIGTERM is ignored (``SIG_IGN``, as whoever
    started the process asked) or handled by code outside Python.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN or previous is None:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def deferred(deliver=True):
    """SIGINT and SIGTERM received inside are held until the block ends (a checkpoint write is
    short); then, with ``deliver``, sent again to the handlers they had before, in the order they
    came (the first that raises ends the delivery). Yields the list of signals held.

    Nested blocks work: an inner block delivers to the outer one's holding handler.
    """
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def hold(signum, frame):
        if signum not in received:
            received.append(signum)

    previous = {}
    try:
        for signum in DEFERRED:
            handler = signal.getsignal(signum)
            if handler is None or handler is signal.SIG_IGN:
                # Installed outside Python (cannot be put back), or ignored as whoever started
                # the process asked (``nohup``): left alone.
                continue
            previous[signum] = handler
            signal.signal(signum, hold)
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if deliver:
        for signum in received:
            signal.raise_signal(signum)

