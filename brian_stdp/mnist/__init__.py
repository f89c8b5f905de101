"""Unsupervised MNIST with a Diehl & Cook (2015) network: ``brian-stdp mnist``.

Modules: :mod:`~brian_stdp.mnist.config` (the settings and their checks),
:mod:`~brian_stdp.mnist.data` (the digits), :mod:`~brian_stdp.mnist.network` (the network),
:mod:`~brian_stdp.mnist.device` (Brian2's device for a job), :mod:`~brian_stdp.mnist.chunks`
(running it chunk by chunk), :mod:`~brian_stdp.mnist.checkpoint` (saving and resuming),
:mod:`~brian_stdp.mnist.signals` (Ctrl-C and SIGTERM as interruptions),
:mod:`~brian_stdp.mnist.scoring` (labelling and classifying), :mod:`~brian_stdp.mnist.outputs`
and :mod:`~brian_stdp.mnist.figures` (what a job writes), :mod:`~brian_stdp.mnist.pipeline`
(:func:`run_mnist`, all of it in order).
"""
from .config import MnistConfig
from .data import load_digits, split_digits, validate_digits
from .pipeline import run_mnist

__all__ = ["MnistConfig", "run_mnist", "load_digits", "split_digits", "validate_digits"]
