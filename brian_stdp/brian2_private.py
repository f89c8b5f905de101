"""Every place where brian_stdp relies on Brian2 internals (checked against Brian2 2.9.0, and
as used by the tests on 2.7.1 and 2.8.0.4: ``noxfile.py``).

Each function answers one Brian2 behaviour that its public API does not cover; the comment on
it says which. Nothing else in the package touches a private attribute of Brian2.

Importing this module checks, once, that the Brian2 found is one of the versions the package is
tested with (``SUPPORTED_BRIAN2``, as ``setup.cfg`` declares it) and that every internal used
here is still there in the shape used: a Brian2 that changed one fails at import with a message
saying which internal, what for and what changed, not later with an AttributeError deep in a
run.
"""
import contextlib
import inspect
import re
import warnings
from importlib.metadata import version as _installed_version

if _installed_version("brian2").startswith("2.8."):
    # Brian2 2.8, on import, reads distutils' private _get_vc_env (for MSVC, on every
    # platform), on which setuptools 77 and later warn (pypa/distutils#340): "import brian2"
    # printed a UserWarning on every command. Brian2 2.7 and 2.9.0 do not read it. This module
    # is the package's first import, so the filter (matching only that warning) is in place
    # before Brian2 is imported.
    warnings.filterwarnings("ignore", message="_get_vc_env is private", category=UserWarning)

import brian2  # noqa: E402

#: The Brian2 versions the package is tested with, inclusive (setup.cfg's install_requires
#: says the same; tests/test_brian2_support.py checks the two agree).
SUPPORTED_BRIAN2 = ("2.7", "2.9.0")


def _version_tuple(version):
    """``"2.8.0.4"`` -> ``(2, 8, 0, 4)``, padded with zeros as pip compares releases."""
    release = re.match(r"\d+(\.\d+)*", version)
    parts = tuple(int(part) for part in release.group(0).split(".")) if release else ()
    return (parts + (0, 0, 0, 0))[:max(4, len(parts))]


def check_brian2_version(version=None):
    """ImportError unless ``version`` (default: the installed Brian2's) is supported."""
    version = brian2.__version__ if version is None else version
    low, high = SUPPORTED_BRIAN2
    if not _version_tuple(low) <= _version_tuple(version) <= _version_tuple(high):
        raise ImportError(f"brian_stdp supports Brian2 {low} to {high} (the versions it is "
                          f"tested with); found Brian2 {version}: pip install "
                          f"'brian2>={low},<={high}'")


check_brian2_version()

from brian2.core.network import Network, _get_all_objects  # noqa: E402
from brian2.core.operations import NetworkOperation  # noqa: E402
from brian2.devices.device import CurrentDeviceProxy, get_device  # noqa: E402
from brian2.equations.codestrings import Expression  # noqa: E402
from brian2.synapses.synapses import SummedVariableUpdater  # noqa: E402

__all__ = ["summed_variable_updater", "run_now", "last_step_of_run",
           "declare_contained_synapses", "share_connectivity_transposed",
           "add_pathway_after_build", "network_being_prepared", "network_operations_in",
           "objects_in",
           "drop_post_aliases", "apply_run_args_before_this_run", "standalone_array",
           "canonical_clock_order", "calls_of_the_original", "one_translation_unit",
           "code_objects_in_one_file", "write_project", "run_arguments",
           "keep_sigint_ignored", "ctrl_c_raises_preferences", "SUPPORTED_BRIAN2",
           "check_brian2_version", "check_internals"]


def summed_variable_updater(expression, row_variable, synapses, row_group):
    """A summed variable of ``synapses`` into ``row_group`` (indexed by the post neuron).

    Brian2 creates summed variables only from a ``(summed)`` flag in the synapses' own model,
    whose target must be a variable of the post-synaptic group; the rows here belong to a helper
    group, so the updater is made directly.
    """
    return SummedVariableUpdater(Expression(expression), row_variable, synapses, row_group,
                                 "N_post", "_postsynaptic_idx")


def run_now(updater, run_namespace):
    """Run ``updater``'s code once, now (before the run; in standalone, as generated code).

    Brian2 has no public call to run a code object outside of a network's schedule.
    """
    updater.before_run(run_namespace)
    updater.codeobj()


def last_step_of_run(clock):
    """The last step of the ``run()`` being prepared (Brian2 sets the clock's interval before
    calling ``before_run``, in every device, but keeps its end step private)."""
    return int(clock._i_end) - 1


def declare_contained_synapses(device, synapses):
    """Make ``synapses`` contained in another object known to a standalone device.

    cpp_standalone declares the pathways only of the ``Synapses`` it finds among a network's
    top-level objects.
    """
    if hasattr(device, "synapses") and isinstance(device.synapses, set):
        device.synapses.update(synapses)


#: ``Synapses`` variables that describe connectivity, with their counterpart of the transposed
#: connectivity (pre and post swapped).
_TRANSPOSED = (("_synaptic_pre", "_synaptic_post"), ("_synaptic_post", "_synaptic_pre"),
               ("_presynaptic_idx", "_synaptic_post"), ("_postsynaptic_idx", "_synaptic_pre"),
               ("i", "_synaptic_post"), ("j", "_synaptic_pre"), ("N", "N"),
               ("N_incoming", "N_outgoing"), ("N_outgoing", "N_incoming"))


def share_connectivity_transposed(rows, synapses):
    """Make ``rows`` (a ``Synapses`` from the post side to the pre side) use ``synapses``'
    connectivity arrays, transposed, so that synapse ``k`` of one is synapse ``k`` of the other.

    Brian2 has no public way for two ``Synapses`` to share their connectivity; its variables
    container is replaced entry by entry.
    """
    for name, of_synapses in _TRANSPOSED:
        rows.variables._variables[name] = synapses.variables[of_synapses]


def add_pathway_after_build(group, code, event, objname=None):
    """Add an ``on_pre`` pathway run on ``event`` to a ``Synapses`` already built (named
    ``objname``, by default Brian2's ``pre``).

    Brian2 creates pathways only in ``Synapses.__init__``, and refuses new attributes (a pathway
    is one) once the group is built; the guard is lifted for the one call and put back.
    """
    from brian2 import ms
    del group.__dict__["_group_attribute_access_active"]
    group._add_updater(code, "pre", objname=objname, delay=0 * ms, event=event)
    group._enable_group_attributes()


def network_being_prepared():
    """The ``Network`` whose ``before_run`` is on the call stack, or None.

    Brian2 passes ``BrianObject.before_run`` no reference to its network; the caller is
    ``Network.before_run`` (2.9.0), whose ``self`` is that network.
    """
    frame = inspect.currentframe()
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if frame.f_code.co_name == "before_run" and isinstance(candidate, Network):
            return candidate
        frame = frame.f_back
    return None


def objects_in(network):
    """Every object of ``network``, contained ones too (Brian2's own walk is private)."""
    return _get_all_objects(network.objects)


def network_operations_in(network):
    """The names of the Python ``network_operation`` objects in ``network`` (contained ones
    too: Brian2's own walk over them is private)."""
    return sorted(obj.name for obj in objects_in(network)
                  if isinstance(obj, NetworkOperation))


#: Variables every Brian2 object has of its own (clock, size, indices): never a user's.
_BUILT_IN = frozenset({"t", "dt", "t_in_timesteps", "N", "i", "j", "lastupdate", "delay"})


def drop_post_aliases(synapses, names):
    """Remove the plain-name aliases of the post-synaptic group's variables among ``names``.

    Brian2 makes each variable ``x`` of a ``Synapses``' post-synaptic group visible as ``x_post``
    and, unless the synapses define ``x`` themselves, also as ``x`` (each pathway keeps a copy
    of these names, made when the ``Synapses`` was created); and ``Variables.add_reference``
    silently keeps a name that exists. A user's variable named like one of the rule's would thus
    take the place of the rule's state, constant or local name in the rule's code. Without the
    alias, the rule's names mean the rule's; the user's variable stays reachable as ``x_post``.
    Returns the names removed.
    """
    target_variables = synapses.target.variables
    own = set(synapses.equations.names)
    dropped = []
    for name in sorted(names):
        if (name in _BUILT_IN or name in own or name not in target_variables
                or name not in synapses.variables._variables):
            continue
        for variables in [synapses.variables] + [p.variables for p in synapses._pathways]:
            variables._variables.pop(name, None)
            variables.indices.pop(name, None)
        dropped.append(name)
    return dropped


def apply_run_args_before_this_run(device):
    """In cpp_standalone, apply the values of ``device.run(run_args=...)`` here, not just before
    the network's run.

    Brian2 sets the values given by ``run_args`` just before the first network run, after
    what ``before_run`` queued: the row sums taken there would count the weights the program
    was built with, not the ones passed in. ``apply_run_args`` is public, whether it was
    already called (``run_args_applied``) is not.
    """
    if hasattr(device, "apply_run_args") and not getattr(device, "run_args_applied", True):
        device.apply_run_args()


def standalone_array(variable, data=True):
    """The C++ expression, in a cpp_standalone code object, of ``variable``'s array: a pointer
    to its data, or (``data=False``, a synaptic variable) the ``std::vector`` holding it.

    Brian2 hands a code object's arrays only to the code it generates; a ``Function``'s C++
    implementation reads them as the globals every code object includes (``objects.h``,
    namespace ``brian``), named by the device.
    """
    from brian2 import get_device
    from brian2.core.variables import DynamicArrayVariable
    device = get_device()
    if isinstance(variable, DynamicArrayVariable):
        vector = f"brian::{device.get_array_name(variable, access_data=False)}"
        return f"&{vector}[0]" if data else vector
    if not data:
        raise TypeError("only a synaptic (dynamic) array is held in a std::vector")
    return f"brian::{device.get_array_name(variable)}"


def canonical_clock_order(device):
    """In cpp_standalone, put what Brian2 writes into ``main.cpp`` in the order of a set of
    clocks into the order of the clocks' names; call it before ``device.build``.

    ``CPPStandaloneDevice.network_run`` (2.9.0) collects a run's clocks in a set, whose order
    follows the clocks' addresses and so can differ from process to process, and in that order
    queues each clock's ``timestep`` and ``t`` reset before the run and a
    ``network.add(&clock, NULL)`` for a clock without code. Neither order has an effect (the
    resets assign constants to distinct variables; the C++ network keeps its clocks in a
    ``std::set`` and skips entries without code), but the text of ``main.cpp`` depends on it:
    the same network built in another process would rewrite ``main.cpp`` and recompile it.
    The device's queue (``main_queue``, not public) is reordered in place; returns how many of
    its entries or lines moved.
    """
    queue = getattr(device, "main_queue", None)
    if queue is None:
        return 0
    resets = {}
    for clock in getattr(device, "clocks", ()):
        for rank, name in enumerate(("timestep", "t")):
            array = device.get_array_name(clock.variables[name], access_data=False)
            resets[array] = (clock.name, rank)

    def is_reset(entry):
        return entry[0] == "set_by_single_value" and entry[1][0] in resets

    moved, k = 0, 0
    while k < len(queue):
        if is_reset(queue[k]):
            end = k
            while end < len(queue) and is_reset(queue[end]):
                end += 1
            # A stable sort: two resets of one variable keep their order.
            ordered = sorted(queue[k:end], key=lambda entry: resets[entry[1][0]])
            moved += sum(a is not b for a, b in zip(ordered, queue[k:end]))
            queue[k:end] = ordered
            k = end
            continue
        if queue[k][0] == "run_network":
            net, lines = queue[k][1]
            prefix = f"{net.name}.add(&"
            spots = [n for n, line in enumerate(lines)
                     if line.startswith(prefix) and line.endswith(", NULL);")]
            for n, line in zip(spots, sorted(lines[n] for n in spots)):
                moved += lines[n] != line
                lines[n] = line
        k += 1
    return moved


_NUMBERED_CODE_OBJECT = re.compile(r"^code_objects/(\w+_codeobject)_(\d+)\.cpp$")
_DEFINED_FUNCTION = re.compile(r"^void (_\w+)\(\)", re.MULTILINE)


def calls_of_the_original(name, code, original_name, original_code):
    """The source of code object ``name`` as calls of ``original_name``'s functions, if
    ``code`` is ``original_code`` under another name; else None.

    Brian2 (2.9.0) generates a code object's code anew for each ``run()`` call that uses it: the
    second run's ``X_codeobject_1.cpp`` is ``X_codeobject.cpp`` with the name changed; a
    program of several runs is largely such copies.
    """
    renamed = re.sub(re.escape(name) + r"(?!\w)", original_name, code)
    functions = _DEFINED_FUNCTION.findall(code)
    if renamed != original_code or not functions:
        return None
    lines = [f"// {original_name}.cpp under another name (brian_stdp.brian2_private)",
             f'#include "code_objects/{original_name}.h"',
             f'#include "code_objects/{name}.h"']
    lines += [f"void {function}() {{ {function.replace(name, original_name)}(); }}"
              for function in functions]
    return "\n".join(lines) + "\n"


_ANONYMOUS_NAMESPACE = re.compile(r"\bnamespace\s*\{")
_FUNCTION_START = re.compile(r"^(void _\w+\(\)\s*\{)", re.MULTILINE)
_MACRO = re.compile(r"^\s*#\s*define\s+(\w+)", re.MULTILINE)
ONE_FILE = "code_objects/all_code_objects.cpp"


def one_translation_unit(sources):
    """The code objects' sources ``{filename: text}`` as the text of one C++ file.

    A renamed copy of another code object becomes calls of it (:func:`calls_of_the_original`).
    Each source keeps its own support code: its anonymous namespace becomes a namespace of its
    own, which its functions use, and the macros it defines end with it. The headers every
    source includes are guarded, so they are read once. What could clash (a name defined
    twice at file scope) fails to compile rather than changing what runs.
    """
    parts = []
    for number, (filename, text) in enumerate(sources.items()):
        copy = _NUMBERED_CODE_OBJECT.match(filename)
        if copy is not None and f"code_objects/{copy.group(1)}.cpp" in sources:
            text = calls_of_the_original(f"{copy.group(1)}_{copy.group(2)}", text,
                                         copy.group(1),
                                         sources[f"code_objects/{copy.group(1)}.cpp"]) or text
        namespace = f"_code_object_{number}"
        if _ANONYMOUS_NAMESPACE.search(text):
            text = _ANONYMOUS_NAMESPACE.sub(f"namespace {namespace} {{", text)
            text = _FUNCTION_START.sub(rf"\1 using namespace {namespace};", text)
        undefine = "".join(f"#undef {name}\n" for name in dict.fromkeys(_MACRO.findall(text)))
        parts.append(f"// ---- {filename}\n{text}\n{undefine}")
    return "".join(parts)


class _CodeObjectSources:
    """In front of Brian2's writer: keeps the code objects' sources instead of writing them."""

    def __init__(self, writer):
        self.writer, self.sources = writer, {}

    def write(self, filename, contents):
        if filename.startswith("code_objects/") and filename.endswith(".cpp"):
            self.sources[filename] = contents
        else:
            self.writer.write(filename, contents)


@contextlib.contextmanager
def code_objects_in_one_file(device):
    """Within it, ``device.build`` (cpp_standalone) compiles every code object in one file.

    Brian2 (2.9.0) writes each code object to a file of its own, and compiling one costs about
    as much as reading the headers it includes: most of a small network's build. In one file
    (:func:`one_translation_unit`) the headers are read once. ``generate_codeobj_source`` (not
    public) is where the build writes the code objects; the makefile compiles what the writer
    wrote, so it compiles the one file. A rebuild that changes nothing leaves the file
    unchanged, so nothing is recompiled; one that changes any code object recompiles it all.
    """
    if isinstance(device, CurrentDeviceProxy):  # brian2.device: setting on it sets nothing
        device = get_device()
    generate = device.generate_codeobj_source

    def generate_in_one_file(writer):
        sources = _CodeObjectSources(writer)
        generate(sources)
        writer.write(ONE_FILE, one_translation_unit(sources.sources))

    device.generate_codeobj_source = generate_in_one_file
    try:
        yield
    finally:
        del device.generate_codeobj_source


def write_project(device, directory, with_output=False):
    """Write the cpp_standalone project of ``device`` into ``directory`` without compiling it
    (``device.build(compile=False, run=False)``); the caller compiles it (``make`` in the
    directory, as ``CPPStandaloneDevice.compile_source`` runs it) and may move it.

    Brian2 compiles with ``os.system``, during which the Python process ignores Ctrl-C and
    delivers SIGTERM only once ``make`` has ended; compiling in a child process of one's own
    lets an interruption stop it at once. The device then runs the program from wherever it
    was moved to: ``device.project_dir`` (set by ``build``, not documented) is pointed there
    by :func:`run_arguments`' caller.
    """
    device.build(directory=directory, compile=False, run=False, with_output=with_output)


def run_arguments(device, run_args, directory):
    """``device.run``'s ``run_args`` as the command-line strings of the program, with every
    array written to ``directory`` (absolute paths), not into the project.

    Brian2's ``run`` writes an array given in ``run_args`` to the project's ``static_arrays``
    (named by its content), where two jobs sharing the program would write, read and remove
    one another's files. Its ``_prepare_variableview_run_arg`` and
    ``_prepare_timed_array_run_arg`` (not public) give the name, the value and the file name
    of each; ``run`` takes a list of ``name=value`` strings as they are.
    """
    import os

    from brian2.core.variables import VariableView
    from brian2.input.timedarray import TimedArray
    strings = []
    for key, value in run_args.items():
        if isinstance(key, VariableView):
            name, string_value, file_name, array = device._prepare_variableview_run_arg(
                key, value)
        elif isinstance(key, TimedArray):
            name, string_value, file_name, array = device._prepare_timed_array_run_arg(
                key, value)
        else:
            raise TypeError(f"run_args keys are group variables or TimedArrays, got {key!r}")
        if file_name:
            string_value = os.path.join(os.path.abspath(directory), file_name)
            array.tofile(string_value)
        strings.append(f"{name}={string_value}")
    return strings


def keep_sigint_ignored():
    """Put back SIGINT's "ignored" if Brian2's import replaced it; return whether it did.

    ``import brian2`` installs its own SIGINT handler, which hands a Ctrl-C on to the handler
    it found (``_InterruptHandler.previous_handler``, not public). A process started with SIGINT
    ignored (``nohup``, a scheduler, a shell's background job) found ``SIG_IGN``, which is not
    callable: a SIGINT then raised ``TypeError`` instead of being ignored.
    """
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        return False
    handler = signal.getsignal(signal.SIGINT)
    if getattr(handler, "previous_handler", None) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return True
    return False


def ctrl_c_raises_preferences():
    """The preferences (``{name: value}``) under which Ctrl-C during a run raises
    ``KeyboardInterrupt``, as outside a run.

    Brian2 2.9.0 added ``core.stop_on_keyboard_interrupt`` (default ``True``: Ctrl-C ends the
    run early as if it had finished; ``False`` raises). Brian2 2.7 and 2.8 have no such
    preference and always raise: nothing to set there.
    """
    from brian2 import prefs
    name = "core.stop_on_keyboard_interrupt"
    return {name: False} if name in prefs else {}


# ---- the internals above, checked once at import -----------------------------------------
def _internals():
    """(internal, what brian_stdp uses it for, a function returning what changed or None)."""
    from brian2.core.clocks import Clock
    from brian2.core.variables import Variables
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
    from brian2.groups.group import Group
    from brian2.synapses.synapses import Synapses

    def parameters_start(function, expected):
        found = list(inspect.signature(function).parameters)[:len(expected)]
        return None if found == expected else f"takes {found} where {expected} was expected"

    def mentions(function, *names):
        # Brian2's unit-checking decorator keeps the function it wraps as ``_orig_func``.
        source = inspect.getsource(getattr(function, "_orig_func", function))
        missing = [name for name in names if name not in source]
        return None if not missing else f"no longer refers to {', '.join(missing)}"

    def attributes(cls, *names):
        missing = [name for name in names if not hasattr(cls, name)]
        return None if not missing else f"has no {', '.join(missing)}"

    return [
        ("SummedVariableUpdater(expression, target_varname, synapses, target, "
         "target_size_name, index_var)", "the rules' row sums into a helper group",
         lambda: parameters_start(SummedVariableUpdater.__init__,
                                  ["self", "expression", "target_varname", "synapses",
                                   "target", "target_size_name", "index_var"])),
        ("Variables._variables and Variables.indices", "sharing connectivity, name aliases",
         lambda: mentions(Variables.__init__, "_variables", "indices")),
        ("Synapses._add_updater(code, prepost, objname, delay, event) and _pathways",
         "the pathways added after a Synapses is built",
         lambda: parameters_start(Synapses._add_updater,
                                  ["self", "code", "prepost", "objname", "delay", "event"])
         or mentions(Synapses.__init__, "_pathways")),
        ("Group._group_attribute_access_active and _enable_group_attributes",
         "lifting the guard on new attributes for one pathway",
         lambda: attributes(Group, "_enable_group_attributes")
         or mentions(Group._enable_group_attributes, "_group_attribute_access_active")),
        ("Network.before_run(self, ...)", "finding the network being prepared",
         lambda: parameters_start(Network.before_run, ["self"])),
        ("Clock._i_end", "the last step of a run",
         lambda: mentions(Clock.set_interval, "_i_end")),
        ("CPPStandaloneDevice.main_queue, run_args_applied, apply_run_args",
         "applying run_args before the rules' run-start code",
         lambda: mentions(CPPStandaloneDevice.__init__, "main_queue", "run_args_applied")
         or attributes(CPPStandaloneDevice, "apply_run_args")),
        ("CPPStandaloneDevice.generate_codeobj_source(writer)",
         "compiling the code objects in one file",
         lambda: parameters_start(CPPStandaloneDevice.generate_codeobj_source,
                                  ["self", "writer"])),
        ("CPPStandaloneDevice._prepare_variableview_run_arg and "
         "_prepare_timed_array_run_arg(key, value)", "run arguments kept out of the project",
         lambda: parameters_start(CPPStandaloneDevice._prepare_variableview_run_arg,
                                  ["self", "key", "value"])
         or parameters_start(CPPStandaloneDevice._prepare_timed_array_run_arg,
                             ["self", "key", "value"])),
        # Brian2 2.9.0 added the SIGINT handler; before it there is nothing to keep ignored.
        ("brian2._InterruptHandler.previous_handler", "keeping an ignored SIGINT ignored",
         lambda: mentions(brian2._InterruptHandler.__init__, "previous_handler")
         if hasattr(brian2, "_InterruptHandler") else None),
    ]


def check_internals(internals=None):
    """ImportError naming every internal that is not as used here (default: all of them)."""
    changed = []
    for internal, used_for, check in (_internals() if internals is None else internals):
        try:
            what = check()
        except Exception as error:  # noqa: BLE001  (gone altogether: that is the change)
            what = f"{type(error).__name__}: {error}"
        if what:
            changed.append(f"- {internal} (used for {used_for}): {what}")
    if changed:
        raise ImportError(f"brian_stdp relies on Brian2 internals that changed in Brian2 "
                          f"{brian2.__version__}:\n" + "\n".join(changed))


check_internals()
