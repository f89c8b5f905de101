"""The four SPAIC rules, one module each, and the registry that names them."""
from .base import RULES, SHORT_NAMES, STDPRule, load_rule, rule_class
from .nearest_online import NearestOnlineSTDP
from .full_online import FullOnlineSTDP
from .meta_nearest_online import MetaNearestOnlineSTDP
from .postpre_int import PostPreIntSTDP, draws_table

__all__ = ["STDPRule", "RULES", "SHORT_NAMES", "load_rule", "rule_class", "NearestOnlineSTDP",
           "FullOnlineSTDP", "MetaNearestOnlineSTDP", "PostPreIntSTDP", "draws_table"]
