r"""SPAIC's integer Diehl & Cook neuron (``diehlAndCook``), PostPreIntSTDP's companion.

Every step, with ``I`` the summed weights of the input spikes of the PREVIOUS step (SPAIC's
connection reads the presynaptic spikes without ``[updated]``), all in integers:

.. math::

    thresh &\leftarrow thresh \gg [thresh > \theta_{max}] \\
    r &\leftarrow r - \delta \\
    V &\leftarrow \begin{cases}
        (d\,V) \gg s_V + (c\,\operatorname{int}(\operatorname{clip}(I, I_{min}, I_{max})))
            \gg s_I & r < 0 \\ V & \text{otherwise (refractory)} \end{cases},
        \qquad V \leftarrow \max(V, \ell) \\
    \text{spike} &= V > thresh;\ \text{then}\ V \leftarrow V_{reset},\ r \leftarrow r_{reset},\
        thresh \leftarrow thresh + thresh_{plus}

with SPAIC's constants :data:`SPAIC_CONSTANTS` (``d = 1013``, ``s_V = 10``: a leak of
``1013 / 1024`` per step; ``c = 154``, ``s_I = 10``; ``thresh`` starts at 213 and grows by 66 per
spike). At a run start SPAIC clears ``V`` and ``I``; ``thresh`` and ``r`` carry over. The
shared flag ``adapting`` (1, SPAIC's behaviour) set to 0 fixes ``thresh``: no growth, no halving,
as Diehl & Cook fix their thresholds while labelling and testing.

``float_shift=True`` reproduces SPAIC 0.6.3 as its golden recordings ran it (old PyTorch's float
``>>`` divides without flooring, so ``V`` and a halved ``thresh`` keep fractions; the input sum is
still truncated to an integer). The default is real integer arithmetic.

Use :func:`diehl_cook_int` for the group, and send the learning synapses' weights into it with
the pathway :data:`TRANSMIT` scheduled by :func:`schedule_transmission`, so that the input of
step ``k`` carries the weights the rule left at the end of step ``k`` (SPAIC's order).
"""

from .schedule import Order

__all__ = ["SPAIC_CONSTANTS", "SPAIC_INITIAL", "diehl_cook_int", "diehl_cook_int_templates",
           "TRANSMIT", "schedule_transmission", "run_start"]

#: SPAIC's ``diehlAndCook`` constants (as its recordings store them in ``params_json``).
SPAIC_CONSTANTS = {
    "max_threshold": 4915, "decay": 1013, "shift_voltage": 10, "weight_sum_coef": 154,
    "shift_weight_sum_coef": 10, "weight_sum_min": -32767, "weight_sum_max": 32767,
    "Vreset": 0, "Vrest": 0, "reset_refrac": 5, "delta": 1, "thresh_plus": 66,
    "lbound": -32767,
}
#: SPAIC's initial values (``refrac_count`` starts at ``init_refrac`` = 0).
SPAIC_INITIAL = {"V": 0, "Isyn": 0, "thresh": 213, "refrac_count": 0, "adapting": 1}

#: The input pathway (merge into the synapses' ``on_pre``; see :func:`schedule_transmission`).
TRANSMIT = {"transmit": "Isyn_post += w"}


def diehl_cook_int_templates(float_shift: bool = False) -> tuple:
    """``(model, update, threshold, reset)``: the Brian2 code of the neuron.

    ``update`` runs once per step in the ``groups`` slot (a ``run_regularly``): the model has no
    differential equations, every variable is updated by SPAIC's integer step.
    """
    kind = "1" if float_shift else "integer"
    shift = "/" if float_shift else "//"
    model = f"""
V : {kind}                 # membrane
Isyn : {kind}              # summed weights of the previous step's input spikes
Isyn_used : {kind}         # the sum this step's update used (what SPAIC records as Isyn)
thresh : {kind}            # adaptive threshold
refrac_count : integer     # refractory counter (refractory while >= 0 after the decrement)
adapting : integer (shared)  # 1: thresh grows per spike and halves above max (SPAIC); 0: fixed
"""
    # SPAIC truncates the input sum to an integer; in integer mode it already is one, and it
    # must stay a bare integer: Cython cannot pick an overload of Brian's ``int_`` for an int32
    # ("ambiguous overloaded method"), and Brian2 2.9 then silently skips the whole update.
    current = "int(Isyn_used)" if float_shift else "Isyn_used"
    # halving written so that no target divides by an integer array (numpy refuses x ** -1)
    halve = ("thresh = thresh - 0.5 * thresh * adapting * int(thresh > max_threshold)"
             if float_shift
             else "thresh = thresh // (1 + adapting * int(thresh > max_threshold))")
    update = f"""
{halve}
refrac_count = refrac_count - delta
Isyn_used = clip(Isyn, weight_sum_min, weight_sum_max)
V = V + int(refrac_count < 0) * ((decay * V) {shift} voltage_unit + (weight_sum_coef * {current}) {shift} weight_sum_unit - V)
V = V + int(V < lbound) * (lbound - V)
Isyn = 0
"""  # noqa: E501 (a Brian2 statement is one line)
    threshold = "V > thresh"
    reset = """
V = Vreset
refrac_count = reset_refrac
thresh = thresh + adapting * thresh_plus
"""
    return model, update, threshold, reset


def diehl_cook_int(n: int, float_shift: bool = False, name: str = None, **constants):
    """A ``NeuronGroup`` of ``n`` SPAIC ``diehlAndCook`` neurons (constants as keywords)."""
    from brian2 import NeuronGroup
    unknown = set(constants) - set(SPAIC_CONSTANTS)
    if unknown:
        raise ValueError(f"unknown constant(s) {sorted(unknown)}; allowed: "
                         f"{sorted(SPAIC_CONSTANTS)}")
    values = dict(SPAIC_CONSTANTS, **constants)
    for key, value in values.items():
        if isinstance(value, bool) or not float(value).is_integer():
            raise TypeError(f"{key} must be an integer, got {value!r}")
        values[key] = int(value)
    for key in ("shift_voltage", "shift_weight_sum_coef"):
        if not 0 <= values[key] <= 30:
            raise ValueError(f"{key} must be in [0, 30], got {values[key]}")
    if values["weight_sum_min"] > values["weight_sum_max"]:
        raise ValueError("weight_sum_min must be <= weight_sum_max")
    limit = 2 ** 31 - 1
    if abs(values["weight_sum_coef"]) * max(abs(values["weight_sum_min"]),
                                            abs(values["weight_sum_max"])) > limit:
        raise ValueError("weight_sum_coef * weight_sum_max overflows int32")
    model, update, threshold, reset = diehl_cook_int_templates(float_shift)
    namespace = dict(values, voltage_unit=2 ** values["shift_voltage"],
                     weight_sum_unit=2 ** values["shift_weight_sum_coef"])
    kwargs = {"name": name} if name else {}
    group = NeuronGroup(n, model, threshold=threshold, reset=reset, namespace=namespace,
                        **kwargs)
    group.run_regularly(update, when="groups", name=group.name + "_step")
    for key, value in SPAIC_INITIAL.items():
        setattr(group, key, value)
    return group


def schedule_transmission(synapses, pathway: str = "transmit") -> None:
    """Deliver ``pathway`` after the rule's end-of-step operations (halving and clamping).

    SPAIC's input at step ``k + 1`` is ``W @ spikes[k]`` with ``W`` as the learner left it at
    step ``k``; the sum waits in ``Isyn`` for the next step's update.
    """
    path = getattr(synapses, pathway)
    path.when, path.order = "after_resets", Order.TRANSMIT_INT


def run_start(group) -> None:
    """SPAIC's run start for this neuron: ``V`` and the input cleared, the rest carried."""
    group.V = 0
    group.Isyn = 0
    group.Isyn_used = 0


