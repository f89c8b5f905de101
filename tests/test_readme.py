"""README's code runs: every ```python block, each in a fresh interpreter (standalone builds
in a temporary directory)."""
import os
import re
import subprocess
import sys

import pytest

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")


def python_blocks():
    with open(README) as handle:
        return re.findall(r"```python\n(.*?)```", handle.read(), flags=re.S)


def test_readme_has_runtime_and_standalone_examples():
    blocks = python_blocks()
    assert len(blocks) >= 2
    assert any("cpp_standalone" in block for block in blocks)


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_block_runs(index, tmp_path):
    code = python_blocks()[index]
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
