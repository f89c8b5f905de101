"""Brian2 set up for one job's ``--device``, and put back as it was afterwards."""
import os
from contextlib import contextmanager
from typing import Iterator, Optional

import brian2
from brian2.devices.device import all_devices

from .. import brian2_private
from . import data

__all__ = ["brian_device"]


@contextmanager
def brian_device(device: str, target: str, build_dir: Optional[str]) -> Iterator[Optional[str]]:
    """A fresh scope on ``device`` ("runtime" with code generation ``target``, or
    "cpp_standalone" in ``build_dir``, by default in the user cache); yields the standalone
    project directory (None in runtime mode).

    Inside, Ctrl-C raises KeyboardInterrupt instead of ending a run early as if it had
    finished. On exit, Brian's device, the preferences changed here and its "running" flag are
    restored.
    """
    prefs = brian2.prefs
    ctrl_c_raises = brian2_private.ctrl_c_raises_preferences()
    saved_prefs = {name: prefs[name] for name in [*ctrl_c_raises, "codegen.target",
                                                  "devices.cpp_standalone.extra_make_args_unix"]}
    previous = brian2.get_device()
    previous_options = (getattr(previous, "build_on_run", True),
                        getattr(previous, "build_options", {}))
    standalone_set = False
    for name, value in ctrl_c_raises.items():
        prefs[name] = value
    try:
        brian2.start_scope()
        if device == "cpp_standalone":
            project = build_dir or os.path.join(data.cache_dir(), "standalone_mnist")
            all_devices["cpp_standalone"].reinit()  # a fresh project, even after a run
            brian2.set_device("cpp_standalone", build_on_run=False, directory=project)
            standalone_set = True
            prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
            yield project
        else:
            brian2.set_device("runtime")
            prefs.codegen.target = target
            yield None
    finally:
        # A run stopped by an exception (Ctrl-C, SIGTERM) leaves Brian2's "a network is
        # running" flag set, which would make a later Ctrl-C in this process stop nothing.
        brian2.Network._globally_running = False
        for name, value in saved_prefs.items():
            prefs[name] = value
        if standalone_set:
            brian2.get_device().reinit()
        build_on_run, options = previous_options
        brian2.set_device(previous, build_on_run, **options)
