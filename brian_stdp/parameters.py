"""Frozen, validated parameter records.

A rule's parameters are the fields of a frozen dataclass. Each field is declared with
:func:`parameter`, which records its meaning and its constraint; the constraint is checked when
the rule is constructed, so a bad value never reaches Brian2.
"""
import dataclasses
import math
import numbers

__all__ = ["parameter", "Constraint", "real", "integer", "choice", "identifier", "decay_factor",
           "positive", "any_real", "amplitude", "weight_bound", "MAX_AMPLITUDE", "time_step",
           "MAX_TIME_STEP_MS", "time_constant"]


class Constraint:
    """A named check on one parameter value: ``check(value)`` is True when it is allowed.

    ``low``/``high`` (with ``low_open``/``high_open`` for an open end) and ``options`` state
    the same range as data, for documentation and for generating test values; ``check``
    remains what decides.
    """

    def __init__(self, description, check, kind="real", low=None, high=None, low_open=False,
                 high_open=False, options=None, units_required=False):
        self.description = description
        self.check = check
        self.kind = kind
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open
        self.options = options
        self.units_required = units_required

    def validate(self, name, value):
        if self.kind == "string":
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string ({self.description}), got {value!r}")
            if not self.check(value):
                raise ValueError(f"{name} must be {self.description}, got {value!r}")
            return value
        if self.kind == "time":
            value = self._milliseconds(name, value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            if hasattr(value, "dim"):
                raise TypeError(f"{name} must be a plain number without units "
                                f"({self.description}), got {value!r}")
            raise TypeError(f"{name} must be a number ({self.description}), got {value!r}")
        try:
            number = float(value)
        except OverflowError:
            # An int beyond float range: out of every range declared here, not a wrong type.
            number = math.inf if value > 0 else -math.inf
        # NaN and inf are out of range (ValueError) even for an integer parameter: they are
        # numbers, and the range is what the message can tell the user to fix.
        if not math.isfinite(number):
            raise ValueError(f"{name} must be {self.description}, got {value!r}")
        if self.kind == "integer" and not number.is_integer():
            raise TypeError(f"{name} must be an integer ({self.description}), got {value!r}")
        # Integers are checked exactly: float() would round 2**31 - 1 + 1 and its neighbours.
        if not self.check(int(value) if self.kind == "integer" else number):
            raise ValueError(f"{name} must be {self.description}, got {value!r}")
        if self.kind == "time":
            # 12 significant digits: 0.5*ms / ms is 0.5 and not a neighbour of it.
            return float(f"{number:.12g}")
        return int(value) if self.kind == "integer" else number

    def _milliseconds(self, name, value):
        """A Brian2 time as a number of ms; a plain number is ms already where units are not
        required (the form a JSON template holds)."""
        if hasattr(value, "dim"):
            from brian2 import ms, second
            if value.dim != second.dim or getattr(value, "shape", ()) != ():
                raise TypeError(f"{name} must be a single time ({self.description}), "
                                f"got {value!r}")
            return float(value / ms)
        if self.units_required:
            raise TypeError(f"{name} must be a time with units ({self.description}), "
                            f"got {value!r}")
        return value


def real(description, check, **bounds):
    return Constraint(description, check, **bounds)


def integer(description, check, **bounds):
    return Constraint(description, check, kind="integer", **bounds)


def choice(*options):
    """A string among ``options`` (non-numeric switches, kept as plain data for JSON)."""
    return Constraint("one of " + ", ".join(repr(o) for o in options),
                      lambda v: v in options, kind="string", options=options)


def identifier(description):
    """A string that is a valid Brian2 variable name (e.g. the name of a target's variable)."""
    return Constraint(description, lambda v: v.isidentifier() and not v.startswith("_"),
                      kind="string")


#: The largest magnitude of ``Apost`` or ``Apre``. Near float's limit, ``Apost - Apre`` (or a
#: weight plus it) overflows to inf and a row normalisation turns that into NaN; a change per
#: spike pair of 1 already takes a weight across [0, 1] in one step, so 1e6 refuses nothing
#: meaningful.
MAX_AMPLITUDE = 1e6

any_real = real("a finite real number", lambda v: True)
amplitude = real("a real number in [-1e6, 1e6]",
                 lambda v: abs(v) <= MAX_AMPLITUDE, low=-MAX_AMPLITUDE, high=MAX_AMPLITUDE)
#: Meta's soft weight bounds: sums of weights near float's limit overflow (SPAIC: 0 and 1).
weight_bound = amplitude
positive = real("a finite number > 0", lambda v: v > 0, low=0.0, low_open=True)
decay_factor = real("a per-step decay factor in (0, 1]", lambda v: 0 < v <= 1, low=0.0,
                    high=1.0, low_open=True)


#: The longest time step a rule accepts, in ms: a second per step is no longer a spiking
#: network, and a bound keeps the conversions between time steps finite.
MAX_TIME_STEP_MS = 1000.0
time_step = Constraint(f"a time step in (0, {MAX_TIME_STEP_MS:g}] ms, as a time (0.5*ms) or a "
                       "number of ms", lambda v: 0 < v <= MAX_TIME_STEP_MS, kind="time",
                       low=0.0, high=MAX_TIME_STEP_MS, low_open=True)
time_constant = Constraint("a time > 0, e.g. 20*ms", lambda v: v > 0,
                           kind="time", low=0.0, low_open=True, units_required=True)


def parameter(default, doc, constraint, keyword_only=False):
    """Declare a rule parameter: its default, its meaning and its allowed values."""
    return dataclasses.field(default=default, kw_only=keyword_only,
                             metadata={"doc": doc, "constraint": constraint})


def constraints(record) -> dict:
    """``{name: Constraint}`` of every constrained field of a dataclass (class or instance)."""
    return {f.name: f.metadata["constraint"] for f in dataclasses.fields(record)
            if f.metadata.get("constraint") is not None}


def validate_fields(record):
    """Check and normalise (to float or int) every field of a frozen dataclass instance."""
    for field in dataclasses.fields(record):
        constraint = field.metadata.get("constraint")
        if constraint is None:
            continue
        value = constraint.validate(field.name, getattr(record, field.name))
        object.__setattr__(record, field.name, value)


def describe(record_class):
    """``[(name, default, doc, allowed)]`` for every parameter of a rule class."""
    return [(f.name, f.default, f.metadata["doc"], f.metadata["constraint"].description)
            for f in dataclasses.fields(record_class) if "constraint" in f.metadata]
