"""Scripts outside the package (``docs/``, ``benchmarks/``) imported by file path, without
changing ``sys.path``: such a script may import only installed packages."""
import importlib.util
import os
import sys

from . import ROOT


def load_script(relative_path):
    """The module ``ROOT/relative_path``, imported under its file's name."""
    path = os.path.join(ROOT, relative_path)
    name = os.path.splitext(os.path.basename(path))[0]
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None) == path:
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module       # as an import does (dataclasses and pickle look it up)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
