"""Sphinx configuration for brian_stdp. Build: ``sphinx-build -W -b html docs docs/_build/html``.

No network is used at build time (no intersphinx), and none when reading the pages: MathJax is
served from the built site (``sphinx-mathjax-offline`` copies it into ``_static/mathjax``), and
the theme (pydata-sphinx-theme) ships its fonts and scripts. The learning-window figures are
generated here, from :mod:`brian_stdp.reference`, by ``learning_window.py``; the example gallery
runs every script of ``examples/`` (``_ext/brian_stdp_gallery.py``; shortened with
``BRIAN_STDP_EXAMPLE_SHORT=1``). ``tests/test_docs_browser.py`` opens the built pages in
headless Chromium.
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
from brian_stdp_gallery import gallery_conf  # noqa: E402

project = "brian_stdp"
author = "brian_stdp developers"
copyright = "brian_stdp developers"
release = version = brian_stdp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",      # (the module's name has dashes) MathJax 3 in _static/
    "sphinx_gallery.gen_gallery",
    "brian_stdp_docs",
]
exclude_patterns = ["_build", "_generated/*.txt", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip",
                    # left by builds before write_computation_times was turned off
                    "sg_execution_times.rst", "auto_examples/sg_execution_times.rst"]
templates_path = []
html_theme = "pydata_sphinx_theme"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
}
html_context = {"default_mode": "auto"}   # light or dark as the reader's system is
html_sidebars = {"**": []}                # the top bar and each page's contents suffice
html_static_path = []
html_show_sourcelink = False
sphinx_gallery_conf = gallery_conf(HERE)
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
