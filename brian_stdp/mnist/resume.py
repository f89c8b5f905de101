"""``brian-stdp mnist --resume DIR``: the job's settings from its checkpoint.

A checkpoint keeps every setting of its job (:func:`brian_stdp.mnist.checkpoint.settings_of`)
and the rule it ran. ``--resume DIR`` alone continues with them; an option given with it must
say what the checkpoint says, or the job is refused naming the option (it would be another
job). Only where the outputs and builds go, how often checkpoints are written and how much
the job prints may change (:data:`FREE`).
"""
import dataclasses
import json
import os

from ..rules.base import with_dt
from . import checkpoint as ckpt
from .config import MnistConfig, flag_name, with_added_settings

__all__ = ["resumed", "FREE"]

#: Settings a resumed job may give anew: they change no result.
FREE = ("out", "build_dir", "progress", "checkpoint_every", "resume", "overwrite")


def _manifest(path):
    directory = ckpt.resolve_directory(path)
    try:
        with open(os.path.join(directory, ckpt.MANIFEST)) as handle:
            return directory, json.load(handle)
    except (OSError, ValueError) as error:
        raise ckpt.CheckpointError(f"--resume {directory!r}: {ckpt.MANIFEST} is unreadable or "
                                   f"not valid JSON, the checkpoint is corrupt ({error})") \
            from None


def resumed(config: MnistConfig, given) -> MnistConfig:
    """The config of the job ``config.resume`` continues: its checkpoint's settings, with the
    :data:`FREE` ones of ``config`` that the user gave (``given``: the field names given on
    the command line). ValueError naming the first given option that contradicts the
    checkpoint."""
    directory, manifest = _manifest(config.resume)
    stored = manifest.get("settings") if isinstance(manifest, dict) else None
    if not isinstance(stored, dict):
        raise ckpt.CheckpointError(
            f"--resume {directory!r}: the checkpoint does not keep its job's settings (written "
            "by an older brian_stdp): give the job's options again with --resume")
    rule = with_dt(manifest["identity"]["rule parameters"])
    if {"rule", "rule_file"} & set(given):
        mine = config.make_rule().to_dict()
        if mine != rule:
            flag = "--rule-file" if "rule_file" in given else "--rule"
            raise ValueError(f"{flag}: the checkpoint in {directory!r} ran "
                             f"{rule['rule']} with {rule['parameters']}, not {mine['rule']} "
                             f"with {mine['parameters']}; leave {flag} out to continue it")
    for name in sorted(set(given) - set(FREE) - {"rule", "rule_file"}):
        value = getattr(config, name)
        if name in ("data", "test_data") and value is not None and stored.get(name):
            value = os.path.abspath(value)
        if name == "train" and value is None:
            continue
        if value != stored.get(name):
            raise ValueError(f"{flag_name(name)} {value!r}: the checkpoint in {directory!r} "
                             f"was written with {flag_name(name)} {stored.get(name)!r}; leave "
                             "it out to continue that job, or start a new one without "
                             "--resume")
    # The rule as the checkpoint ran it, from a template beside it (the original --rule-file
    # may have changed or gone; a rule named by --rule may have other defaults in this
    # version).
    template = os.path.join(directory, "rule.json")
    with open(template, "w") as handle:
        json.dump(rule, handle, indent=1)
    fields = {field.name for field in dataclasses.fields(MnistConfig)}
    settings = {k: v for k, v in with_added_settings(stored).items() if k in fields}
    settings.update({name: getattr(config, name) for name in FREE if name in given})
    settings.update(rule_file=template, resume=config.resume)
    return MnistConfig(**settings)
