"""The example gallery (sphinx-gallery) as this project builds it.

``conf.py`` takes :func:`gallery_conf` as ``sphinx_gallery_conf``. Every script in
``examples/`` runs while the docs build, in the Sphinx process, one after the other; the
figures each one draws appear on its page (``docs/auto_examples/``, generated, not in git).

``BRIAN_STDP_EXAMPLE_SHORT=1`` makes every example a short run (runtime examples in the numpy
target): the tests build the docs that way, and ``tests/test_examples.py`` checks what each
example printed in that build. Sphinx-gallery keeps an example's output until the script
changes (a short build reruns them all); the output of a short build is never taken for a full
one (or the other way round): a change of mode clears the generated gallery first.
"""
import os
import shutil

SHORT_ENV = "BRIAN_STDP_EXAMPLE_SHORT"
BUILD_ENV = "BRIAN_STDP_EXAMPLE_BUILD"


def short_mode():
    return bool(os.environ.get(SHORT_ENV))


def reset_brian2(gallery_conf, fname):
    """Before each example: Brian2 as a fresh interpreter has it (runtime device, default
    preferences and clock), since all examples share the Sphinx process and one of them
    switches to ``cpp_standalone``. A short build runs the runtime examples with the numpy
    target rather than Brian2's default (cython where it is installed): compiling their cython
    code took 4.5 of the 5.5 minutes of a cold short build, and the tests check the rules in
    cython elsewhere."""
    from brian2 import prefs, set_device
    from brian2.devices.device import reinit_devices
    set_device("runtime")
    reinit_devices()
    prefs.codegen.target = "numpy" if short_mode() else "auto"


def gallery_conf(docs_dir):
    examples = os.path.join(os.path.dirname(docs_dir), "examples")
    gallery = os.path.join(docs_dir, "auto_examples")
    mode = "short" if short_mode() else "full"
    marker = os.path.join(gallery, ".mode")
    if os.path.isdir(gallery):
        previous = open(marker).read().strip() if os.path.exists(marker) else None
        if previous != mode:
            shutil.rmtree(gallery)
    os.makedirs(gallery, exist_ok=True)
    with open(marker, "w") as handle:
        handle.write(mode + "\n")
    # The standalone example compiles into a directory kept between builds (make then only
    # rebuilds what changed), not a new temporary one each time.
    os.environ.setdefault(BUILD_ENV, os.path.join(docs_dir, "_build", "example_standalone",
                                                  mode))
    return {
        "examples_dirs": os.path.relpath(examples, docs_dir),
        "gallery_dirs": "auto_examples",
        "filename_pattern": r"\.py$",          # run every example, not only plot_*.py
        "within_subsection_order": "FileNameSortKey",
        "reset_modules": ("matplotlib", "brian_stdp_gallery.reset_brian2"),
        "abort_on_example_error": True,        # a failing example fails the build
        # a short build (the tests') runs every example again, even if its script is unchanged:
        # tests/test_examples.py reads the outputs, which must come from this version's package
        "run_stale_examples": short_mode(),
        "remove_config_comments": True,
        "download_all_examples": False,
        "show_memory": False,
        "capture_repr": (),
        "matplotlib_animations": False,
        "min_reported_time": 1e9,              # no per-example timing line on the pages
        # no execution-times pages: sphinx-gallery's load jQuery, DataTables and Bootstrap
        # from CDNs, which a reader without network (and the browser test) cannot reach
        "write_computation_times": False,
        "show_signature": False,
    }
