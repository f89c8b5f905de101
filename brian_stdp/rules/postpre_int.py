r"""SPAIC's ``PostPreIntSTDP``: integer traces, stochastic rounding, threshold-driven halving.

Every step ``k``, with ``p``, ``q`` the pre and post spikes of THIS step and ``thresh`` the post
neurons' adaptive threshold after this step's update (all integers; ``>>`` is a floor division by
a power of two, ``&`` the matching modulo):

.. math::

    x_i &\leftarrow \lfloor d\,x_i / 2^{s_t} \rfloor, \quad x_i[p] \leftarrow A, \qquad
    x_o \leftarrow \lfloor d\,x_o / 2^{s_t} \rfloor, \quad x_o[q] \leftarrow A \\
    W_{ij} &\leftarrow W_{ij} \pm p_j\,\mathrm{SR}(\nu_0\,x_{o,i})
        + q_i\,\mathrm{SR}(\nu_1\,x_{i,j}) \\
    W_{ij} &\leftarrow \lfloor W_{ij} / 2 \rfloor \ \text{if}\ thresh_i > \theta_{max} \\
    W &\leftarrow \operatorname{clip}(W, w_{min}, w_{max})

with :math:`\mathrm{SR}(x) = \lfloor x / 2^{s} \rfloor + [R < x \bmod 2^{s}]`, ``R`` uniform on
``[0, 2^s)`` per synapse, per term, per step, so that :math:`E[\mathrm{SR}(x)] = x / 2^s`.

In Brian2 the traces live in the helper groups (one integer per pre and per post neuron), decay
at the start of every step and are set to ``A`` by each spike (one-to-one relay synapses from
the user's groups) before the weight terms (so each term sees this step's spikes on both sides,
as SPAIC's learner does). A term clamps the synapse it changes. Halving is a row event: after
the target's reset (where its threshold is this step's), only the rows over ``max_threshold``
are passed over, halved and clamped, and, on the first step of each ``run()`` call, every row
is clamped once (weights set from outside).
"""
import dataclasses
import math
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import reference
from ..parameters import choice, identifier, integer, parameter
from ..rendering import attachment_of
from ..run_state import FIRST_STEP_OF_CALL, RUN_STATE_NAMES
from ..schedule import Order
from .base import RuleTemplates, STDPRule

if TYPE_CHECKING:
    from brian2 import TimedArray

__all__ = ["PostPreIntSTDP", "draws_table"]

INT32_MAX = 2 ** 31 - 1

non_negative_int32 = integer(f"an integer in [0, {INT32_MAX}]", lambda v: 0 <= v <= INT32_MAX,
                             low=0, high=INT32_MAX)
any_int32 = integer(f"an integer in [{-INT32_MAX}, {INT32_MAX}]",
                    lambda v: -INT32_MAX <= v <= INT32_MAX, low=-INT32_MAX, high=INT32_MAX)
shift_amount = integer("an integer in [0, 30] (2**shift must fit int32)", lambda v: 0 <= v <= 30,
                       low=0, high=30)

# The uniform integer of each stochastic rounding, from Brian's RNG (seeded by ``seed()``).
BRIAN_DRAW = "int(rand() * round_unit)"

# SR(x) = (x >> shift) + [R < (x & (2**shift - 1))], as floor division and modulo
# (``round_unit`` and the other derived constants: PostPreIntSTDP.namespace).
_ROUNDED = "(({x}) // round_unit + int({draw} < ({x}) % round_unit))"

# A term changes only the synapses its spike reaches, so the clamp is applied there at once.
# SPAIC clamps after both terms and the halving, so the unclamped sum is kept in ``w_raw`` for
# the second term and the halving pass of the same step (``changed_step``, one past the step of
# the last term so that the initial 0 means "never", says it is fresh).
CHANGED_THIS_STEP = "int(changed_step == timestep(t, dt) + 1)"
_TERM = f"""
changed_now = {CHANGED_THIS_STEP}
w_raw = changed_now * w_raw + (1 - changed_now) * w + int(plastic) * {{sign}}""" + _ROUNDED + """
w = w_raw + int(plastic) * (clip(w_raw, w_min, w_max) - w_raw)
changed_step = timestep(t, dt) + 1
"""
_PRE_TERM = _TERM.replace("{sign}", "pre_term_sign * ")
_POST_TERM = _TERM.replace("{sign}", "")


# Decay first, then the spike pathways set the traces (SPAIC: decay, then masked_fill).
TRACE_DECAY = [
    ("post", "output_trace = (trace_decay * output_trace) // trace_unit"),
    ("pre", "input_trace = (trace_decay * input_trace) // trace_unit"),
]


@dataclasses.dataclass(frozen=True)
class PostPreIntSTDP(STDPRule):
    """SPAIC's ``PostPreIntSTDP`` (registered there as ``'postpreintstdp'``), bit-exact.

    Needs a target group with an adaptive threshold variable (``thresh_variable``), such as
    :func:`brian_stdp.neurons.diehl_cook_int`. ``pre_term='add'`` follows SPAIC's executed code
    (the pre-synaptic term is added; the subtracting line is commented out there);
    ``pre_term='subtract'`` is the variant SPAIC's docstring describes ("pre-synaptic update is
    negative"), with which pre-before-post pairs also depress. ``halving='floor'`` halves as
    integers (``w // 2``); ``'float'`` keeps fractions as SPAIC did on old PyTorch, whose float
    ``>>`` divided (the only way to reproduce SPAIC's runs once a row has been halved).
    """
    trace_decay: int = parameter(31169, "trace decay per step, times 2**-shift_spike_trace "
                                        "(31169 / 2**15 = exp(-1/20))", non_negative_int32)
    shift_spike_trace: int = parameter(15, "the traces' fixed-point shift", shift_amount)
    trace_scale: int = parameter(127, "trace value on a spike (1 if shift_spike_trace is 0)",
                                 non_negative_int32)
    max_threshold: int = parameter(4915, "rows of post neurons whose threshold exceeds this "
                                         "are halved every step", any_int32)
    shift: int = parameter(14, "stochastic rounding divides by 2**shift", shift_amount)
    nu0: int = parameter(14, "pre-synaptic term: SR(post trace * nu0) on a pre spike",
                         any_int32)
    nu1: int = parameter(141, "post-synaptic term: SR(pre trace * nu1) on a post spike",
                         any_int32)
    w_min: int = parameter(0, "lower weight bound", any_int32)
    w_max: int = parameter(109, "upper weight bound", any_int32)
    thresh_variable: str = parameter("thresh", "the target group's adaptive threshold variable",
                                     identifier("a Brian2 variable name"))
    pre_term: str = parameter("add", "'add': SPAIC's executed code; 'subtract': its docstring",
                              choice("add", "subtract"))
    halving: str = parameter("floor", "'floor': integer halving (w // 2, int32 weights); "
                                      "'float': SPAIC 0.6.3 on old PyTorch (w / 2, float weights)",
                             choice("floor", "float"))

    name: ClassVar[str] = "PostPreIntSTDP"
    time_constants: ClassVar[dict] = {"tau_trace": "trace_decay"}
    short_name: ClassVar[str] = "int"
    spaic_reference: ClassVar[bool] = True
    reference_excludes: ClassVar[tuple] = ("spike_trace_value", "trace_unit", "round_unit")
    integer: ClassVar[bool] = True
    pre_model: ClassVar[str] = "input_trace : integer   # the pre neuron's trace\n"
    post_model: ClassVar[str] = ("output_trace : integer  # the post neuron's trace\n"
                                 "halve_row : integer     # 1 if the row is halved this step\n")
    # Both traces are set (once per spike, in the helper groups) before either weight term is
    # taken, so a pre and a post spike in the same step see each other (SPAIC sets both traces
    # before both terms).
    neuron_pathways: ClassVar[dict] = {
        "pre": ("input_trace = spike_trace_value", 0, Order.SET_PRE_TRACE_INT),
        "post": ("output_trace = spike_trace_value", 0, Order.SET_POST_TRACE_INT)}
    # SPAIC resets both traces at every run start; the weights carry over.
    pre_reset_code: ClassVar[str] = "input_trace = 0\n"
    post_reset_code: ClassVar[str] = "output_trace = 0\n"

    # ---- parameters ----------------------------------------------------------------------
    # The decay is an integer factor over 2**shift_spike_trace: a time constant, or another
    # dt, gives the nearest such integer (31169 at 1 ms is 19.99 ms; 0.5 ms makes it 31959).
    @classmethod
    def decay_of_time_constant(cls, decay, steps, given):
        shift = given.get("shift_spike_trace", cls.shift_spike_trace)
        return round(2 ** shift * math.exp(-steps))

    def convert_decay(self, decay, ratio):
        unit = 2 ** self.shift_spike_trace
        return round(unit * (self.trace_decay / unit) ** ratio)

    def decay_per_step(self, decay):
        return self.trace_decay / 2 ** self.shift_spike_trace

    def reference_weights(self, w_start, in_spk, out_spk, **kwargs):
        """:meth:`STDPRule.reference_weights`, halving as ``halving`` says (``kwargs``:
        ``thresh`` and ``draws``)."""
        return super().reference_weights(w_start, in_spk, out_spk,
                                         float_shift=self.halving == "float", **kwargs)

    @property
    def spike_trace_value(self):
        # SPAIC: ``trace_scale if shift_spike_trace > 0 else 1``
        return self.trace_scale if self.shift_spike_trace > 0 else 1

    def check(self):
        own = self.state_names()
        if self.thresh_variable in own:
            raise ValueError(f"thresh_variable must name the target's threshold, not one of "
                             f"the rule's own variables ({', '.join(sorted(own))}), got "
                             f"{self.thresh_variable!r}")
        # Equal bounds would freeze every weight: a mistake, refused as Meta refuses it.
        if not self.w_min < self.w_max:
            raise ValueError(f"w_min must be below w_max (w_min < w_max), got "
                             f"w_min={self.w_min}, w_max={self.w_max}")
        if self.trace_decay > 2 ** self.shift_spike_trace:
            raise ValueError(f"trace_decay must be in [0, 2**shift_spike_trace = "
                             f"{2 ** self.shift_spike_trace}] (a decay factor <= 1; a growing "
                             f"trace overflows int32), got {self.trace_decay}")
        top = self.spike_trace_value
        if self.trace_decay * top > INT32_MAX:
            raise ValueError(f"trace_decay * trace_scale = {self.trace_decay * top} overflows "
                             f"int32: trace_decay must be in [0, {INT32_MAX // max(top, 1)}] "
                             f"for trace_scale={self.trace_scale}")
        for nu in ("nu0", "nu1"):
            if abs(getattr(self, nu)) * top > INT32_MAX:
                raise ValueError(f"{nu} * trace_scale overflows int32: {nu} must be in "
                                 f"[{-(INT32_MAX // max(top, 1))}, {INT32_MAX // max(top, 1)}] "
                                 f"for trace_scale={self.trace_scale}")
        terms = self.max_term("nu0") + self.max_term("nu1")
        if terms > INT32_MAX:
            # No weight bound could help: name what makes the terms too large.
            raise ValueError(f"nu0, nu1 and shift: the two weight terms can reach "
                             f"{terms} > {INT32_MAX} (int32); |nu0| + |nu1| must be at most "
                             f"about {INT32_MAX} * 2**shift / trace_scale (shift={self.shift}, "
                             f"trace_scale={self.trace_scale})")
        worst = max(abs(self.w_min), abs(self.w_max)) + terms
        if worst > INT32_MAX:
            raise ValueError(f"w_min/w_max too large: |w| plus both weight terms can reach "
                             f"{worst} > {INT32_MAX} (int32); keep max(|w_min|, |w_max|) <= "
                             f"{INT32_MAX - self.max_term('nu0') - self.max_term('nu1')}")

    def max_term(self, nu):
        """The largest magnitude one weight term can have (``nu`` is ``'nu0'`` or ``'nu1'``)."""
        return abs(getattr(self, nu)) * self.spike_trace_value // 2 ** self.shift + 1

    def namespace(self, dt=None):
        """The numeric constants the templates refer to (the decay at ``dt``, as for every
        rule), with the derived integer constants."""
        ns = {name: value for name, value in super().namespace(dt).items()
              if not isinstance(value, str)}
        ns.update(spike_trace_value=self.spike_trace_value,
                  trace_unit=2 ** self.shift_spike_trace, round_unit=2 ** self.shift,
                  pre_term_sign=1 if self.pre_term == "add" else -1)
        return ns

    # ---- templates -----------------------------------------------------------------------
    def pathways(self, draw_pre=BRIAN_DRAW, draw_post=BRIAN_DRAW):
        """``(on_pre, on_post)`` with the uniform integers taken from ``draw_pre`` /
        ``draw_post`` (Brian2 expressions with values in ``[0, 2**shift)``)."""
        on_pre = {"pre": _PRE_TERM.format(x="output_trace * nu0", draw=draw_pre)}
        on_post = {"post": _POST_TERM.format(x="input_trace * nu1", draw=draw_post)}
        return on_pre, on_post

    @property
    def on_pre(self):
        return self.pathways()[0]

    @property
    def on_post(self):
        return self.pathways()[1]

    @property
    def model(self):
        # Old PyTorch ran ``weight >>= mask`` on float weights as a division: fractions stay.
        kind = "integer" if self.halving == "floor" else "1"
        return (f"w : {kind}  # the weight\n"
                f"w_raw : {kind}  # w after this step's terms, before the clamp\n"
                "changed_step : integer  # 1 + the step of the last term (0: never)\n")

    @property
    def row_pass(self):
        """The rows over ``max_threshold`` are halved and clamped (and every row is clamped on
        the first step of a ``run()`` call, after which alone weights can have been set from
        outside; elsewhere they are in range), by a pass over those rows' synapses only."""
        # Halve, THEN clamp: SPAIC's order (clamping first would let a halved row end lower).
        fresh = CHANGED_THIS_STEP
        current = f"({fresh} * w_raw + (1 - {fresh}) * w)"
        # w - w/2 is exactly w/2 in floating point; written so no target divides by an array
        halved = (f"{current} // (1 + halve_row)" if self.halving == "floor"
                  else f"{current} - 0.5 * {current} * halve_row")
        return {"when": "after_resets",
                "condition": f"plastic and (target_threshold > max_threshold or "
                             f"{FIRST_STEP_OF_CALL} == 1)",
                "row_code": "halve_row = int(target_threshold > max_threshold)",
                "code": f"w = clip({halved}, w_min, w_max)"}

    @property
    def step_operations(self):
        return TRACE_DECAY

    def state_names(self):
        """The names of the rule's own variables (synapses, rows, columns, run state)."""
        from brian2 import Equations
        return ({"target_threshold"} | set(RUN_STATE_NAMES)
                | set().union(*(Equations(m).names
                                for m in (self.model, self.post_model, self.pre_model))))

    def after_attach(self, attachment):
        # The rows' condition reads the target's threshold under a fixed name; a threshold
        # written as a subexpression is evaluated there with the target's own constants.
        post_state, target = attachment.post_state, attachment.synapses.target
        for name, value in _threshold_constants(target, self.thresh_variable).items():
            if name in post_state.namespace and post_state.namespace[name] is not value:
                raise ValueError(
                    f"the target's threshold {self.thresh_variable!r} uses the constant "
                    f"{name!r}, which the synapses' namespace also defines; rename one of them")
            post_state.namespace[name] = value
        post_state.variables.add_reference("target_threshold", target, self.thresh_variable)

    # ---- Brian2 --------------------------------------------------------------------------
    def check_target(self, target):
        from brian2.groups.subgroup import Subgroup
        from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit
        if isinstance(target, Subgroup):
            # A subgroup hands its threshold out as the whole group's array.
            raise ValueError(f"{self.name} reads the target's threshold "
                             f"{self.thresh_variable!r}, which the subgroup {target.name!r} of "
                             f"{target.source.name!r} cannot give per neuron of the subgroup: "
                             "use a NeuronGroup of its own as the target")
        if self.thresh_variable not in getattr(target, "variables", {}):
            raise TypeError(f"PostPreIntSTDP reads the target's adaptive threshold "
                            f"{self.thresh_variable!r} (thresh_variable), but "
                            f"{getattr(target, 'name', target)!r} has no variable "
                            f"{self.thresh_variable!r}: give the target one (e.g. "
                            "brian_stdp.neurons.diehl_cook_int) or set thresh_variable")
        variable = target.variables[self.thresh_variable]
        constants = set(self.namespace())
        for name in sorted(_external_names(target, self.thresh_variable)):
            if name in constants:
                raise ValueError(
                    f"the target's threshold {self.thresh_variable!r} is a subexpression using "
                    f"{name!r}, which is also a constant of PostPreIntSTDP: the rule would read "
                    f"the threshold with its own {name}; rename it in {target.name!r}")
        # A boolean would compare as 0/1 against max_threshold: never halving, silently.
        if variable.dim is not DIMENSIONLESS or variable.dtype == bool:
            kind = "boolean" if variable.dtype == bool else f"in {get_unit(variable.dim)}"
            raise TypeError(f"PostPreIntSTDP compares the target's {self.thresh_variable!r} "
                            f"(thresh_variable) with the integer max_threshold, but it is "
                            f"{kind}: it must be a dimensionless number (integer or float)")

    def templates_for(self, options):
        """``draws=`` (a ``TimedArray`` from :func:`draws_table`) replaces Brian's RNG as the
        source of the rounding's uniform integers."""
        draws = options.pop("draws", None)
        templates = super().templates_for(options)
        return templates if draws is None else _WithDraws(templates, draws)

    @staticmethod
    def set_weights(synapses, weights):
        """Set the weights from SPAIC's ``[post, pre]`` matrix (whole numbers, unless the rule
        uses ``halving='float'``)."""
        weights = np.asarray(weights, dtype=float)
        integral = np.issubdtype(synapses.variables["w"].dtype, np.integer)
        if not np.all(np.isfinite(weights)) or (integral and np.any(weights != np.round(weights))):
            raise ValueError("PostPreIntSTDP weights must be whole numbers (w is an integer)")
        rule = attachment_of(synapses).rule
        # Outside [w_min, w_max] the int32 bound checked at construction would not hold.
        if np.any(weights < rule.w_min) or np.any(weights > rule.w_max):
            raise ValueError(f"PostPreIntSTDP weights must lie in [w_min, w_max] = "
                             f"[{rule.w_min}, {rule.w_max}]; build_weights clamps as SPAIC's "
                             "build pass does")
        STDPRule.set_weights(synapses, weights)

    def build_weights(self, w_init):
        """SPAIC's build pass: clamped to ``[w_min, w_max]``."""
        return reference.postpre_int_build(w_init, self.w_min, self.w_max)


def _external_names(group, name):
    """The names a subexpression ``name`` of ``group`` takes from outside the group (constants
    and functions), through its nested subexpressions too; none for a stored variable."""
    from brian2.core.variables import Subexpression
    variable = group.variables[name]
    if not isinstance(variable, Subexpression):
        return set()
    names = set()
    for used in variable.identifiers:
        if used in group.variables:
            names |= _external_names(group, used)
        else:
            names.add(used)
    return names


def _threshold_constants(group, name):
    """The constants of ``group``'s own namespace that its threshold ``name`` uses."""
    namespace = getattr(group, "namespace", None) or {}
    return {used: namespace[used] for used in _external_names(group, name) if used in namespace}


class _WithDraws(RuleTemplates):
    """The rule with its uniform integers read from a table instead of Brian's RNG."""

    def __init__(self, rule, table):
        from brian2 import TimedArray
        if not isinstance(table, TimedArray):
            raise TypeError(f"draws must be a TimedArray (see draws_table), got {table!r}")
        super().__init__(rule)
        self._table = table

    def _pathways(self):
        name = self._table.name
        return self._rule.pathways(draw_pre=f"int({name}(t, i + N_pre * j))",
                                   draw_post=f"int({name}(t, N_pre * N_post + i + N_pre * j))")

    @property
    def on_pre(self):
        return self._pathways()[0]

    @property
    def on_post(self):
        return self._pathways()[1]

    def namespace(self, dt=None):
        ns = self._rule.namespace(dt)
        ns[self._table.name] = self._table
        return ns


_draws_counter = [0]


def draws_table(draws: np.ndarray, dt=None) -> "TimedArray":
    """A ``TimedArray`` of recorded uniform integers for ``rule.synapses(..., draws=...)``.

    ``draws`` is ``[steps, 2, post, pre]`` (or SPAIC's ``[runs, steps, 2, post, pre]``): at
    step ``k``, ``draws[k, 0]`` rounds the pre-synaptic term and ``draws[k, 1]`` the
    post-synaptic term, as in the golden recordings' ``rand_draws``.
    """
    from brian2 import TimedArray, defaultclock
    draws = np.asarray(draws)
    if draws.ndim == 5:
        draws = draws.reshape(-1, *draws.shape[2:])
    if draws.ndim != 4 or draws.shape[1] != 2:
        raise ValueError(f"draws must have shape [steps, 2, post, pre], got {draws.shape}")
    if np.any(draws < 0) or np.any(draws != np.round(draws)) or np.any(draws > INT32_MAX):
        raise ValueError("draws must be non-negative integers (uniform on [0, 2**shift))")
    _draws_counter[0] += 1
    return TimedArray(draws.reshape(draws.shape[0], -1).astype(float),
                      dt=dt if dt is not None else defaultclock.dt,
                      name=f"brian_stdp_draws_{_draws_counter[0]}")
