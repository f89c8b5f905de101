"""Unsupervised MNIST with a Diehl & Cook (2015) network: ``brian-stdp mnist``."""
from .data import load_digits, split_digits, validate_digits
from .pipeline import MnistConfig, RULE_ALIASES, resolve_rule, run_mnist

__all__ = ["MnistConfig", "run_mnist", "load_digits", "split_digits", "validate_digits",
           "RULE_ALIASES", "resolve_rule"]
