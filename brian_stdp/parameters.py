"""Frozen, validated parameter records.

A rule's parameters are the fields of a frozen dataclass. Each field is declared with
:func:`parameter`, which records its meaning and its constraint; the constraint is checked when
the rule is constructed, so a bad value never reaches Brian2.
"""
import dataclasses
import math
import numbers

__all__ = ["parameter", "Constraint", "real", "integer", "choice", "identifier", "decay_factor",
           "positive", "any_real"]


class Constraint:
    """A named check on one parameter value: ``check(value)`` is True when it is allowed."""

    def __init__(self, description, check, kind="real"):
        self.description = description
        self.check = check
        self.kind = kind

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


def real(description, check):
    return Constraint(description, check)


def integer(description, check):
    return Constraint(description, check, kind="integer")


def choice(*options):
    """A string among ``options`` (non-numeric switches, kept as plain data for JSON)."""
    return Constraint("one of " + ", ".join(repr(o) for o in options),
                      lambda v: v in options, kind="string")


def identifier(description):
    """A string that is a valid Brian2 variable name (e.g. the name of a target's variable)."""
    return Constraint(description, lambda v: v.isidentifier() and not v.startswith("_"),
                      kind="string")


any_real = real("a finite real number", lambda v: True)
positive = real("a finite number > 0", lambda v: v > 0)
decay_factor = real("a per-step decay factor in (0, 1]", lambda v: 0 < v <= 1)


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
