"""The settings of one MNIST job (:class:`MnistConfig`, one field per ``brian-stdp mnist`` flag)
and their checks.

Each numeric or choice flag declares its allowed values once, as a
:class:`brian_stdp.parameters.Constraint` in its field's metadata; :meth:`MnistConfig.check`
applies them and names the flag (``--theta-plus`` for the field ``theta_plus``) in its errors.
"""
import dataclasses
import json
import os
from typing import Optional

import numpy as np

from ..parameters import Constraint, choice, integer, real
from . import defaults
from .data import REFERENCE_MEAN_PIXEL
from ..rules import RULES, SHORT_NAMES, STDPRule, load_rule, rule_class
from ..rules.base import ROW_SCALINGS, rules_with_lazy_rows

__all__ = ["MnistConfig", "DEVICES", "TARGETS", "DEFAULT_LABEL", "run_identity",
           "with_added_settings"]

DEVICES = ("cpp_standalone", "runtime")
TARGETS = ("cython", "numpy")
#: Training digits shown again, frozen, to label the neurons, unless --label says otherwise.
DEFAULT_LABEL = 1000
#: Training digits set aside (never trained or labelled on) and classified after training, so
#: that settings are chosen on them rather than on the held-out digits, unless --validation
#: says otherwise.
DEFAULT_VALIDATION = 500


def _count(low: int, high: Optional[int] = None) -> Constraint:
    """An integer flag in ``low..high`` (no upper bound if ``high`` is None)."""
    if high is None:
        return integer(f">= {low}", lambda v: v >= low, low=low)
    return integer(f"in {low}..{high}", lambda v: low <= v <= high, low=low, high=high)


def _span(low: float, high: float, low_open: bool = False) -> Constraint:
    """A real flag in ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    bracket = "(" if low_open else "["
    return real(f"in {bracket}{low}, {high}]",
                lambda v: (v > low if low_open else v >= low) and v <= high,
                low=low, high=high, low_open=low_open)


_SEED = _count(0, 2**31 - 1)
_RULE_NAMES = choice(*sorted(SHORT_NAMES), *sorted(RULES))


def _flag(default, constraint: Optional[Constraint] = None):
    return dataclasses.field(default=default, metadata={"constraint": constraint})


def flag_name(field_name: str) -> str:
    """The command-line flag of a :class:`MnistConfig` field: ``theta_plus`` -> ``--theta-plus``."""
    return "--" + field_name.replace("_", "-")


def _validate(flag: str, constraint: Constraint, value) -> None:
    # Constraint accepts 3.0 for an integer; a count given as a float is refused here.
    if constraint.kind == "integer" and (isinstance(value, bool)
                                         or not isinstance(value, (int, np.integer))):
        raise TypeError(f"{flag} must be an integer ({constraint.description}), got {value!r}")
    constraint.validate(flag, value)


@dataclasses.dataclass
class MnistConfig:
    """Every setting of one run (the CLI flags, by the same names; times in ms).

    ``train`` None means every training digit not set aside for validation (3500 of the
    shipped set); ``validation``: training digits set aside, never trained or labelled on, and
    classified after training (:data:`DEFAULT_VALIDATION`; choose settings on their accuracy,
    report the held-out one); ``overwrite``: a job's ``out`` may hold another job's finished
    outputs or checkpoint, which it replaces (otherwise refused); ``label`` None means the
    first :data:`DEFAULT_LABEL` training digits (or all, if fewer); ``test`` 0 classifies no
    held-out digit (a study's trial); ``checkpoint_every`` 0 writes checkpoints only at the end
    of training, at the end and on interruption; ``resume`` is a checkpoint directory (or a
    job's ``out``).
    """
    rule: str = _flag("nearest")
    rule_file: Optional[str] = _flag(None)
    neurons: int = _flag(100, _count(1, 10000))
    train: Optional[int] = _flag(None, _count(0))  # 0: the untrained network, as a baseline
    validation: int = _flag(DEFAULT_VALIDATION, _count(0))
    # None: the rule's and size's (brian_stdp.mnist.defaults.epochs), resolved by with_digits
    epochs: Optional[int] = _flag(None, _count(1, 1000))
    label: Optional[int] = _flag(None)          # in 1..train (1.. with --train 0)
    test: int = _flag(1000, _count(0))
    presentation: float = _flag(250.0, _span(0.0, 10000.0, low_open=True))
    rest: float = _flag(0.0, _span(0.0, 10000.0))       # silent inputs after each presentation
    # ms; the rules keep their time constants (brian_stdp.rules.base.STDPRule.at_dt)
    dt: float = _flag(1.0, _span(0.0, 10.0, low_open=True))
    # None: the tuned value for the rule and size (brian_stdp.mnist.defaults)
    intensity: Optional[float] = _flag(None, _span(0.0, 100.0, low_open=True))  # x pixel / 4 Hz
    theta_plus: Optional[float] = _flag(None, _span(0.0, 100.0))  # mV per spike (float network)
    inhibition: Optional[float] = _flag(None, _span(0.0, 1e6))
    min_spikes: int = _flag(5, _count(0, 10000))   # fewer: the digit is shown again, brighter
    max_repeats: int = _flag(10, _count(0, 1000))  # at most this many times
    intensity_step: float = _flag(0.5, _span(0.0, 100.0))  # added to intensity per repetition
    seed: int = _flag(0, _SEED)
    split_seed: int = _flag(0, _SEED)
    device: str = _flag("cpp_standalone", choice(*DEVICES))
    target: str = _flag("cython", choice(*TARGETS))     # code generation target in runtime mode
    data: Optional[str] = _flag(None)
    test_data: Optional[str] = _flag(None)      # held-out digits from here instead of a split
    # each image scaled to this mean pixel (None: as given); MNIST's ink, which the settings suit
    mean_pixel: Optional[float] = _flag(REFERENCE_MEAN_PIXEL, _span(0.0, 255.0, low_open=True))
    out: str = _flag("mnist_results")
    build_dir: Optional[str] = _flag(None)
    progress: bool = _flag(True)
    chunk: int = _flag(100, _count(1, 100000))  # presentations per chunk (part of the result)
    checkpoint_every: int = _flag(500, _count(0))
    resume: Optional[str] = _flag(None)
    overwrite: bool = _flag(False)  # replace a finished job's outputs (or an unfinished one's)
    # nearest_online's rendering: every weight rescaled every step, or each row's factor kept
    # apart (brian_stdp.rules.nearest_online.LazyRows); the same weights up to rounding.
    # None: the rule's default (lazy for nearest), resolved by with_digits, so that what a
    # result records is the rendering it ran.
    row_scaling: Optional[str] = _flag(None, choice(*ROW_SCALINGS))

    def check(self, n_train_available: Optional[int] = None,
              n_test_available: Optional[int] = None) -> None:
        """Refuse bad settings (TypeError or ValueError naming the flag and its allowed values);
        with the numbers of digits available, also more digits than there are."""
        if self.rule_file is None:
            _validate("--rule", _RULE_NAMES, self.rule)
        for field in dataclasses.fields(self):
            constraint = field.metadata["constraint"]
            if constraint is not None and getattr(self, field.name) is not None:
                _validate(flag_name(field.name), constraint, getattr(self, field.name))
        if self.label is not None:
            _validate("--label", _count(1, self.train if self.train else None), self.label)
        if self.rule_file is None:
            _check_row_scaling(rule_class(self.rule), self.row_scaling)
        if self.validation == 0 and self.test == 0:
            raise ValueError("--validation 0 and --test 0 leave no digit to classify: give "
                             "either (or both) at least 1")
        for flag, value in (("--presentation", self.presentation), ("--rest", self.rest)):
            steps = value / self.dt
            if abs(steps - round(steps)) > 1e-9:
                raise ValueError(f"{flag} must be a whole number of --dt steps ({self.dt} ms), "
                                 f"got {value} ms")
        if self.resume is not None:
            if not isinstance(self.resume, str):
                raise TypeError(f"--resume must be a directory path, got {self.resume!r}")
            if not os.path.isdir(self.resume):
                raise ValueError(f"--resume: no such checkpoint directory {str(self.resume)!r}")
        _check_out(self.out)
        if n_train_available is not None:
            left = n_train_available - self.validation
            if left < 1:
                raise ValueError(f"--validation must be at most {n_train_available - 1} (the "
                                 f"training digits available, less one to train or label on), "
                                 f"got {self.validation}")
            aside = (f", less the {self.validation} set aside by --validation"
                     if self.validation else "")
            if self.train is not None and self.train > left:
                raise ValueError(f"--train must be at most {left} (the {n_train_available} "
                                 f"training digits available{aside}), got {self.train}")
            n_label = self._label_count(left if self.train is None else self.train)
            if n_label > left:
                raise ValueError(f"--label must be at most {left} (the {n_train_available} "
                                 f"training digits available{aside}), got {n_label}")
        if n_test_available is not None and self.test > n_test_available:
            raise ValueError(f"--test must be at most {n_test_available} (the held-out digits "
                             f"available), got {self.test}")

    @property
    def n_label(self) -> int:
        """Training digits shown again to label the neurons (``train`` resolved first:
        :meth:`with_digits`)."""
        return self._label_count(self.train)

    def _label_count(self, train):
        if self.label is not None:
            return self.label
        return min(train, DEFAULT_LABEL) if train else DEFAULT_LABEL

    def with_digits(self, n_train_available: int) -> "MnistConfig":
        """This config with ``train``, ``epochs`` and ``row_scaling`` resolved: None becomes
        every training digit that ``validation`` leaves (``n_train_available`` less it), the
        passes over them the rule's study chose at this size, and the rule's own rendering;
        checked first."""
        self.check(n_train_available)
        resolved = self
        if self.train is None:
            resolved = dataclasses.replace(resolved, train=n_train_available - self.validation)
        if self.epochs is None or self.row_scaling is None:
            rule = self.make_rule()
            if self.epochs is None:
                resolved = dataclasses.replace(
                    resolved, epochs=defaults.epochs(type(rule), self.neurons))
            if self.row_scaling is None:
                resolved = dataclasses.replace(resolved, row_scaling=rule.default_row_scaling)
        return resolved

    def make_rule(self) -> STDPRule:
        """The learning rule: read from ``rule_file``, else ``rule`` with the job's parameters
        for it at this size (:func:`brian_stdp.mnist.defaults.rule_parameters`)."""
        if self.rule_file is not None:
            if not os.path.isfile(self.rule_file):
                raise ValueError(f"--rule-file: no such file {self.rule_file!r}")
            try:
                rule = load_rule(self.rule_file)
            except ValueError as error:
                raise ValueError(f"--rule-file {error}") from None
            _check_row_scaling(type(rule), self.row_scaling)
            return rule
        chosen = rule_class(self.rule)
        return chosen(**defaults.rule_parameters(chosen, self.neurons))


#: Settings added after results, studies and checkpoints were first written, with the value
#: that earlier versions ran: a record without one ran that.
ADDED_SETTINGS = {"row_scaling": "eager"}


def with_added_settings(settings: dict) -> dict:
    """``settings`` (a stored config) with :data:`ADDED_SETTINGS` it predates filled in."""
    return {**ADDED_SETTINGS, **settings}


def _check_row_scaling(chosen: type, row_scaling: str) -> None:
    if row_scaling not in (None, "eager") and chosen.LAZY_ROWS is None:
        lazy = " and ".join(sorted(cls.short_name for cls in rules_with_lazy_rows()))
        raise ValueError(f"--row-scaling {row_scaling} applies to the {lazy} rules only "
                         f"({chosen.name} rescales no rows lazily): leave it out")


def _check_out(out):
    """``--out`` must name a directory (checked without touching the disk; the job makes it
    first thing, :func:`brian_stdp.mnist.outputs.prepare_out`)."""
    if not isinstance(out, str) or not out:
        raise TypeError(f"--out must be a directory path, got {out!r}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out {out!r} is a file, not a directory: give a directory for the "
                         "job's outputs")


def run_identity(config: MnistConfig, rule: STDPRule, data_sha256: str,
                 network_settings: dict) -> dict:
    """Everything the result of a run depends on, as a checkpoint records it (flag names as
    keys, so that a refusal names the flag). ``--out``, ``--build-dir``, ``--quiet``,
    ``--checkpoint-every`` and the data's path are not part of it. ``network_settings``: the
    values :func:`brian_stdp.mnist.defaults.resolve` chose (given or tuned)."""
    from importlib.metadata import version

    from .. import __version__
    identity = {
        "rule parameters": rule.to_dict(),
        "--neurons": config.neurons, "--train": config.train, "--epochs": config.epochs,
        "--label": config.n_label, "--validation": config.validation, "--test": config.test,
        "--presentation": config.presentation,
        "--rest": config.rest, "--dt": config.dt, **{
            flag_name(name): value for name, value in network_settings.items()},
        "--min-spikes": config.min_spikes, "--max-repeats": config.max_repeats,
        "--intensity-step": config.intensity_step, "--seed": config.seed,
        "--split-seed": config.split_seed, "--device": config.device,
        "--target": config.target if config.device == "runtime" else None,
        "--chunk": config.chunk, "--mean-pixel": config.mean_pixel, "data sha256": data_sha256,
        "brian_stdp version": __version__, "brian2 version": version("brian2"),
    }
    return json.loads(json.dumps(identity))  # as it reads back from JSON
