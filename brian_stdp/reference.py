"""The executable spec: SPAIC's four STDP rules, step by step, in plain NumPy.

Each rule is a pair ``initial_state(...)`` / ``step(state, ...)`` working on SPAIC's layout
(weights ``[post, pre]``, spikes as 0/1 vectors). ``step`` does what SPAIC's learner op does in
ONE time step, in SPAIC's order; :func:`simulate` drives a rule over several runs ("samples")
with SPAIC's run-start resets. The Brian2 renderings are tested against this module, and this
module is tested against recordings of SPAIC itself (``shared/golden``).

Timing, as SPAIC executes it (see docs/semantics): the float rules see the spikes of the
PREVIOUS step (``pre_spikes``/``post_spikes`` arguments are those of step k-1); nearest and full
apply each change one step later still. The integer rule sees the spikes of THIS step.
"""
from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "NearestState", "nearest_online_build", "nearest_online_initial_state", "nearest_online_step",
    "FullState", "full_online_build", "full_online_initial_state", "full_online_step",
    "MetaState", "meta_nearest_online_build", "meta_nearest_online_initial_state",
    "meta_nearest_online_step",
    "IntState", "postpre_int_build", "postpre_int_initial_state", "postpre_int_step",
    "stochastic_round", "simulate",
]

#: SPAIC's default per-step trace decays: time constants of 20, 30 and 200 steps.
DECAY_20_STEPS = np.exp(-1 / 20)
DECAY_30_STEPS = np.exp(-1 / 30)
DECAY_200_STEPS = np.exp(-1 / 200)


def _normalise_rows(weight, w_norm):
    row_sum = np.sum(np.abs(weight), axis=1, keepdims=True)
    # A row of zeros stays zeros (SPAIC divides 0 by 0 and gets NaN: a defect not copied).
    return w_norm * weight / (row_sum + (row_sum == 0))


# --------------------------------------------------------------------------------------------
# nearest_online_STDP
@dataclass(frozen=True)
class NearestState:
    weight: np.ndarray         # [post, pre]
    input_trace: np.ndarray    # [pre]
    output_trace: np.ndarray   # [post]
    dw_stored: np.ndarray      # [post, pre], computed last step, applied this step


def nearest_online_build(w_init, w_norm=78.4):
    """SPAIC's build pass: normalise each post row to ``w_norm`` once, then clamp to [0, 1]."""
    return np.clip(_normalise_rows(np.asarray(w_init, dtype=float), w_norm), 0.0, 1.0)


def nearest_online_initial_state(weight):
    """The state at the start of a run: traces and the stored change cleared, weights kept."""
    weight = np.array(weight, dtype=float)
    n_post, n_pre = weight.shape
    return NearestState(weight, np.zeros(n_pre), np.zeros(n_post), np.zeros_like(weight))


def nearest_online_step(state, pre_spikes, post_spikes, Apost=1e-2, Apre=1e-4,
                        trace_pre=DECAY_20_STEPS, trace_post=DECAY_20_STEPS, w_norm=78.4):
    """One step; ``pre_spikes``/``post_spikes`` are the spikes of the previous step."""
    p = np.asarray(pre_spikes, dtype=float)
    q = np.asarray(post_spikes, dtype=float)
    input_trace = (1 - p) * (trace_pre * state.input_trace) + p       # a spike sets it to 1
    output_trace = (1 - q) * (trace_post * state.output_trace) + q
    dw_new = Apost * np.outer(q, input_trace) - Apre * np.outer(output_trace, p)
    weight = state.weight + state.dw_stored                           # last step's change
    weight = np.clip(_normalise_rows(weight, w_norm), 0.0, 1.0)       # every step
    return NearestState(weight, input_trace, output_trace, dw_new)


# --------------------------------------------------------------------------------------------
# full_online_STDP
FullState = NearestState


def full_online_build(w_init):
    """SPAIC's build pass for full_online: clamp to [0, 1]."""
    return np.clip(np.asarray(w_init, dtype=float), 0.0, 1.0)


full_online_initial_state = nearest_online_initial_state


def full_online_step(state, pre_spikes, post_spikes, normalise, Apost=1e-2, Apre=1e-4,
                     trace_decay=DECAY_20_STEPS, w_norm=78.4):
    """One step; ``normalise`` is True on the last step of a run (of a presentation period)."""
    p = np.asarray(pre_spikes, dtype=float)
    q = np.asarray(post_spikes, dtype=float)
    input_trace = p + trace_decay * state.input_trace                 # all-to-all: spikes add
    output_trace = q + trace_decay * state.output_trace
    dw_new = Apost * np.outer(q, input_trace) - Apre * np.outer(output_trace, p)
    weight = state.weight + state.dw_stored
    if normalise:
        weight = _normalise_rows(weight, w_norm)
    weight = np.clip(weight, 0.0, 1.0)
    return NearestState(weight, input_trace, output_trace, dw_new)


# --------------------------------------------------------------------------------------------
# Meta_nearest_online_STDP
@dataclass(frozen=True)
class MetaState:
    weight: np.ndarray         # [post, pre]
    input_trace: np.ndarray    # [pre], cleared at every run start
    output_trace: np.ndarray   # [post], carried over runs
    w_mean: np.ndarray         # [post], homeostatic target of each row's mean weight
    aw_mean: float             # the population mean the targets are held to


def meta_nearest_online_build(w_init):
    """SPAIC's build pass for Meta: the weights as given (no clamp, no normalisation)."""
    return np.array(w_init, dtype=float)


def meta_nearest_online_initial_state(weight):
    """State at the first run start: targets taken from the weights given."""
    weight = np.array(weight, dtype=float)
    n_post, n_pre = weight.shape
    w_mean = weight.mean(axis=1)
    return MetaState(weight, np.zeros(n_pre), np.zeros(n_post), w_mean, float(w_mean.mean()))


def meta_nearest_online_run_start(state):
    """SPAIC's run-start reset for Meta: only the input trace is cleared."""
    return replace(state, input_trace=np.zeros_like(state.input_trace))


def meta_nearest_online_step(state, pre_spikes, post_spikes, Apost=1e-2, Apre=1e-4,
                             pre_decay=DECAY_30_STEPS, post_decay=DECAY_200_STEPS,
                             w_min=0.0, w_max=1.0):
    """One step while training; ``pre_spikes``/``post_spikes`` are the previous step's."""
    p = np.asarray(pre_spikes, dtype=float)
    q = np.asarray(post_spikes, dtype=float)
    input_trace = pre_decay * state.input_trace * (p <= 0) + p
    output_trace = post_decay * state.output_trace * (q <= 0) + q
    dw = Apost * np.outer(q, input_trace) - Apre * np.outer(output_trace, p)   # no delay
    w_mean = state.w_mean - 0.1 * Apre * (output_trace - output_trace.mean())
    w_mean = w_mean * state.aw_mean / w_mean.mean()
    weight = state.weight
    soft_clamp = ((dw < 0) * np.exp(-0.2 / np.maximum(weight - w_min, 1e-4))
                  + (dw > 0) * np.exp(-0.2 / np.maximum(w_max - weight, 1e-4)))
    row_mean = np.maximum(weight.mean(axis=1), 1e-6)
    weight = weight * (w_mean / row_mean)[:, None] + dw * soft_clamp
    return MetaState(weight, input_trace, output_trace, w_mean, state.aw_mean)


# --------------------------------------------------------------------------------------------
# PostPreIntSTDP
@dataclass(frozen=True)
class IntState:
    weight: np.ndarray         # [post, pre], integers (float64 with float_shift=True)
    input_trace: np.ndarray    # [pre], integers
    output_trace: np.ndarray   # [post], integers


def stochastic_round(x, shift, draws):
    """``(x >> shift) + [draw < (x & (2**shift - 1))]``: unbiased rounding of ``x / 2**shift``.

    ``draws`` are uniform integers in ``[0, 2**shift)``, one per element.
    """
    x = np.asarray(x, dtype=np.int64)
    return (x >> shift) + (np.asarray(draws) < (x & ((1 << shift) - 1))).astype(np.int64)


def postpre_int_build(w_init, w_min=0, w_max=109):
    """SPAIC's build pass for the integer rule: clamp to [w_min, w_max]."""
    return np.clip(np.asarray(w_init), w_min, w_max)


def postpre_int_initial_state(weight, float_shift=False):
    """State at a run start: traces cleared. Integer weights unless ``float_shift``."""
    weight = np.array(weight, dtype=float if float_shift else np.int64)
    n_post, n_pre = weight.shape
    return IntState(weight, np.zeros(n_pre, np.int64), np.zeros(n_post, np.int64))


def postpre_int_step(state, pre_spikes, post_spikes, thresh, draws, trace_decay=31169,
                     shift_spike_trace=15, trace_scale=127, max_threshold=4915, shift=14,
                     nu0=14, nu1=141, w_min=0, w_max=109, pre_term_sign=+1, float_shift=False):
    """One step with THIS step's spikes and threshold.

    ``draws`` has shape ``[2, post, pre]``: the uniform integers of the pre-synaptic term and of
    the post-synaptic term. ``pre_term_sign=+1`` is the executed code (the pre-synaptic term is
    added); ``-1`` is the docstring's variant. ``float_shift=True`` halves rows as old PyTorch's
    float ``>>`` did (``w / 2``, fractions kept) instead of integer floor.
    """
    p = np.asarray(pre_spikes) > 0
    q = np.asarray(post_spikes) > 0
    spike_value = trace_scale if shift_spike_trace > 0 else 1
    input_trace = (trace_decay * state.input_trace) >> shift_spike_trace
    output_trace = (trace_decay * state.output_trace) >> shift_spike_trace
    input_trace = np.where(p, spike_value, input_trace)
    output_trace = np.where(q, spike_value, output_trace)
    n_post, n_pre = state.weight.shape
    pre_term = stochastic_round(np.repeat(output_trace[:, None] * nu0, n_pre, 1), shift, draws[0])
    post_term = stochastic_round(np.repeat(input_trace[None, :] * nu1, n_post, 0), shift, draws[1])
    weight = state.weight + pre_term_sign * pre_term * p[None, :]
    weight = weight + post_term * q[:, None]
    halve = (np.asarray(thresh) > max_threshold)[:, None]
    if float_shift:
        weight = np.where(halve, weight / 2, weight)
    else:
        weight = np.where(halve, weight // 2, weight)
    weight = np.clip(weight, w_min, w_max)
    return IntState(weight, input_trace, output_trace)


# --------------------------------------------------------------------------------------------
def simulate(rule, weight, in_spk, out_spk, params=None, thresh=None, draws=None,
             normalise_period=None, float_shift=False):
    """Run a rule open loop over ``R`` runs of ``T`` steps with SPAIC's run-start resets.

    ``in_spk [R, T, pre]`` and ``out_spk [R, T, post]`` are the spikes emitted at each step;
    ``weight`` is the weight after SPAIC's build pass. Returns the weights after every step,
    ``[R, T, post, pre]`` (and, for ``"meta"``, also ``w_mean [R, T, post]``).
    ``rule`` is one of ``"nearest"``, ``"full"``, ``"meta"``, ``"int"``; ``params`` the rule's
    keyword arguments. For ``"int"``, ``thresh [R, T, post]`` and ``draws [R, T, 2, post, pre]``
    are required. For ``"full"``, ``normalise_period`` (steps) defaults to the run length.
    """
    params = dict(params or {})
    in_spk = np.asarray(in_spk).reshape(np.shape(in_spk)[0], np.shape(in_spk)[1], -1)
    out_spk = np.asarray(out_spk).reshape(np.shape(out_spk)[0], np.shape(out_spk)[1], -1)
    n_runs, n_steps = in_spk.shape[:2]
    weights = []
    w_means = []
    meta_state = None
    for run in range(n_runs):
        if rule == "nearest" or rule == "full":
            state = nearest_online_initial_state(weight)
            period = normalise_period or n_steps
        elif rule == "meta":
            meta_state = (meta_nearest_online_initial_state(weight) if meta_state is None
                          else meta_nearest_online_run_start(meta_state))
            state = meta_state
        elif rule == "int":
            state = postpre_int_initial_state(weight, float_shift=float_shift)
        else:
            raise ValueError(f"rule must be 'nearest', 'full', 'meta' or 'int', not {rule!r}")
        no_pre = np.zeros(in_spk.shape[2])
        no_post = np.zeros(out_spk.shape[2])
        for k in range(n_steps):
            p_prev = in_spk[run, k - 1] if k > 0 else no_pre
            q_prev = out_spk[run, k - 1] if k > 0 else no_post
            if rule == "nearest":
                state = nearest_online_step(state, p_prev, q_prev, **params)
            elif rule == "full":
                state = full_online_step(state, p_prev, q_prev, (k + 1) % period == 0, **params)
            elif rule == "meta":
                state = meta_nearest_online_step(state, p_prev, q_prev, **params)
                w_means.append(state.w_mean)
            else:
                state = postpre_int_step(state, in_spk[run, k], out_spk[run, k],
                                         thresh[run, k], draws[run, k], float_shift=float_shift,
                                         **params)
            weights.append(state.weight)
        weight = state.weight
        if rule == "meta":
            meta_state = state
    weights = np.array(weights).reshape(n_runs, n_steps, *np.shape(weight))
    if rule == "meta":
        return weights, np.array(w_means).reshape(n_runs, n_steps, -1)
    return weights
