"""Sphinx configuration for brian_stdp. Build: ``sphinx-build -W -b html docs docs/_build/html``.

No network is used at build time (no intersphinx). The learning-window figures are generated
here, from :mod:`brian_stdp.reference`, by ``learning_window.py``.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))          # the package, when not installed
sys.path.insert(0, os.path.join(HERE, "_ext"))
sys.path.insert(0, HERE)

import brian_stdp  # noqa: E402
import brian_stdp.reference  # noqa: E402
import learning_window  # noqa: E402

project = "brian_stdp"
author = "brian_stdp developers"
copyright = "brian_stdp developers"
release = version = brian_stdp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "brian_stdp_docs",
]
exclude_patterns = ["_build", "_generated/*.txt"]
templates_path = []
html_theme = "alabaster"
html_static_path = []
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
nitpicky = False


def _generate_figures():
    """Write ``_generated/<rule>_window.png`` unless they are newer than their sources."""
    out = os.path.join(HERE, "_generated")
    sources = [learning_window.__file__, brian_stdp.reference.__file__]
    newest_source = max(os.path.getmtime(path) for path in sources)
    stale = [name for name in learning_window.WINDOWS
             if not os.path.exists(os.path.join(out, f"{name}_window.png"))
             or os.path.getmtime(os.path.join(out, f"{name}_window.png")) < newest_source]
    if stale:
        learning_window.main(out, stale)


_generate_figures()
