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
* :func:`release_abandoned` frees what an interruption left half-built (Brian2 objects never
  added to a network) without Brian2's warning for each: the job's one line says what happened.

Handlers are only changed in the main thread (Python allows no other), and always put back.
"""
import gc
import logging
import os
import signal
import threading
from contextlib import contextmanager

__all__ = ["Terminated", "sigterm_interrupts", "deferred", "signal_of", "exit_status",
           "release_abandoned", "stop_programs_started_in"]

# Brian2 logs this when an object it never ran is freed (brian2.core.base.BrianObject.__del__).
UNUSED_OBJECT_LOGGER = "brian2.core.base.unused_brian_object"

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


def release_abandoned(interrupt):
    """Free the objects an interruption left behind, with Brian2's "never included in a
    network" warning silenced for them only.

    A Ctrl-C while the job builds its network leaves the objects created so far referenced
    from the interruption's traceback (and from the tracebacks it carries as its context); when
    that is freed, Brian2 would warn once per object (twenty lines, for a network abandoned on
    purpose). The tracebacks are dropped here, so the objects go now, while only that one
    warning is filtered; afterwards the warning is as Brian2 has it.
    """
    unused_object = logging.getLogger(UNUSED_OBJECT_LOGGER)
    unused_object.addFilter(_reject)
    try:
        seen = set()
        exception = interrupt
        while exception is not None and id(exception) not in seen:
            seen.add(id(exception))
            exception.__traceback__ = None  # objects outside reference cycles go right here
            exception = exception.__cause__ or exception.__context__
        # The rest with the garbage collector; objects freed by one collection can release
        # others: collect until a collection finds nothing.
        while gc.collect():
            pass
    finally:
        unused_object.removeFilter(_reject)


def _reject(record):
    return False


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


def stop_programs_started_in(directory):
    """Kill and reap this process's children running in ``directory`` (Linux; elsewhere
    nothing). ``subprocess.call`` kills its child when an interruption comes while it waits,
    but one that comes while ``Popen`` is still setting the child up leaves the child running
    and unreaped: after an interruption the job stops the compiled program this way too."""
    wanted = os.path.realpath(directory)
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            if parent != os.getpid() or os.readlink(f"/proc/{entry}/cwd") != wanted:
                continue
            os.kill(int(entry), signal.SIGKILL)
            os.waitpid(int(entry), 0)
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to wait for
