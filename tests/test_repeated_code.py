"""A standalone build compiles its code objects as one file (brian2_private:
code_objects_in_one_file), in the MNIST job's program and in the tests' batches."""
import os
import subprocess

import brian2
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice, CPPWriter

from brian_stdp import brian2_private
from brian_stdp.brian2_private import (ONE_FILE, calls_of_the_original,
                                       code_objects_in_one_file, one_translation_unit)

# the shape of a Brian2 code object: support code in an anonymous namespace, a macro, and
# functions named after the object
CODE = '''#include "code_objects/{name}.h"
#define _SCALE {scale}
namespace {{ static inline int _helper() {{ return {value} * _SCALE; }} }}
void _run_{name}() {{ results[{slot}] = _helper(); }}
void _debugmsg_{name}() {{ }}
'''
HEADER = '''#ifndef _{name}_H
#define _{name}_H
extern int results[4];
void _run_{name}();
void _debugmsg_{name}();
#endif
'''
# name, value, scale, slot: a second run's copy, other code under a copy's name, and a
# numbered name without an original
OBJECTS = [("synapses_pre_codeobject", 1, 10, 0),
           ("synapses_pre_codeobject_1", 1, 10, 0),
           ("synapses_post_codeobject", 2, 100, 1),
           ("synapses_post_codeobject_1", 3, 1000, 2),
           ("neurongroup_1_thresholder_codeobject_1", 4, 1, 3)]


def _sources():
    return {f"code_objects/{name}.cpp": CODE.format(name=name, value=value, scale=scale, slot=slot)
            for name, value, scale, slot in OBJECTS}


def test_a_renamed_copy_becomes_calls_of_the_original():
    sources = _sources()
    copy = calls_of_the_original("synapses_pre_codeobject_1",
                                 sources["code_objects/synapses_pre_codeobject_1.cpp"],
                                 "synapses_pre_codeobject",
                                 sources["code_objects/synapses_pre_codeobject.cpp"])
    assert "_helper" not in copy
    assert "void _run_synapses_pre_codeobject_1() { _run_synapses_pre_codeobject(); }" in copy
    assert ("void _debugmsg_synapses_pre_codeobject_1() { _debugmsg_synapses_pre_codeobject(); }"
            in copy)
    assert calls_of_the_original("synapses_post_codeobject_1",
                                 sources["code_objects/synapses_post_codeobject_1.cpp"],
                                 "synapses_post_codeobject",
                                 sources["code_objects/synapses_post_codeobject.cpp"]) is None


def test_one_file_keeps_each_objects_support_code_and_macros():
    text = one_translation_unit(_sources())
    assert text.count("_helper()") == 2 * len(OBJECTS) - 2    # the copy's is gone
    for number in (0, 2, 3, 4):
        assert f"namespace _code_object_{number} {{" in text
        assert f"using namespace _code_object_{number};" in text
    assert text.count("#undef _SCALE") == len(OBJECTS) - 1     # the copy defines none
    assert "namespace {" not in text


def test_one_file_compiles_and_each_object_runs_its_own_code(tmp_path):
    # the same helper and macro names in every object: compiled apart, each keeps its own
    folder = tmp_path / "code_objects"
    folder.mkdir()
    for name, *_ in OBJECTS:
        (folder / f"{name}.h").write_text(HEADER.format(name=name))
    (tmp_path / "one.cpp").write_text(one_translation_unit(_sources()))
    calls = "".join(f"    _run_{name}();\n" for name, *_ in OBJECTS)
    includes = "".join(f'#include "code_objects/{name}.h"\n' for name, *_ in OBJECTS)
    (tmp_path / "main.cpp").write_text(
        f'#include <cstdio>\n{includes}int results[4];\n'
        f'int main() {{\n{calls}    std::printf("%d %d %d %d", results[0], results[1], '
        f'results[2], results[3]);\n}}\n')
    subprocess.run(["g++", "-I", str(tmp_path), "-o", str(tmp_path / "program"),
                    str(tmp_path / "one.cpp"), str(tmp_path / "main.cpp")], check=True)
    output = subprocess.run([str(tmp_path / "program")], capture_output=True, text=True,
                            check=True).stdout
    assert output == "10 200 3000 4"


class _CodeObject:
    """What ``generate_codeobj_source`` reads of a code object."""

    def __init__(self, name, value, scale, slot):
        self.name, self.variables, self.before_after_blocks = name, {}, []
        self.code = type("Code", (), {"cpp_file": CODE.format(name=name, value=value,
                                                              scale=scale, slot=slot),
                                      "h_file": HEADER.format(name=name)})()


def _device():
    device = CPPStandaloneDevice()
    device.code_objects = {spec[0]: _CodeObject(*spec) for spec in OBJECTS}
    return device


def test_a_build_in_the_context_writes_one_file_and_rewrites_it_only_on_change(tmp_path):
    (tmp_path / "code_objects").mkdir()
    device = _device()
    with code_objects_in_one_file(device):
        device.generate_codeobj_source(CPPWriter(str(tmp_path)))
    written = sorted(os.listdir(tmp_path / "code_objects"))
    assert written == sorted([os.path.basename(ONE_FILE)]
                             + [f"{name}.h" for name, *_ in OBJECTS])
    one_file = tmp_path / ONE_FILE
    assert one_file.read_text() == one_translation_unit(_sources())
    os.utime(one_file, ns=(1, 1))
    with code_objects_in_one_file(device):               # a rebuild of the same network
        device.generate_codeobj_source(CPPWriter(str(tmp_path)))
    assert one_file.stat().st_mtime_ns == 1               # unchanged, so make compiles nothing
    device.generate_codeobj_source(CPPWriter(str(tmp_path)))   # outside: Brian2's own writer
    assert (tmp_path / "code_objects" / "synapses_pre_codeobject_1.cpp").exists()


def test_the_context_acts_on_the_active_device_when_given_brian2_device(tmp_path, monkeypatch):
    # brian2.device is a proxy: setting a method on it would leave the device building file
    # by file
    (tmp_path / "code_objects").mkdir()
    device = _device()
    monkeypatch.setattr(brian2_private, "get_device", lambda: device)
    with code_objects_in_one_file(brian2.device):
        device.generate_codeobj_source(CPPWriter(str(tmp_path)))
    assert (tmp_path / ONE_FILE).exists()
    assert not (tmp_path / "code_objects" / "synapses_pre_codeobject.cpp").exists()
