"""The test batches' build step that compiles a run's repeated code once
(tests/support/standalone.py: share_identical_code)."""
from tests.support.standalone import share_identical_code

CODE = '''#include "objects.h"
#include "code_objects/{name}.h"
namespace {{ static inline int _helper() {{ return {value}; }} }}
void _run_{name}() {{ _helper(); }}
void _debugmsg_{name}() {{ }}
'''


def _write(folder, name, value=1):
    (folder / f"{name}.cpp").write_text(CODE.format(name=name, value=value))


def test_a_renamed_copy_calls_the_original_and_other_code_is_left_alone(tmp_path):
    folder = tmp_path / "code_objects"
    folder.mkdir()
    _write(folder, "synapses_pre_codeobject")
    _write(folder, "synapses_pre_codeobject_1")                 # the second run's copy
    _write(folder, "synapses_post_codeobject")
    _write(folder, "synapses_post_codeobject_1", value=2)       # other code
    _write(folder, "synapses_1_pre_codeobject_1")               # no original of that name
    assert share_identical_code(tmp_path) == 1
    shared = (folder / "synapses_pre_codeobject_1.cpp").read_text()
    assert "_helper" not in shared
    assert ("void _run_synapses_pre_codeobject_1() { _run_synapses_pre_codeobject(); }"
            in shared)
    assert ("void _debugmsg_synapses_pre_codeobject_1() { _debugmsg_synapses_pre_codeobject(); }"
            in shared)
    for name, value in [("synapses_post_codeobject_1", 2), ("synapses_1_pre_codeobject_1", 1),
                        ("synapses_pre_codeobject", 1)]:
        assert (folder / f"{name}.cpp").read_text() == CODE.format(name=name, value=value)
