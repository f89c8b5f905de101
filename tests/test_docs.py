"""The documentation builds without warnings, and every code block in it runs.

Python code blocks (``.. code-block:: python``) of the getting-started, standalone, migrating
and rule pages are executed: a page's runtime blocks in order in one fresh interpreter, each
``cpp_standalone`` block (one that calls ``set_device("cpp_standalone"``) on its own, in a
working directory of its own kept between test runs, so that Brian2 only recompiles what
changed. Blocks
marked ``:class: spaic`` show SPAIC code and are not run; getting-started and rule pages have
none. ``console`` blocks show shell commands: the ``brian-stdp`` ones are run.
"""
import glob
import os
import shlex
import subprocess
import sys
import tempfile
import time

import pytest

from tests.support import ROOT
from tests.support.blocks import rst_blocks
from tests.support.scripts import load_script

DOCS = os.path.join(ROOT, "docs")
RUN_PAGES = ["getting_started.rst", "howto.rst", "standalone.rst", "migrating.rst"] + sorted(
    os.path.relpath(p, DOCS) for p in glob.glob(os.path.join(DOCS, "rules", "*.rst")))
STRICT_PAGES = ["getting_started.rst", "howto.rst"] + [p for p in RUN_PAGES
                                                      if p.startswith("rules")]
STANDALONE_DIR = os.path.join(tempfile.gettempdir(), "brian_stdp_docs_standalone")
BLOCK_TIMEOUT = 900


def code_blocks(page):
    """``[(language, classes, code, line)]`` of every ``code-block`` in ``page``."""
    return rst_blocks(os.path.join(DOCS, page))


def python_blocks(page):
    return [(code, line) for language, classes, code, line in code_blocks(page)
            if language == "python" and "spaic" not in classes]


def is_standalone(code):
    return 'set_device("cpp_standalone"' in code or "set_device('cpp_standalone'" in code


def run_python(code, cwd, label, listing=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
        MPLBACKEND="Agg")
    started = time.time()
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=BLOCK_TIMEOUT)
    if result.returncode != 0:
        pytest.fail(f"{label} failed (exit {result.returncode}):\n--- code ---\n"
                    f"{listing or code}\n"
                    f"--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n"
                    f"{result.stderr[-5000:]}")
    return time.time() - started


def runtime_cases():
    return [page for page in RUN_PAGES
            if any(not is_standalone(code) for code, _ in python_blocks(page))]


@pytest.mark.parametrize("page", runtime_cases())
def test_runtime_blocks_run(page, tmp_path):
    """A page's runtime blocks, in order, in one fresh interpreter (as a reader would run
    them: state such as Brian2's clock carries from block to block, not from page to page)."""
    blocks = [(code, line) for code, line in python_blocks(page) if not is_standalone(code)]
    script = "\n".join(f"# --- {page}, line {line}\n{code}" for code, line in blocks)
    numbered = "\n".join(f"{n:4d} {text}" for n, text in enumerate(script.splitlines(), 1))
    run_python(script, str(tmp_path), f"{page} (runtime blocks)", listing=numbered)


def test_every_python_block_is_run():
    """Each python block is either a runtime block or a standalone block, and both kinds are
    collected: no example can drop out of the tests unnoticed."""
    runtime = set(runtime_cases())
    for page in RUN_PAGES:
        for code, line in python_blocks(page):
            assert is_standalone(code) or page in runtime, f"{page}:{line} is not run"
    standalone = {(p.values[0], p.values[1]) for p in standalone_cases()}
    for page in RUN_PAGES:
        blocks = [c for c, _ in python_blocks(page) if is_standalone(c)]
        assert {(page, n) for n in range(len(blocks))} <= standalone
    assert runtime >= set(STRICT_PAGES), "a getting-started or rule page has no runtime example"


def standalone_cases():
    cases = []
    for page in RUN_PAGES:
        blocks = [(code, line) for code, line in python_blocks(page) if is_standalone(code)]
        cases += [pytest.param(page, n, id=f"{page}:{line}", marks=pytest.mark.standalone)
                  for n, (_, line) in enumerate(blocks)]
    return cases


@pytest.mark.parametrize("page,ordinal", standalone_cases())
def test_standalone_block_runs(page, ordinal):
    code, line = [(c, n) for c, n in python_blocks(page) if is_standalone(c)][ordinal]
    # One directory per block, kept between test runs (sharing one between different networks
    # can link stale objects); named by page and ordinal so that editing the page's text does
    # not force a full recompilation.
    workdir = os.path.join(STANDALONE_DIR, page.replace(os.sep, "_").replace(".rst", "")
                           + f"_{ordinal}")
    os.makedirs(workdir, exist_ok=True)
    run_python(code, workdir, f"{page}, line {line} (cpp_standalone)")


def test_pages_that_must_run_everything_skip_nothing():
    for page in STRICT_PAGES:
        for language, classes, _code, line in code_blocks(page):
            assert language in ("python", "console"), f"{page}:{line}: {language} block"
            assert "spaic" not in classes, f"{page}:{line}: a block that is not run"
        assert python_blocks(page), f"{page} has no runnable example"


@pytest.mark.parametrize("page", RUN_PAGES)
def test_console_commands_run(page, tmp_path):
    """Every ``$ brian-stdp ...`` line of the page's console blocks, in order, in one directory
    (``> file`` redirects the output); other commands (installs) are what CI itself runs."""
    for language, _, code, line in code_blocks(page):
        if language != "console":
            continue
        for command in code.splitlines():
            if not command.startswith("$ brian-stdp"):
                continue
            command, _, redirect = command[2:].split("#")[0].partition(">")
            args = shlex.split(command)
            result = subprocess.run([sys.executable, "-m", "brian_stdp"] + args[1:],
                                    cwd=str(tmp_path), capture_output=True, text=True,
                                    timeout=BLOCK_TIMEOUT)
            assert result.returncode == 0, (f"{page}:{line}: {command}\n{result.stdout}"
                                            f"\n{result.stderr}")
            if redirect.strip():
                (tmp_path / redirect.strip()).write_text(result.stdout)


def test_every_rule_has_a_page_with_its_window():
    import importlib
    import pkgutil
    import brian_stdp
    from brian_stdp.rules import RULES
    for module in pkgutil.iter_modules(brian_stdp.__path__):
        if not module.name.startswith("_") and module.name != "cli":   # not the command line
            importlib.import_module(f"brian_stdp.{module.name}")
    learning_window = load_script("docs/learning_window.py")
    pages = {p: open(os.path.join(DOCS, p)).read() for p in RUN_PAGES if p.startswith("rules")}
    for name, cls in RULES.items():
        documented = [p for p, text in pages.items() if cls.__name__ in text]
        assert documented, f"no page in docs/rules/ documents {cls.__name__}"
        assert name in learning_window.WINDOWS, f"learning_window.py has no window for {name}"


def test_learning_window_script_writes_figures(tmp_path):
    """The script as a command (the Sphinx build runs it for every rule through conf.py)."""
    result = subprocess.run([sys.executable, os.path.join(DOCS, "learning_window.py"),
                             str(tmp_path), "nearest_online_STDP"], capture_output=True,
                            text=True, env=dict(os.environ, MPLBACKEND="Agg"), timeout=600)
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmp_path) == ["nearest_online_STDP_window.png"]


def test_learning_windows_follow_the_reference():
    """The plotted values are the rules' pairing maths (nearest/full: A_post * decay**dt after,
    -A_pre * decay**|dt| before, A_post - A_pre at 0)."""
    import numpy as np
    learning_window = load_script("docs/learning_window.py")
    decay = np.exp(-1 / 20)
    for name in ("nearest_online_STDP", "full_online_STDP"):
        values = learning_window.window_values(name, [-7, 0, 5])
        np.testing.assert_allclose(values, [-1e-4 * decay ** 7, 1e-2 - 1e-4, 1e-2 * decay ** 5])


@pytest.mark.slow
@pytest.mark.standalone  # the gallery's standalone example compiles a program
@pytest.mark.xdist_group("docs-build")  # one build, shared with the browser test
def test_sphinx_build_has_no_warnings():
    """``sphinx-build -W`` (the gallery's examples shortened): the one build the browser test
    opens too (tests/test_docs_browser.py)."""
    import sphinx  # noqa: F401  (the docs extra; a missing Sphinx is a failure, not a skip)
    from tests.support.browser import build_docs
    assert os.path.exists(os.path.join(build_docs(), "index.html"))
