"""The names a rule's code uses on the user's synapses: what no user variable may stand for.

A rule's code on the synapses refers to its own state, to the helper groups' and the run
state's variables (visible there under their own names), to its constants and to local names
of its code. The rendering keeps a user's variables from taking their place
(:func:`brian_stdp.brian2_private.drop_post_aliases`); the checks refuse user code that would
redefine them.
"""
import re

from brian2 import Equations
from brian2.utils.stringtools import get_identifiers

from .run_state import RUN_STATE_NAMES
from .schedule import step_operation_fields

__all__ = ["synapse_code_names", "row_pass_code_names", "state_names", "local_names",
           "assigned_names"]

_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:[-+*/%]|//|\*\*)?=(?!=)")


def _identifiers(*codes):
    # comments are not code
    return set().union(*(get_identifiers("\n".join(line.split("#")[0]
                                                   for line in code.splitlines()))
                         for code in codes if code))


def _pathway_codes(code):
    return list(code.values()) if isinstance(code, dict) else [code]


def _synapse_codes(rule):
    return (_pathway_codes(rule.on_pre) + _pathway_codes(rule.on_post)
            + [step_operation_fields(operation)[1] for operation in rule.step_operations
               if operation[0] == "synapses"]
            + [rule.reset_code] + list(rule.summed.values()))


def state_names(rule):
    """The variables of the rule's synapses and rows, and the run state."""
    return (set(Equations(rule.model).names) | set(Equations(rule.post_model).names)
            | set(RUN_STATE_NAMES))


def synapse_code_names(rule):
    """Every name the rule's code on the synapses uses or makes visible there: its state, the
    helper groups' and the run state's, its constants and the local names of its code."""
    return (_identifiers(*_synapse_codes(rule)) | state_names(rule)
            | set(Equations(rule.pre_model).names) | set(rule.namespace()))


def row_pass_code_names(rule):
    """The same for the synapses of the rule's row pass (and of its first pass)."""
    return (_identifiers(rule.row_pass.get("code", ""),
                         rule.row_pass.get("first_pass", {}).get("code", ""))
            | state_names(rule) | set(rule.namespace()))


def assigned_names(code):
    """The names that the lines of Brian2 abstract ``code`` assign to, in order."""
    for line in code.splitlines():
        match = _ASSIGNMENT.match(line.split("#", 1)[0])
        if match:
            yield match.group(1)


def local_names(rule):
    """The names the rule's code on the synapses assigns without declaring them (its local
    names: ``spike_step``, ``learning``, ``w_before``, ...)."""
    codes = (_pathway_codes(rule.on_pre) + _pathway_codes(rule.on_post) + [rule.reset_code]
             + [step_operation_fields(operation)[1] for operation in rule.step_operations
                if operation[0] == "synapses"])
    assigned = {name for code in codes for name in assigned_names(code)}
    return assigned - state_names(rule) - set(Equations(rule.pre_model).names)
