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


@pytest.mark.parametrize("index", [
    pytest.param(index, marks=pytest.mark.standalone) if "cpp_standalone" in code else index
    for index, code in enumerate(python_blocks())])
def test_readme_block_runs(index, tmp_path):
    code = python_blocks()[index]
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
