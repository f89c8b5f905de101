"""Frozen, validated parameter records.

A rule's parameters are the fields of a frozen dataclass. Each field is declared with
:func:`parameter`, which records its meaning and its constraint; the constraint is checked when
the rule is constructed, so a bad value never reaches Brian2.
"""
import dataclasses
import math
import numbers

__all__ = ["parameter", "Constraint", "real", "integer", "choice", "identifier", "decay_factor",
           "positive", "any_real", "amplitude", "weight_bound", "MAX_AMPLITUDE"]


class Constraint:
    """A named check on one parameter value: ``check(value)`` is True when it is allowed.

    ``low``/``high`` (with ``low_open``/``high_open`` for an open end) and ``options`` state
    the same range as data, for documentation and for generating test values; ``check``
    remains what decides.
    """

    def __init__(self, description, check, kind="real", low=None, high=None, low_open=False,
                 high_open=False, options=None):
        self.description = description
        self.check = check
        self.kind = kind
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open
        self.options = options

    def validate(self, name, value):
        if self.kind == "string":
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string ({self.description}), got {value!r}")
            if not self.check(value):
                raise ValueError(f"{name} must be {self.description}, got {value!r}")
            return value
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
        return int(value) if self.kind == "integer" else number


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


def parameter(default, doc, constraint):
    """Declare a rule parameter: its default, its meaning and its allowed values."""
    return dataclasses.field(default=default, metadata={"doc": doc, "constraint": constraint})


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
