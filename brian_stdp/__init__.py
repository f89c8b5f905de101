"""brian_stdp: SPAIC's STDP learning rules as Brian2 synapse models."""
from .rule import RULES, STDPRule, load_rule, rule_class
from .nearest_online import NearestOnlineSTDP
from .full_online import FullOnlineSTDP
from .meta_nearest_online import MetaNearestOnlineSTDP
from .postpre_int import PostPreIntSTDP

__all__ = ["STDPRule", "RULES", "load_rule", "rule_class", "NearestOnlineSTDP",
           "FullOnlineSTDP", "MetaNearestOnlineSTDP", "PostPreIntSTDP"]
__version__ = "0.1.0"
