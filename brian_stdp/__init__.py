"""brian_stdp: SPAIC's STDP learning rules as Brian2 synapse models."""
# First: checks the Brian2 found (its version, and the internals the package uses) before any
# other module touches it.
from . import brian2_private  # noqa: F401
from .rules import (RULES, SHORT_NAMES, FullOnlineSTDP, MetaNearestOnlineSTDP,
                    NearestOnlineSTDP, PostPreIntSTDP, STDPRule, draws_table, load_rule,
                    rule_class)

__all__ = ["STDPRule", "RULES", "SHORT_NAMES", "load_rule", "rule_class", "NearestOnlineSTDP",
           "FullOnlineSTDP", "MetaNearestOnlineSTDP", "PostPreIntSTDP", "draws_table"]
__version__ = "0.1.0"
