"""The one place where a rule becomes Brian2 objects.

A rule (:class:`brian_stdp.STDPRule`) is a declarative record of Brian2 code. Its
:meth:`~brian_stdp.STDPRule.synapses` (:func:`build_synapses`) or
:meth:`~brian_stdp.STDPRule.attach` (:func:`attach`) turn it into objects contained in the user's
``Synapses`` (:mod:`.attachment`), prepared before each run by :mod:`.run_boundary`; state
written from Python between runs is :mod:`.state_io`'s; the few places relying on Brian2
internals are all in :mod:`brian_stdp.brian2_private`. Everything runs as Brian2 code: no
Python callback runs during a simulation.
"""
from ..schedule import step_operation_fields
from .attachment import Attachment, attachment_of
from .build import attach, build_synapses, merge_code
from .state_io import reset, set_from_matrix

__all__ = ["attach", "build_synapses", "merge_code", "reset", "set_from_matrix", "Attachment",
           "attachment_of", "step_operation_fields"]
