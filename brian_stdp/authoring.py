"""Everything a new rule is written with (docs/writing_a_rule.rst).

A rule is a frozen dataclass deriving from :class:`STDPRule`: its parameters are fields
declared with :func:`parameter` (default, meaning, allowed values), and its Brian2 code is a
handful of class attributes (see :class:`STDPRule`): ``model`` (per synapse), ``pre_model`` /
``post_model`` (per pre / post neuron, visible in the synapse code), ``on_pre`` / ``on_post``
(the learning pathways), ``neuron_pathways`` (code on each neuron's own spike),
``step_operations`` (code every step), ``pathway_delay_steps`` and ``pathway_orders``, the
``*_reset_code`` of a run start, and ``row_pass`` for work on whole rows. Defining the class
registers it by its ``name`` and ``short_name``; from then on it gets what the built-in rules
get: validation at construction, time constants with units (``time_constants``), templates
(``to_dict``, ``from_dict``, :func:`brian_stdp.load_rule`), ``rule.synapses`` and
``rule.attach`` with the refusal of name clashes with the user's model, and every Brian2
target, cpp_standalone included. :meth:`STDPRule.reference_weights` is the hook for its NumPy
reference, which :func:`check_against_reference` compares with Brian2 in any target.
"""
import numpy as np

from .parameters import (Constraint, amplitude, any_real, choice, decay_factor, integer,
                         parameter, positive, real, weight_bound)
from .replay import replay
from .rules.base import STDPRule
from .schedule import Order

__all__ = ["STDPRule", "parameter", "Constraint", "real", "integer", "choice", "any_real",
           "amplitude", "positive", "decay_factor", "weight_bound", "Order", "replay",
           "check_against_reference"]


def check_against_reference(rule, w_start, in_spk, out_spk, target="numpy", dt=None,
                            rtol=1e-9, atol=1e-12, directory=None, **kwargs):
    """Run ``rule`` in Brian2's ``target`` (:func:`brian_stdp.replay.replay`, a cpp_standalone
    build in ``directory``) and its NumPy reference (:meth:`STDPRule.reference_weights`, at the
    factors of ``dt``) on the same spikes, and raise ``AssertionError`` where they differ
    beyond ``rtol`` / ``atol``. ``kwargs`` go to both (the integer rule's ``thresh`` and
    ``draws``). Returns both, ``(brian, reference)``, each ``[R, T, post, pre]``."""
    brian = replay(rule, w_start, in_spk, out_spk, target=target, dt=dt, directory=directory,
                   **kwargs)
    expected = (rule if dt is None else rule.at_dt(dt)).reference_weights(
        w_start, np.asarray(in_spk, dtype=float), np.asarray(out_spk, dtype=float), **kwargs)
    np.testing.assert_allclose(brian, expected, rtol=rtol, atol=atol,
                               err_msg=f"{rule.name} in {target} against its reference")
    return brian, expected
