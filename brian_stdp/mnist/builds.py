"""Compiled standalone programs shared safely between jobs: keyed by their code, built aside,
renamed into place under a lock, run without writing into them.

A build directory (``--build-dir``, by default ``~/.cache/brian_stdp/standalone_mnist``) is a
cache of programs, one subdirectory per program named by a hash of its generated code
(sources, makefile, static arrays). A job

1. writes its project into a temporary directory of its own beside them;
2. takes the program's lock (``KEY.lock``, an exclusive ``flock``): if ``KEY/`` is already
   there (complete: its marker file is written before the rename), it uses it and drops its
   own copy; otherwise it compiles its copy (``make``, in a child process of its own that an
   interruption stops at once) and renames it to ``KEY/`` (atomic), so that no process ever sees
   a half-built program;
3. holds a shared lock on the program while it runs it: its run arguments and results go to a
   private directory (:class:`RunDirectory`), never into the program's.

So any number of jobs, benches and studies can share one build directory, each computing what
it would alone; a job interrupted while compiling leaves only its temporary directory, which
the next build removes (:func:`remove_stale`). :func:`prune` keeps the default cache to the
most recently used programs, never removing one that a process holds.
"""
import contextlib
import fcntl
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

__all__ = ["ProgramCache", "RunDirectory", "source_key", "remove_stale", "prune",
           "COMPLETE", "KEEP"]

#: Written into a program's directory once it is compiled, before the rename.
COMPLETE = ".brian_stdp_complete"
#: Programs kept in the default cache (the least recently used beyond are removed).
KEEP = 32
_TEMPORARY = ".build-"


def source_key(directory) -> str:
    """A hash of everything a project's program is made from: its sources, headers, makefile
    and static arrays (file names and contents), not what compiling or running writes."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "results")
        for name in sorted(files):
            if name.endswith((".o", ".d", ".log", ".lock")) or name in ("main", "make.deps"):
                continue
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, directory).encode() + b"\0")
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(root):
    """Remove the temporary projects of processes that no longer exist (a job killed while
    it compiled)."""
    for name in os.listdir(root):
        if not name.startswith(_TEMPORARY):
            continue
        try:
            pid = int(name[len(_TEMPORARY):].split("-")[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)


@contextlib.contextmanager
def _locked(path, shared=False, blocking=True):
    """``flock`` on ``path`` (created if need be); yields whether it was taken."""
    handle = open(path, "a")
    try:
        flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else
                                                                fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()  # releases the lock


def compile_project(directory, make_command, make_args, log_name="make.log"):
    """Run ``make`` in ``directory`` as a child process of its own session (a Ctrl-C at the
    terminal reaches this process, not ``make``); whatever stops the wait (KeyboardInterrupt,
    SIGTERM as :class:`~brian_stdp.mnist.signals.Terminated`) kills ``make`` and its compilers
    at once. Its output goes to ``directory/make.log``; RuntimeError with its end if it fails.
    """
    command = shlex.split(make_command) + list(make_args)
    log = os.path.join(directory, log_name)
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=directory, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            status = process.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
    if status != 0:
        with open(log, errors="replace") as handle:
            tail = handle.read()[-3000:]
        raise RuntimeError(f"compiling the standalone program failed ({' '.join(command)} "
                           f"exited with status {status}) in {directory}:\n{tail}")


class ProgramCache:
    """The build directory ``root``: programs by key. :meth:`build` yields the directory of
    the program a project makes, compiled once however many processes ask for it."""

    def __init__(self, root, keep=None):
        self.root = os.path.abspath(root)
        self.keep = keep
        os.makedirs(self.root, exist_ok=True)
        remove_stale(self.root)

    @contextlib.contextmanager
    def build(self, write, make_command="make", make_args=(), on_compile=None):
        """``write(directory)`` writes a project into a temporary directory; yields
        ``(program directory, compiled)``, the program held (a shared lock) until the block
        ends. ``on_compile()`` is called before a compile starts (to tell the user)."""
        temporary = tempfile.mkdtemp(prefix=f"{_TEMPORARY}{os.getpid()}-", dir=self.root)
        compiled = False
        try:
            write(temporary)
            key = source_key(temporary)
            program = os.path.join(self.root, key)
            with _locked(program + ".lock"):
                if not os.path.exists(os.path.join(program, COMPLETE)):
                    if on_compile is not None:
                        on_compile()
                    started = time.time()
                    compile_project(temporary, make_command, make_args)
                    with open(os.path.join(temporary, COMPLETE), "w") as handle:
                        handle.write(f"compiled in {time.time() - started:.1f} s\n")
                    if os.path.exists(program):  # an incomplete copy (an older layout)
                        shutil.rmtree(program)
                    os.rename(temporary, program)
                    compiled = True
                os.utime(os.path.join(program, COMPLETE))  # most recently used
        finally:
            if os.path.exists(temporary):
                shutil.rmtree(temporary, ignore_errors=True)
        with _locked(program + ".lock", shared=True):
            if self.keep is not None:
                prune(self.root, self.keep, spare=key)
            yield program, compiled


def prune(root, keep=KEEP, spare=None):
    """Remove the least recently used programs of ``root`` beyond ``keep`` (never ``spare``,
    nor one that a process holds: its lock cannot be taken)."""
    programs = []
    for name in os.listdir(root):
        marker = os.path.join(root, name, COMPLETE)
        if name != spare and os.path.exists(marker):
            programs.append((os.stat(marker).st_mtime, name))
    for _, name in sorted(programs, reverse=True)[max(0, keep - (spare is not None)):]:
        path = os.path.join(root, name)
        with _locked(path + ".lock", blocking=False) as taken:
            if taken:
                shutil.rmtree(path, ignore_errors=True)


class RunDirectory:
    """A job's private directory for its program's run arguments and results (removed when
    the job ends)."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="brian_stdp_run_")

    def close(self):
        shutil.rmtree(self.path, ignore_errors=True)
