"""README's code runs: every ```python block, each in a fresh interpreter (standalone builds
in a temporary directory)."""
import os
import subprocess
import sys

import pytest

from tests.support import ROOT
from tests.support.blocks import markdown_blocks

README = os.path.join(ROOT, "README.md")


def python_blocks():
    return markdown_blocks(README)


def test_readme_has_runtime_and_standalone_examples():
    blocks = python_blocks()
    assert len(blocks) >= 2
    assert any("cpp_standalone" in block for block in blocks)


# A runtime block runs in cython with Brian2's own flags, as a reader's would: slow to compile.
@pytest.mark.parametrize("index", [
    pytest.param(index, marks=pytest.mark.standalone if "cpp_standalone" in code
                 else pytest.mark.slow)
    for index, code in enumerate(python_blocks())])
def test_readme_block_runs(index, tmp_path):
    code = python_blocks()[index]
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_ci_runs_the_readme_test_command_with_every_optional_piece():
    """``.ci/run`` runs exactly README's test command, with ``CI=true`` (a missing optional
    piece fails there: tests/support/optional.py)."""
    with open(README) as handle:
        readme = handle.read()
    command = readme.split("Run the tests (what `.ci/run` runs")[1].split("```bash\n")[1]
    command = command.split("\n```")[0].strip()
    assert command.startswith("pip install -e '.[test,bench]'") and "python -m pytest" in command
    with open(os.path.join(ROOT, ".ci", "run")) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    assert command in lines
    assert lines.index("export CI=true") < lines.index(command)
    for package in ("chromium", "dataset-fashion-mnist", "postgresql"):
        assert f"apt-get install -y --no-install-recommends {package}" in " ".join(lines)
        assert f"`{package}`" in readme
