"""The search space of a study: which settings vary, over which ranges.

A space maps parameter names to ranges. A name is either a setting of the MNIST job (a
:class:`~brian_stdp.mnist.config.MnistConfig` field, as its flag without dashes:
``theta_plus``) or a parameter of the study's rule (``Apost``). The file (JSON, or YAML if it
ends in ``.yaml``/``.yml``) holds one entry per name::

    {"intensity": {"low": 0.5, "high": 2.0},
     "Apost": {"low": 0.001, "high": 0.05, "log": true},
     "min_spikes": [0, 10],
     "pre_term": {"choices": ["add", "subtract"]}}

``[low, high]`` is short for ``{"low": low, "high": high}``. A range is integer when the
setting is (``min_spikes``, ``neurons``; the integer rule's parameters), real otherwise; ``log``
samples it on a log scale (both ends then > 0). Everything is checked before any trial runs: an
unknown name, a range that is empty (``low == high``) or inverted, an end outside what the
setting allows (the same constraint as the job's flag or the rule's field), ``log`` over 0.
"""
import dataclasses
import json
import os
from typing import Optional, Tuple, Union

from ..parameters import constraints
from ..mnist.config import MnistConfig
from ..rules import STDPRule

__all__ = ["Range", "SearchSpace", "JOB_SETTINGS", "load_space", "default_space"]

#: The job's settings a study can vary. Not the held-out size (``test``: the study's
#: validation digits), the split's seed (it decides which digits validate) nor the
#: bookkeeping flags (device, paths, checkpoints): those are the study's, not a trial's.
JOB_SETTINGS = ("neurons", "train", "epochs", "label", "presentation", "rest", "dt",
                "intensity", "theta_plus", "inhibition", "min_spikes", "max_repeats",
                "intensity_step", "seed", "chunk")
_KEYS = {"low", "high", "log", "choices"}


@dataclasses.dataclass(frozen=True)
class Range:
    """One parameter's range.

    ``name``: a job setting (:data:`JOB_SETTINGS`) or a rule parameter; ``target``: ``"job"``
    or ``"rule"``; ``kind``: ``"real"``, ``"integer"`` or ``"choice"``; ``low < high`` (both
    allowed values of the parameter), ``log`` (sample log-uniformly; ``low > 0``);
    ``choices``: the values of a choice (at least two, no repeats).
    """
    name: str
    target: str
    kind: str
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    choices: Optional[Tuple] = None

    def suggest(self, trial):
        """This parameter's value for an Optuna ``trial``."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "integer":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def to_dict(self):
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "log": self.log}


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The ranges of a study, for one rule (``rule``: its SPAIC name), in file order."""
    rule: str
    ranges: Tuple[Range, ...]

    @classmethod
    def parse(cls, spec: dict, rule: STDPRule, where: str = "the search space") -> "SearchSpace":
        """Check ``spec`` (name -> range, as in the module docstring) against ``rule`` and the
        job's settings; ValueError or TypeError naming the parameter otherwise."""
        if not isinstance(spec, dict):
            raise TypeError(f"{where} must map parameter names to ranges, got "
                            f"{type(spec).__name__}")
        if not spec:
            raise ValueError(f"{where} is empty: name at least one parameter to tune")
        return cls(rule.name, tuple(_range(name, entry, rule, where)
                                    for name, entry in spec.items()))

    def names(self):
        return [r.name for r in self.ranges]

    def to_dict(self) -> dict:
        """The space as plain data (what a study stores and :meth:`parse` reads back)."""
        return {r.name: r.to_dict() for r in self.ranges}

    def suggest(self, trial) -> Tuple[dict, dict]:
        """``(job settings, rule parameters)`` drawn for ``trial``."""
        job, rule = {}, {}
        for r in self.ranges:
            (job if r.target == "job" else rule)[r.name] = r.suggest(trial)
        return job, rule


def _constraints(rule):
    """``{name: (target, Constraint)}`` of every tunable name for ``rule``."""
    job = {f.name: f.metadata["constraint"] for f in dataclasses.fields(MnistConfig)}
    found = {name: ("job", job[name]) for name in JOB_SETTINGS}
    # label has no constraint of its own in the config (it depends on --train): 1..
    from ..parameters import integer
    found["label"] = ("job", integer(">= 1", lambda v: v >= 1, low=1))
    found.update((name, ("rule", constraint)) for name, constraint in constraints(rule).items())
    if rule.integer:
        del found["theta_plus"]  # the integer neuron has no theta_plus
    return found


def _range(name, entry, rule, where):
    known = _constraints(rule)
    if name not in known:
        rule_names = sorted(n for n, (t, _) in known.items() if t == "rule")
        job_names = sorted(n for n, (t, _) in known.items() if t == "job")
        raise ValueError(f"{where}: unknown parameter {name!r}; tunable are the job settings "
                         f"{job_names} and the parameters of {rule.name} {rule_names}")
    target, constraint = known[name]
    if isinstance(entry, (list, tuple)):
        if len(entry) != 2:
            raise ValueError(f"{where}: {name!r} must be [low, high] or a dict with low, high "
                             f"(and log) or choices; got {entry!r}")
        entry = {"low": entry[0], "high": entry[1]}
    if not isinstance(entry, dict):
        raise TypeError(f"{where}: the range of {name!r} must be [low, high] or a dict, got "
                        f"{entry!r}")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} in the range of {name!r}; "
                         f"allowed: {sorted(_KEYS)}")
    if "choices" in entry:
        return _choices(name, entry, target, constraint, where)
    if constraint.kind == "string":
        raise ValueError(f"{where}: {name!r} takes one of {list(constraint.options or [])}: "
                         "give it as {\"choices\": [...]}")
    missing = [key for key in ("low", "high") if key not in entry]
    if missing:
        raise ValueError(f"{where}: the range of {name!r} lacks {missing}")
    low = constraint.validate(f"{where}: the low end of {name!r}", entry["low"])
    high = constraint.validate(f"{where}: the high end of {name!r}", entry["high"])
    if low >= high:
        what = "empty" if low == high else "inverted"
        raise ValueError(f"{where}: the range of {name!r} is {what} (low {entry['low']!r}, "
                         f"high {entry['high']!r}); low must be below high")
    log = entry.get("log", False)
    if not isinstance(log, bool):
        raise TypeError(f"{where}: 'log' of {name!r} must be true or false, got {log!r}")
    if log and low <= 0:
        raise ValueError(f"{where}: a log range of {name!r} needs low > 0, got {entry['low']!r}")
    return Range(name, target, constraint.kind, low, high, log)


def _choices(name, entry, target, constraint, where):
    if set(entry) != {"choices"}:
        raise ValueError(f"{where}: {name!r} has choices; low, high and log do not apply")
    choices = entry["choices"]
    if not isinstance(choices, (list, tuple)) or len(choices) < 2:
        raise ValueError(f"{where}: the choices of {name!r} must be a list of at least two "
                         f"values, got {choices!r}")
    if len(set(map(repr, choices))) != len(choices):
        raise ValueError(f"{where}: the choices of {name!r} repeat a value: {choices!r}")
    for value in choices:
        constraint.validate(f"{where}: a choice of {name!r}", value)
    return Range(name, target, "choice", choices=tuple(choices))


def load_space(source: Union[str, dict, None], rule: STDPRule) -> SearchSpace:
    """The space of a file (JSON, or YAML by its ``.yaml``/``.yml`` suffix), of a dict, or
    the rule's default (:func:`default_space`) for None."""
    if source is None:
        return default_space(rule)
    if isinstance(source, dict):
        return SearchSpace.parse(source, rule)
    if not isinstance(source, str):
        raise TypeError(f"--space must be a file path or a dict, got {source!r}")
    if not os.path.isfile(source):
        raise ValueError(f"--space: no such file {source!r}")
    with open(source) as handle:
        text = handle.read()
    try:
        if source.lower().endswith((".yaml", ".yml")):
            import yaml
            spec = yaml.safe_load(text)
        else:
            spec = json.loads(text)
    except Exception as error:  # noqa: BLE001  (JSON and YAML syntax errors alike)
        raise ValueError(f"--space: {source!r} is not valid "
                         f"{'YAML' if source.lower().endswith(('.yaml', '.yml')) else 'JSON'}"
                         f" ({error})") from None
    return SearchSpace.parse(spec, rule, where=f"--space {source}")


def default_space(rule: STDPRule) -> SearchSpace:
    """The ranges a study of ``rule`` uses without ``--space``: the job's input intensity and
    inhibition around its tuned values (:mod:`brian_stdp.mnist.defaults`), theta_plus for the
    float network, and the rule's learning amplitudes around SPAIC's defaults."""
    spec = {"intensity": {"low": 0.5, "high": 2.0}}
    if rule.integer:
        spec["inhibition"] = {"low": 500.0, "high": 16000.0, "log": True}
        spec["nu0"] = {"low": 4, "high": 40, "log": True}
        spec["nu1"] = {"low": 40, "high": 400, "log": True}
    else:
        spec["theta_plus"] = {"low": 0.01, "high": 0.2, "log": True}
        spec["inhibition"] = {"low": 5.0, "high": 40.0, "log": True}
        spec["Apost"] = {"low": 1e-3, "high": 5e-2, "log": True}
        spec["Apre"] = {"low": 1e-5, "high": 1e-3, "log": True}
    return SearchSpace.parse(spec, rule, where="the default search space")
