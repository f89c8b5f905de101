"""The shared base of every rule: parameters, templates, and what a user does with them.

A rule is a frozen dataclass whose fields are its parameters (SPAIC's keyword names and
defaults, validated at construction) and whose class attributes are its Brian2 templates. The
subclasses (one module per rule) hold only the rule's maths; :mod:`brian_stdp.rendering` turns any
of them into Brian2 objects. Defining a subclass with a ``name`` registers it: :data:`RULES` is
the one registry from which a rule's SPAIC name, class and short name (the CLI's ``--rule`` and
:func:`brian_stdp.reference.simulate`'s key) are all read.
"""
import dataclasses
import json
import math
from typing import TYPE_CHECKING, Any, ClassVar, Optional, Union

if TYPE_CHECKING:
    from brian2 import Quantity, Synapses
    from brian2.groups.group import Group

    from ..rendering import Attachment

import numpy as np

from .. import rendering
from ..parameters import (constraints, describe, parameter, time_constant, time_step,
                          validate_fields)

__all__ = ["STDPRule", "RuleTemplates", "RULES", "SHORT_NAMES", "ROW_SCALINGS", "load_rule",
           "rule_class", "rules_with_lazy_rows", "with_dt"]

#: How a rule's row normalisation is rendered (``rule.synapses(..., row_scaling=...)``).
ROW_SCALINGS = ("eager", "lazy")

#: Every rule class by its SPAIC name, filled in as the rule modules are imported.
RULES: dict = {}
#: SPAIC name by short name.
SHORT_NAMES: dict = {}

#: SPAIC's time step: its per-step numbers (``exp(-1/20)``: 20 ms) hold at 1 ms.
SPAIC_DT_MS = 1.0


def with_dt(data: dict) -> dict:
    """A rule's plain data (:meth:`STDPRule.to_dict`) with its ``dt``: data written before
    rules recorded it held SPAIC's 1 ms, as :meth:`STDPRule.from_dict` reads it. For comparing
    recorded rules (checkpoints, results files) with this version's."""
    if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
        return {**data, "parameters": {"dt": SPAIC_DT_MS, **data["parameters"]}}
    return data


class _RuleType(type):
    """A rule's constructor also takes its decays as time constants (``tau_pre=20*ms``) and
    ``dt`` as a time: both become the record's plain per-step numbers before the dataclass
    is built, so the record stays plain data (JSON) whichever form was given."""

    def __call__(cls, *args, **kwargs):
        return super().__call__(*args, **cls._per_step_keywords(args, kwargs))


@dataclasses.dataclass(frozen=True)
class STDPRule(metaclass=_RuleType):
    """Base class: a SPAIC STDP rule rendered as Brian2 code.

    Class attributes naming the rule: ``name`` (SPAIC's), ``short_name`` (the CLI's and the
    reference's key), ``integer`` (True for a rule of integer weights, run with SPAIC's integer
    neuron, :mod:`brian_stdp.neurons`).

    Class attributes a rule defines (its templates, all Brian2 code strings):

    ``model``
        per-synapse equations; ``w`` is the weight, ``plastic`` the learning switch.
    ``on_pre``, ``on_post``
        pathway code (a string, or a dict of pathway name to code).
    ``post_model`` / ``pre_model``
        per-post-neuron (row) and per-pre-neuron (column) helper state, visible in the
        synapse code under the same names.
    ``summed``
        ``{row variable: synaptic expression}``: sums over each post neuron's synapses, taken at
        the start of every step.
    ``population_summed``
        ``{name: row expression}``: sums over all the rows of this synapse object, taken at the
        start of every step after ``summed``; the post operations see them under ``name``.
    ``step_operations``
        ``[(group, code)]`` run at the start of every step, ``group`` being ``"post"``, ``"pre"``
        or ``"synapses"`` (in the order summed, post, pre, synapses).
        ``(group, code, when)`` runs it in the scheduling slot ``when`` instead of ``"start"``,
        ``(group, code, when, order)`` at that order inside the slot. The pre group's code sees
        the shared run state (``plastic``, ``period_steps``, ...) under its own names.
    ``pathway_orders``
        ``{pathway name: order}``: the order of those pathways inside the 'synapses' slot
        (Brian's defaults: -1 for ``on_pre`` pathways, +1 for ``on_post``).
    ``summed_when``
        the scheduling slot of the summed row expressions (default ``"start"``).
    ``summed_every_step``
        ``False`` when the rule keeps its row sums up to date itself: they are then summed
        once before each run only (counting weights set from outside).
    ``pathway_delay_steps``
        ``{pathway name: steps}``: fixed delays of the rule's own pathways, in time steps.
    ``neuron_pathways``
        ``{"pre" | "post": (code, delay in steps, order)}``: code run on the pre_state /
        post_state neuron of each source / target spike (delayed, at that order in the
        'synapses' slot): per-neuron state such as traces, updated once per spike instead of
        once per synapse.
    ``row_pass``
        ``{"condition": row expression, "row_code": row code, "code": synapse code,
        "when": slot}``: on the steps and rows where the condition holds, the row code runs on
        those rows and then the synapse code on their synapses only (default slot
        ``"after_synapses"``). The way to act on whole rows without a pass over every synapse.
        An optional ``"first_pass"``, a dict with its own ``"condition"``, ``"row_code"`` and
        ``"code"``, is a pass of its own run before it in the same slot (a pass visits each
        synapse once, so a row's sum that the row pass divides by is taken by a first pass).
    ``reset_code`` / ``post_reset_code`` / ``pre_reset_code``
        assignments that clear the per-run state of the synapses / of the rows / of the
        columns (the ``pre_model`` state).
    ``time_constants``
        ``{keyword: decay parameter}``: the constructor keywords that give a per-step decay
        factor as a time constant (``tau_pre=20*ms`` for ``trace_pre``), see :attr:`dt`.
    ``default_row_scaling``
        what :meth:`synapses` renders without a ``row_scaling`` keyword: ``"eager"`` (every
        row rescaled every step); nearest_online's and Meta_nearest_online's are ``"lazy"``.
    ``LAZY_ROWS``
        the templates of ``row_scaling="lazy"`` (a class taking the rule), for a rule that
        keeps each row's scale as a factor apart from the weights; None otherwise.
    ``spaic_reference`` / ``reference_excludes``
        SPAIC's four rules only: :meth:`reference_weights` is
        :func:`brian_stdp.reference.simulate` given the namespace without these names. A new
        rule defines :meth:`reference_weights` instead.

    Time: the decay parameters are per-step factors, as SPAIC states them, holding at the
    time step ``dt`` (ms; SPAIC's 1 ms by default). A network running at another dt gets the
    factors of the same time constants (:meth:`at_dt`): ``exp(-1/20)`` at 1 ms is
    ``exp(-0.5/20)`` at 0.5 ms. For SPAIC's numbers per step at another dt, say so:
    ``NearestOnlineSTDP(dt=0.5*ms)`` holds SPAIC's factors at 0.5 ms.
    """
    dt: float = parameter(SPAIC_DT_MS, "the time step (ms) at which the per-step decay factors "
                                       "hold; a network at another dt gets the factors of the "
                                       "same time constants", time_step, keyword_only=True)
    name: ClassVar[str] = ""
    short_name: ClassVar[str] = ""
    integer: ClassVar[bool] = False
    model: ClassVar[str] = ""
    on_pre: ClassVar = ""
    on_post: ClassVar = ""
    post_model: ClassVar[str] = ""
    pre_model: ClassVar[str] = ""
    summed: ClassVar[dict] = {}
    population_summed: ClassVar[dict] = {}
    step_operations: ClassVar[list] = []
    pathway_orders: ClassVar[dict] = {}
    summed_when: ClassVar[str] = "start"
    summed_every_step: ClassVar[bool] = True
    pathway_delay_steps: ClassVar[dict] = {}
    neuron_pathways: ClassVar[dict] = {}
    row_pass: ClassVar[dict] = {}
    reset_code: ClassVar[str] = ""
    post_reset_code: ClassVar[str] = ""
    pre_reset_code: ClassVar[str] = ""
    time_constants: ClassVar[dict] = {}
    default_row_scaling: ClassVar[str] = "eager"
    # the templates row_scaling="lazy" renders (None: the rule has no lazy rendering)
    LAZY_ROWS: ClassVar[Optional[type]] = None
    # SPAIC's four rules: reference_weights is brian_stdp.reference.simulate, given the
    # namespace without the derived constants it computes itself.
    spaic_reference: ClassVar[bool] = False
    reference_excludes: ClassVar[tuple] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.name:
            return
        if not cls.short_name:
            raise TypeError(f"{cls.__name__} names itself {cls.name!r} but has no short_name "
                            "(the command line's and the templates' short name)")
        for key, table in ((cls.name, RULES), (cls.short_name, SHORT_NAMES)):
            known = table.get(key)
            known = RULES[known] if table is SHORT_NAMES and known in RULES else known
            # the same class defined again (a script run twice in one process) replaces itself
            if known is not None and (known.__module__, known.__qualname__) != (
                    cls.__module__, cls.__qualname__):
                raise TypeError(f"a rule named {key!r} exists already ({known.__module__}."
                                f"{known.__qualname__}): give {cls.__name__} another name")
        RULES[cls.name] = cls
        SHORT_NAMES[cls.short_name] = cls.name

    def __post_init__(self):
        validate_fields(self)
        self.check()

    # ---- parameters --------------------------------------------------------------------
    def check(self):
        """Constraints between parameters (each parameter alone is checked by its field)."""

    @classmethod
    def parameters(cls) -> list:
        """``[(name, default, meaning, allowed values)]`` of every parameter (``dt`` last, as
        in :meth:`to_dict`)."""
        rows = describe(cls)
        return [row for row in rows if row[0] != "dt"] + [row for row in rows if row[0] == "dt"]

    def namespace(self, dt: Optional["Quantity"] = None) -> dict:
        """The constants the templates refer to, by name: the decay factors for time step
        ``dt`` (default: the rule's own :attr:`dt`, as stated). A ``Synapses`` built by hand
        takes ``namespace=rule.namespace(defaultclock.dt)``."""
        rule = self if dt is None else self.at_dt(dt)
        return {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule)
                if f.name != "dt"}

    # ---- time ----------------------------------------------------------------------------
    @classmethod
    def _per_step_keywords(cls, args, kwargs) -> dict:
        """The constructor's keywords with ``dt`` in ms and every time constant turned into
        its per-step factor at that dt; both forms of one decay are refused."""
        kwargs = dict(kwargs)
        if "dt" in kwargs:
            kwargs["dt"] = time_step.validate("dt", kwargs["dt"])
        positional = [f.name for f in dataclasses.fields(cls) if f.init and not f.kw_only]
        given = {**dict(zip(positional, args)), **kwargs}
        for keyword, decay in cls.time_constants.items():
            if keyword not in kwargs:
                continue
            tau = time_constant.validate(keyword, kwargs.pop(keyword))
            if decay in given:
                raise ValueError(f"give {decay} (a per-step factor) or {keyword} (a time "
                                 f"constant), not both")
            steps = kwargs.get("dt", SPAIC_DT_MS) / tau
            factor = cls.decay_of_time_constant(decay, steps, given)
            if factor <= 0:
                raise ValueError(f"{keyword} = {tau:g} ms is too short for dt = "
                                 f"{kwargs.get('dt', SPAIC_DT_MS):g} ms: {decay} = "
                                 f"exp(-dt/{keyword}) comes out 0")
            kwargs[decay] = given[decay] = factor
        return kwargs

    @classmethod
    def decay_of_time_constant(cls, decay: str, steps: float, given: dict) -> float:
        """The per-step factor of the decay parameter ``decay`` whose time constant is
        ``1/steps`` time steps (``given``: the other constructor arguments)."""
        return math.exp(-steps)

    def convert_decay(self, decay: str, ratio: float) -> float:
        """The factor of the decay parameter ``decay`` over ``ratio`` of this rule's steps."""
        return getattr(self, decay) ** ratio

    def at_dt(self, dt: Union["Quantity", float]) -> "STDPRule":
        """This rule for time step ``dt`` (a time, or a number of ms): the decay factors of the
        same time constants (this rule itself when ``dt`` is its own)."""
        dt = time_step.validate("dt", dt)
        ratio = dt / self.dt
        if abs(ratio - 1) <= 1e-9:
            return self
        converted = {decay: self.convert_decay(decay, ratio)
                     for decay in self.time_constants.values()}
        for keyword, decay in self.time_constants.items():
            if not constraints(self)[decay].check(converted[decay]):
                raise ValueError(
                    f"{decay} = {getattr(self, decay)!r} per {self.dt:g} ms step (time constant "
                    f"{keyword} = {self.time_constant(keyword)}) decays to 0 in one step of "
                    f"{dt:g} ms: use a smaller dt or a longer {keyword}")
        return dataclasses.replace(self, dt=dt, **converted)

    def time_constant(self, keyword: str) -> "Quantity":
        """The time constant of a decay (by its keyword, e.g. ``"tau_pre"``), with units
        (``inf`` for a factor of 1, no decay)."""
        from brian2 import ms
        if keyword not in self.time_constants:
            raise ValueError(f"{self.name} has no time constant {keyword!r}; its time "
                             f"constants: {sorted(self.time_constants) or 'none'}")
        factor = self.decay_per_step(self.time_constants[keyword])
        if factor <= 0:
            return 0 * ms
        return (-self.dt / math.log(factor) if factor < 1 else math.inf) * ms

    def decay_per_step(self, decay: str) -> float:
        """The decay parameter ``decay`` as a fraction kept per step."""
        return getattr(self, decay)

    # ---- plain data ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """``{"rule": name, "parameters": {...}}``: plain data (JSON) describing this rule
        (``dt`` last, in ms: the time step its per-step numbers hold at)."""
        parameters = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                      if f.name != "dt"}
        return {"rule": self.name, "parameters": {**parameters, "dt": self.dt}}

    @classmethod
    def from_dict(cls, data: dict) -> "STDPRule":
        """Rebuild a rule from :meth:`to_dict`'s output; unknown keys are refused."""
        if not isinstance(data, dict):
            raise TypeError(f"a rule description must be a dict, got {type(data).__name__}")
        unknown = set(data) - {"rule", "parameters"}
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)} in a rule description; "
                             "allowed: 'rule', 'parameters'")
        if not cls.name and "rule" not in data:
            raise ValueError(f"a rule description needs a 'rule' key naming the rule; known "
                             f"rules: {sorted(RULES)}")
        name = data.get("rule", cls.name)
        target = cls if cls.name else rule_class(name)
        if name != target.name:
            raise ValueError(f"rule is {name!r}, but {target.__name__} is {target.name!r}")
        params = data.get("parameters", {})
        if not isinstance(params, dict):
            raise TypeError("'parameters' must be a dict of parameter name to value")
        allowed = {f.name for f in dataclasses.fields(target)}
        unknown = set(params) - allowed
        if unknown:
            raise ValueError(f"unknown parameter(s) {sorted(unknown)} for {target.name}; "
                             f"allowed: {sorted(allowed)}")
        return target(**params)

    def save(self, path: str) -> None:
        """Write :meth:`to_dict` as JSON."""
        with open(path, "w") as handle:
            json.dump(self.to_dict(), handle, indent=2)
            handle.write("\n")

    # ---- Brian2 --------------------------------------------------------------------------
    def pathway_delays(self, dt: Optional["Quantity"] = None) -> dict:
        """``{pathway: delay}`` for ``Synapses(..., delay=...)`` (at ``dt``, default the
        default clock's)."""
        from brian2 import defaultclock
        dt = defaultclock.dt if dt is None else dt
        return {pathway: steps * dt for pathway, steps in self.pathway_delay_steps.items()}

    def check_target(self, target: "Group") -> None:
        """Refuse a target group lacking what the rule reads from it (nothing, by default)."""

    def after_attach(self, attachment: "Attachment") -> None:
        """Rule-specific set-up once the objects exist (nothing, by default); ``attachment`` is
        the :class:`brian_stdp.rendering.Attachment`."""

    def templates_for(self, options: dict) -> Any:
        """What :meth:`synapses` renders for the keywords ``options``: the rule itself, by
        default. A rule with keywords of its own (PostPreIntSTDP's ``draws``) pops them from
        ``options`` and returns the rule's templates so modified. ``row_scaling="lazy"``
        renders :attr:`LAZY_ROWS` (the rule's rows kept as factors apart from the weights),
        ``"eager"`` the rule itself; a rule without ``LAZY_ROWS`` takes ``"eager"`` only."""
        row_scaling = options.pop("row_scaling", self.default_row_scaling)
        if row_scaling not in ROW_SCALINGS:
            raise ValueError(f"row_scaling must be one of {', '.join(map(repr, ROW_SCALINGS))}, "
                             f"got {row_scaling!r}")
        if row_scaling == "eager":
            return self
        if self.LAZY_ROWS is None:
            lazy = ", ".join(sorted(cls.name for cls in rules_with_lazy_rows()))
            raise ValueError(f"row_scaling={row_scaling!r}: {self.name} rescales no rows lazily "
                             f"(only {lazy} take row_scaling='lazy'); leave it out or give "
                             "'eager'")
        return self.LAZY_ROWS(self)

    def reference_weights(self, w_start: np.ndarray, in_spk: np.ndarray, out_spk: np.ndarray,
                          **kwargs) -> np.ndarray:
        """The rule's NumPy reference: its weights after every step, ``[R, T, post, pre]``,
        for the spikes ``in_spk [R, T, pre]`` and ``out_spk [R, T, post]`` of ``R`` runs of
        ``T`` steps from ``w_start [post, pre]``, in steps at the rule's own factors. The hook
        of a parity test (:func:`brian_stdp.authoring.check_against_reference`): a new rule
        defines it; SPAIC's rules answer with :func:`brian_stdp.reference.simulate`
        (``kwargs``: ``thresh`` and ``draws`` for the integer rule)."""
        if not self.spaic_reference:
            raise NotImplementedError(
                f"{type(self).__name__} has no NumPy reference: define reference_weights(self, "
                "w_start, in_spk, out_spk) returning the weights after every step "
                "[runs, steps, post, pre]")
        from .. import reference
        params = {name: value for name, value in self.namespace().items()
                  if name not in self.reference_excludes}
        weights = reference.simulate(self.short_name, w_start, in_spk, out_spk, params, **kwargs)
        return weights[0] if isinstance(weights, tuple) else weights

    def build_weights(self, w_init: np.ndarray) -> np.ndarray:
        """SPAIC's build pass on the initial ``[post, pre]`` weights."""
        raise NotImplementedError(f"{type(self).__name__} does not define its build pass")

    def synapses(self, source: "Group", target: "Group", model: str = "",
                 on_pre: Union[str, dict] = "", on_post: Union[str, dict] = "",
                 period: Optional["Quantity"] = None, namespace: Optional[dict] = None,
                 **synapses_kwargs) -> "Synapses":
        """A ``brian2.Synapses`` from ``source`` to ``target`` learning with this rule.

        ``model``, ``on_pre`` and ``on_post`` are the user's own code, merged with the rule's
        (the weight is ``w``). ``period`` (a time): treat every ``period`` as one SPAIC run,
        clearing the per-run state at its start (and, for rules that normalise at a run's end,
        normalising on its last step) inside the simulation. Other keywords go to ``Synapses``.
        """
        templates = self.templates_for(synapses_kwargs)
        return rendering.build_synapses(self, source, target, model=model, on_pre=on_pre,
                                        on_post=on_post, namespace=namespace, period=period,
                                        templates=templates, **synapses_kwargs)

    def attach(self, synapses: "Synapses", period: Optional["Quantity"] = None
               ) -> "Attachment":
        """Add this rule's extra operations to a ``Synapses`` built by hand from
        ``rule.model``, ``rule.on_pre``, ``rule.on_post``, ``delay=rule.pathway_delays()`` and
        ``namespace=rule.namespace(defaultclock.dt)`` (refused without the delays, or with
        another dt's decays)."""
        return rendering.attach(self, synapses, period=period)

    def reset(self, synapses: "Synapses") -> None:
        """SPAIC's run boundary: clear the per-run state (call it before each presentation)."""
        rendering.reset(self, synapses)

    @staticmethod
    def get_weights(synapses: "Synapses", fill: float = 0.0) -> np.ndarray:
        """The weights as SPAIC's ``[post, pre]`` matrix (``fill`` where no synapse exists)."""
        weights = np.full((len(synapses.target), len(synapses.source)), fill, dtype=float)
        post, pre = np.asarray(synapses.j[:]), np.asarray(synapses.i[:])
        if len(set(zip(post.tolist(), pre.tolist()))) < len(post):
            raise ValueError(f"{synapses.name!r} has several synapses between some pairs of "
                             "neurons, which one [post, pre] matrix cannot hold: read "
                             "S.w[:] with S.i[:], S.j[:] per synapse instead")
        weights[post, pre] = synapses.w[:]
        return weights

    @staticmethod
    def set_weights(synapses: "Synapses", weights: np.ndarray) -> None:
        """Set the weights from SPAIC's ``[post, pre]`` matrix; works before a standalone run."""
        rendering.set_from_matrix(synapses, "w", weights)


class RuleTemplates:
    """Templates that render a rule another way (what :meth:`STDPRule.templates_for` returns
    for a keyword): the rule's own attributes, but for those a subclass defines."""

    def __init__(self, rule: STDPRule):
        self._rule = rule

    def __getattr__(self, name):
        return getattr(self._rule, name)

    # the delays of these templates' pathways (a rendering may add pathways of its own)
    pathway_delays = STDPRule.pathway_delays


def rules_with_lazy_rows() -> list:
    """The rule classes that take ``row_scaling="lazy"``."""
    return [cls for cls in RULES.values() if cls.LAZY_ROWS is not None]


def rule_class(name: str) -> type:
    """The rule class registered under SPAIC's name ``name`` (or its short name)."""
    if not isinstance(name, str):
        raise TypeError(f"a rule name must be a string, got {name!r}; known rules: "
                        f"{sorted(RULES)}")
    name = SHORT_NAMES.get(name, name)
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r}; known rules: {sorted(RULES)} (short names "
                         f"{sorted(SHORT_NAMES)})")
    return RULES[name]


def load_rule(path: str) -> STDPRule:
    """Read a rule written by :meth:`STDPRule.save` (ValueError naming the file, and the line
    and column of a JSON error)."""
    with open(path) as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON at line {error.lineno}, column "
                             f"{error.colno}: {error.msg}") from None
    if not isinstance(data, dict) or "rule" not in data:
        raise ValueError(f"{path}: not a brian_stdp rule file (needs a 'rule' key)")
    return rule_class(data["rule"]).from_dict(data)
