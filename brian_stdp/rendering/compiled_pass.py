"""A rule's pass over every synapse, compiled in cpp_standalone as a loop the compiler vectorises.

Brian2 runs a synapse ``run_regularly`` as one flat loop over the synapses that gathers each
row variable through the synapse's post index and adds into row sums through it; a compiler can
vectorise neither, and Brian2's OpenMP loop would race on the sums. In cpp_standalone the same
statements are compiled instead into a ``Function`` with a C++ implementation, called once per
step from a one-neuron group at the operation's slot and order.

When the synapses are all-to-all in Brian2's order (``S.connect()``: synapse ``i * N_post + j``,
checked in the simulation whenever the synapses change) the pass loops over the pre neurons
and, inside, over the contiguous post neurons: no gather, no scatter. The pre neurons are cut
into a fixed number of blocks, each adding into its own partial row sums, added to the rows in
block order afterwards: OpenMP threads share out the blocks (each thread's synapses contiguous
in memory, no row written by two threads), and the sums, hence the weights, are the same for
any number of threads. They differ from the flat loop's only in the order of the additions
(the last bits). The flat loop runs for any other connectivity, on one thread.
"""
import re

from brian2 import Function, NeuronGroup, get_device, prefs
from brian2.codegen.generators.cpp_generator import c_data_type
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.parsing.rendering import CPPNodeRenderer
from brian2.utils.stringtools import get_identifiers

from ..brian2_private import standalone_array

__all__ = ["compiles_synapse_passes", "compiled_synapse_pass"]

# Brian2 functions the pass statements may use, by their C++ implementation in SUPPORT.
_FUNCTIONS = {"int": "_bs_int", "clip": "_bs_clip", "abs": "_bs_abs", "exp": "exp"}
_WITH_FUNCTIONS = re.compile(r"\b(" + "|".join(_FUNCTIONS) + r")\s*\(")
_SUPPORT = """
template <typename T> static inline int32_t _bs_int(T value) { return (int32_t)value; }
template <typename T> static inline T _bs_clip(T value, double low, double high)
{ return value < low ? (T)low : (value > high ? (T)high : value); }
template <typename T> static inline T _bs_abs(T value) { return value < 0 ? -value : value; }
"""
# Blocks of pre neurons in the dense loop: enough for the threads of a small machine to share
# out; each block keeps one partial sum per row.
_BLOCKS = 16
_STATEMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(=|\+=|-=|\*=)\s*(.+?)\s*$")


def compiles_synapse_passes() -> bool:
    """True where a synapse step operation is compiled by :func:`compiled_synapse_pass`."""
    return isinstance(get_device(), CPPStandaloneDevice)


def compiled_synapse_pass(S, code, when, order, name):
    """The objects running the Brian2 statements ``code`` on every synapse of ``S``, once per
    step at ``when`` / ``order``, as one compiled call (see the module docstring)."""
    statements = _parse(code)
    function_name = "_brian_stdp_pass_" + S.name
    function = Function(_standalone_only(S.name), arg_units=[1], return_unit=1,
                        arg_types=["integer"], return_type="integer", stateless=False)
    function.implementations.add_implementation("cpp", _cpp(S, statements, function_name),
                                                name=function_name)
    # A shared variable makes the call scalar code, which Brian2 runs outside its OpenMP loop
    # (the pass opens its own parallel region).
    caller = NeuronGroup(1, "dense_passes : integer (shared)  # steps whose pass was dense",
                         namespace={"synapse_pass": function}, name=name)
    runner = caller.run_regularly("dense_passes = synapse_pass(dense_passes)", when=when,
                                  order=order, name=name + "_call")
    return [caller, runner]


def _standalone_only(name):
    def python_implementation(dense_passes):
        raise NotImplementedError(f"{name}'s compiled pass runs in cpp_standalone only")
    return python_implementation


def _parse(code):
    statements = []
    for line in code.splitlines():
        line = line.split("#", 1)[0]
        if not line.strip():
            continue
        match = _STATEMENT.match(line)
        if match is None:
            raise ValueError(f"a compiled synapse pass takes 'name = expression' lines (or "
                             f"+=, -=, *=), got {line.strip()!r}")
        statements.append(match.groups())
    return statements


def _cpp(S, statements, function_name):
    """The C++ function: the pass as blocks of a dense nested loop, or the flat loop."""
    renderer = CPPNodeRenderer()
    rendered = [(target, operator, _with_functions(renderer.render_expr(expression)))
                for target, operator, expression in statements]
    # Brian2's own reading of the names (not a regex over the C++, which takes the exponent
    # of a literal such as 1e-06 for a name)
    read = set().union(*(get_identifiers(expression) for _, _, expression in statements))
    written = {target for target, _, _ in statements}
    # (C++ type, name, value): what the loops see; the row sums apart
    scalars, pointers, loads, stores, sums = [], [], [], [], []
    for name in sorted(read | written):
        if name in _FUNCTIONS:
            continue
        if name not in S.variables:
            value = S.namespace.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                scalars.append(("const double", name, repr(float(value))))
                continue
            raise ValueError(f"{S.name}: the compiled synapse pass cannot read {name!r} "
                             "(neither a variable of the synapses nor a number in their "
                             "namespace)")
        variable, index = S.variables[name], S.variables.indices[name]
        ctype = c_data_type(variable.dtype)
        if variable.scalar and name not in written:
            scalars.append((f"const {ctype}", name, f"{standalone_array(variable)}[0]"))
            continue
        if index == "_postsynaptic_idx" and name not in written:
            pointers.append((f"const {ctype}*", f"_ptr_{name}", standalone_array(variable)))
            loads.append(f"const {ctype} {name} = _ptr_{name}[_j];")
        elif index == "_postsynaptic_idx" and _accumulated_only(name, statements, read):
            # a row sum: each block of pre neurons sums into its own row of partial sums
            sums.append((ctype, name, standalone_array(variable)))
            loads.append(f"{ctype} {name} = _ptr_{name}[_j];")
            stores.append(f"_ptr_{name}[_j] = {name};")
        elif index == "_idx":
            constness = "" if name in written else "const "
            pointers.append((f"{constness}{ctype}*", f"_ptr_{name}",
                             standalone_array(variable)))
            loads.append(f"{ctype} {name} = _ptr_{name}[_s];")
            if name in written:
                stores.append(f"_ptr_{name}[_s] = {name};")
        else:
            raise ValueError(f"{S.name}: the compiled synapse pass takes synapse variables, "
                             f"row (post neuron) variables it reads, and row sums it only adds "
                             f"into ('{{row}} += ...', read nowhere else); not {name!r}")
    body = "\n".join(loads + [f"{target} {operator} {expression};"
                              for target, operator, expression in rendered] + stores)
    post = standalone_array(S.variables["_synaptic_post"], data=False)
    pre = standalone_array(S.variables["_synaptic_pre"], data=False)
    rows, columns = len(S.target), len(S.source)
    parallel = ("#pragma omp parallel for schedule(static)"
                if prefs.devices.cpp_standalone.openmp_threads > 0 else "")
    # Every pointer a parameter marked __restrict__ of a function of its own: inside an OpenMP
    # region the compiler would see them as shared variables, which might alias, and would not
    # vectorise.
    sum_pointers = [(f"{ctype}*", f"_ptr_{name}", array) for ctype, name, array in sums]
    parameters = ", ".join([f"{ctype} {name}" for ctype, name, _ in scalars]
                           + [f"{ctype} __restrict__ {name}" for ctype, name, _ in
                              pointers + sum_pointers])
    declarations = "\n".join(f"{ctype} {name} = {value};" for ctype, name, value in
                             scalars + pointers)
    block_arguments = ", ".join([name for _, name, _ in scalars + pointers]
                                + [f"&_partial_{name}[(size_t)_block * {rows}]"
                                   for _, name, _ in sums])
    partials = "\n".join(f"static std::vector<{ctype}> _partial_{name};\n"
                         f"_partial_{name}.assign((size_t)_BLOCKS * {rows}, 0);"
                         for ctype, name, _ in sums)
    add_partials = "\n".join(f"""{ctype}* const _row_{name} = {array};
for (int _block = 0; _block < _BLOCKS; _block++)
    for (int _j = 0; _j < {rows}; _j++)
        _row_{name}[_j] += _partial_{name}[(size_t)_block * {rows} + _j];"""
                             for ctype, name, array in sums)
    flat_pointers = "\n".join(f"{ctype} const {name} = {array};"
                              for ctype, name, array in sum_pointers)
    return _SUPPORT + f"""
static void {function_name}_block(const int _first, const int _last, {parameters})
{{
    for (int _i = _first; _i < _last; _i++) {{
        const size_t _row_start = (size_t)_i * {rows};
        for (int _j = 0; _j < {rows}; _j++) {{
            const size_t _s = _row_start + _j;
            {_indent(body, 12)}
        }}
    }}
}}

static int32_t {function_name}(int32_t _dense_passes)
{{
    const size_t _n = {post}.size();
    if (_n == 0) return _dense_passes;
    const int32_t* _post = &{post}[0];
    const int32_t* _pre = &{pre}[0];
    // All-to-all in Brian2's order? Checked again whenever the synapses change.
    static size_t _checked_n = (size_t)-1;
    static const int32_t* _checked_post = 0;
    static bool _dense = false;
    if (_n != _checked_n || _post != _checked_post) {{
        _dense = _n == (size_t){rows} * {columns};
        for (size_t _s = 0; _dense && _s < _n; _s++)
            _dense = _post[_s] == (int32_t)(_s % {rows}) && _pre[_s] == (int32_t)(_s / {rows});
        _checked_n = _n;
        _checked_post = _post;
    }}
    {_indent(declarations, 4)}
    if (_dense) {{
        // Blocks of pre neurons, their number fixed (not the threads'), so that the sums and
        // with them the weights do not depend on the number of threads.
        const int _BLOCKS = {_BLOCKS};
        {_indent(partials, 8)}
        {parallel}
        for (int _block = 0; _block < _BLOCKS; _block++)
            {function_name}_block((int)((long)_block * {columns} / _BLOCKS),
                                  (int)((long)(_block + 1) * {columns} / _BLOCKS),
                                  {block_arguments});
        {_indent(add_partials, 8)}
    }} else {{
        {_indent(flat_pointers, 8)}
        for (size_t _s = 0; _s < _n; _s++) {{
            const int32_t _j = _post[_s];
            {_indent(body, 12)}
        }}
    }}
    return _dense_passes + (int32_t)_dense;
}}
"""


def _accumulated_only(name, statements, read):
    """True for a row variable the statements only add into (``name += ...``)."""
    return name not in read and all(operator == "+=" for target, operator, _ in statements
                                    if target == name)


def _indent(code, spaces):
    return ("\n" + " " * spaces).join(code.splitlines())


def _with_functions(expression):
    return _WITH_FUNCTIONS.sub(lambda match: _FUNCTIONS[match.group(1)] + "(", expression)
