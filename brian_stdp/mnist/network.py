"""The Diehl & Cook (2015) network, trained and tested with any brian_stdp rule.

784 Poisson inputs (rate = pixel / 4 Hz, times ``intensity``, plus ``intensity_step`` per
repetition) -> N excitatory conductance-based LIF neurons with adaptive thresholds -> N
inhibitory neurons (one-to-one), which inhibit every excitatory neuron but their own partner.
The input weights learn with the chosen rule.

The network runs in chunks of presentations (see :mod:`brian_stdp.mnist.chunks`), in two phases:

1. training: every digit is shown for ``presentation`` (then ``rest`` of silence); the rule is
   attached with ``period = presentation + rest``, so each presentation is one SPAIC run (per-run
   state cleared inside the simulation). A digit that draws too few excitatory spikes is shown
   again, brighter (Diehl & Cook's re-presentation, :data:`PERIOD_END`);
2. evaluation, learning frozen (``plastic = False``, thresholds fixed): the labelling digits
   (training digits) and then the held-out digits. The learning machinery's per-step operations
   are switched off for this phase: with frozen weights they would compute nothing, and they are
   most of the cost of a step.

The base rates of a chunk's digits are one 2-D ``TimedArray`` (``parts["rates"]``) indexed by
digit and pixel; the presenter says which row is shown and how much brighter; the chunk runner
replaces the rows for every chunk.
"""
import numpy as np

__all__ = ["build", "build_int", "freeze", "set_learning", "run_time_settings",
           "RUN_TIME_SETTINGS", "EXC", "INH"]

#: The protocol settings that ``settings_at_run_time=True`` turns from compiled constants into
#: shared variables, set before every run (:func:`run_time_settings`): a cpp_standalone program
#: compiled once then serves every value of them (``brian-stdp tune``).
RUN_TIME_SETTINGS = ("intensity", "intensity_step", "min_spikes", "max_repeats", "theta_plus",
                     "inhibition")

# Diehl & Cook 2015's constants (their code, ``Diehl&Cook_spiking_MNIST.py``).
EXC = dict(v_rest_e=-65.0, v_reset_e=-65.0, v_thresh_e=-52.0, tau_e=100.0, E_exc_e=0.0,
           E_inh_e=-100.0, tau_ge=1.0, tau_gi=2.0, refractory_e=5.0, theta_offset=20.0,
           theta_init=20.0, tau_theta=1e7)
INH = dict(v_rest_i=-60.0, v_reset_i=-45.0, v_thresh_i=-40.0, tau_i=10.0, E_exc_i=0.0,
           E_inh_i=-85.0, refractory_i=2.0)
W_EXC_INH = 10.4
W_INH_EXC = 17.0

EXC_MODEL = """
dv/dt = ((v_rest_e - v) + ge * (E_exc_e - v) + gi * (E_inh_e - v)) / tau_e : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
dtheta/dt = -adapting * theta / tau_theta : volt
adapting : 1 (shared)  # 1 while training: thresholds adapt; 0 while testing: fixed
"""  # noqa: E501
INH_MODEL = """
dv/dt = ((v_rest_i - v) + ge * (E_exc_i - v) + gi * (E_inh_i - v)) / tau_i : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
"""  # noqa: E501


def _namespace(theta_plus_mV):
    from brian2 import mV, ms
    ns = {}
    for key, value in {**EXC, **INH}.items():
        ns[key] = value * (ms if key.startswith(("tau", "refractory")) else mV)
    ns["theta_plus"] = theta_plus_mV * mV
    return ns


#: The presenter: which digit of the chunk's rate table the inputs show, at which intensity.
PRESENTER_MODEL = """
digit : integer          # row of the chunk's rate table shown now
repeat : integer         # times this digit has been shown again (each adds an intensity step)
period_spikes : integer  # excitatory spikes so far in this period
n_digits : integer       # rows of the table holding digits; later rows are silent padding
"""
#: Diehl & Cook's re-presentation, decided in the last step of every period, inside the
#: simulation (no Python between presentations, also in cpp_standalone): a digit that drew
#: fewer than ``min_spikes`` excitatory spikes is shown again, one intensity step higher, at
#: most ``max_repeats`` times; otherwise the next digit follows at the base intensity. Periods
#: after the table's last digit are idle (silent inputs, nothing counted).
#: :func:`brian_stdp.mnist.chunks.accepted_periods` is the same decision in NumPy.
PERIOD_END = """
period_ends = int(timestep(t, dt) % period_steps == period_steps - 1)
shown = period_ends * int(digit < n_digits)
accepted = int(period_spikes >= min_spikes or repeat >= max_repeats)
digit += shown * accepted
repeat = (repeat + shown) * (1 - shown * accepted)
period_spikes = period_spikes * (1 - period_ends)
"""
INPUT_MODEL = """
rates = input_rates(digit_shown * period, i) * (intensity + intensity_step * repeat_shown) * showing : Hz
showing = int(timestep(t, dt) % period_steps < presentation_steps) : 1  # 0 while resting
digit_shown : integer (linked)
repeat_shown : integer (linked)
"""  # noqa: E501


def _clock_and_inputs(rates_hz, period_steps, presentation_steps, dt_ms, seed, protocol,
                      at_run_time=False):
    """Seed Brian's generator and set the clock; return ``(inputs, presenter, rates, period,
    objects)``: Poisson inputs reading their rates from the table ``rates`` (one row per digit
    of a chunk; row ``presenter.digit`` is shown), silent after ``presentation_steps`` of every
    period, and the presenter that moves through the table (:data:`PERIOD_END`).
    ``at_run_time``: the protocol's intensities and re-presentation limits are shared variables
    of these groups instead of namespace constants."""
    from brian2 import Hz, NeuronGroup, TimedArray, defaultclock, linked_var, ms
    from brian2 import seed as brian_seed
    brian_seed(seed)
    defaultclock.dt = dt_ms * ms
    period = period_steps * dt_ms * ms
    # One padding row more than the presenter can reach: past the last digit, rates are 0.
    table = np.zeros((rates_hz.shape[0] + 1, rates_hz.shape[1]))
    table[:-1] = rates_hz
    rates = TimedArray(table * Hz, dt=period, name="input_rates")
    presenter_ns = {"period_steps": period_steps, "min_spikes": protocol["min_spikes"],
                    "max_repeats": protocol["max_repeats"]}
    input_ns = {"input_rates": rates, "period": period, "intensity": protocol["intensity"],
                "intensity_step": protocol["intensity_step"], "period_steps": period_steps,
                "presentation_steps": presentation_steps}
    presenter_model, input_model = PRESENTER_MODEL, INPUT_MODEL
    if at_run_time:
        presenter_model += "min_spikes : integer (shared)\nmax_repeats : integer (shared)\n"
        input_model += "intensity : 1 (shared)\nintensity_step : 1 (shared)\n"
        for name in ("min_spikes", "max_repeats"):
            del presenter_ns[name]
        for name in ("intensity", "intensity_step"):
            del input_ns[name]
    presenter = NeuronGroup(1, presenter_model, name="presenter", namespace=presenter_ns)
    end_of_period = presenter.run_regularly(PERIOD_END, when="end", name="presenter_period_end")
    inputs = NeuronGroup(rates_hz.shape[1], input_model, threshold="rand() < rates * dt",
                         name="inputs", namespace=input_ns)
    index = np.zeros(len(inputs), dtype=int)  # Brian2 wants the platform int
    inputs.digit_shown = linked_var(presenter, "digit", index=index)
    inputs.repeat_shown = linked_var(presenter, "repeat", index=index)
    return inputs, presenter, rates, period, [presenter, end_of_period]


def _spike_counter(exc, presenter):
    from brian2 import Synapses
    counter = Synapses(exc, presenter, on_pre="period_spikes_post += 1", name="spike_counter")
    counter.connect()
    return counter


def _parts(objects, inputs, presenter, exc, inh, learned, period, rates, settings=None):
    """The network (with a monitor of the excitatory spikes) and its parts, by role;
    ``settings``: the run-time settings (:func:`run_time_settings`), if any."""
    from brian2 import Network, SpikeMonitor
    spikes = SpikeMonitor(exc, name="excitatory_spikes")
    objects = objects + [_spike_counter(exc, presenter), spikes]
    return {"network": Network(objects), "inputs": inputs, "presenter": presenter, "exc": exc,
            "inh": inh, "synapses": learned, "spikes": spikes, "period": period, "rates": rates,
            "run_time_settings": settings or []}


def run_time_settings(parts):
    """``[(group, variable name, value)]``: the settings a network built with
    ``settings_at_run_time=True`` reads from shared variables, with the values to set before
    every run (values with their units); empty for a network with compiled-in settings."""
    return parts["run_time_settings"]


def _settings(protocol, inputs, presenter, exc, inhibition_synapses, float_network):
    """The values of :data:`RUN_TIME_SETTINGS` for the groups holding them."""
    from brian2 import mV
    settings = [(inputs, "intensity", float(protocol["intensity"])),
                (inputs, "intensity_step", float(protocol["intensity_step"])),
                (presenter, "min_spikes", int(protocol["min_spikes"])),
                (presenter, "max_repeats", int(protocol["max_repeats"]))]
    if float_network:
        settings.append((exc, "theta_plus", float(protocol["theta_plus"]) * mV))
        settings.append((inhibition_synapses, "inhibition", float(protocol["inhibition"])))
    else:
        settings.append((inhibition_synapses, "inhibition", int(protocol["inhibition"])))
    return settings


def build(rule, n_neurons, rates_hz, period_steps, presentation_steps, dt_ms, initial_weights,
          protocol, seed, settings_at_run_time=False, row_scaling=None):
    """Create the network's objects in the current device; return them in a dict.

    ``rates_hz`` [digits, 784]: the base input rates of one chunk's digits, in order (the chunk
    runner rewrites them for each chunk; the shape stays). ``initial_weights`` [n_neurons, 784]
    (SPAIC's [post, pre]). ``protocol``: ``intensity`` and ``intensity_step`` (factors of the
    base rates), ``min_spikes`` and ``max_repeats`` (:data:`PERIOD_END`), ``theta_plus`` (mV)
    and ``inhibition`` (the inhibitory -> excitatory weight). ``settings_at_run_time``: those
    six settings are shared variables (:data:`RUN_TIME_SETTINGS`), set before every run from
    ``parts["run_time_settings"]``, instead of constants compiled into the code; the job's own
    network keeps them constants. ``row_scaling``: see ``rule.synapses`` (None: the rule's
    default).
    """
    from brian2 import NeuronGroup, Synapses
    inputs, presenter, rates, period, objects = _clock_and_inputs(
        rates_hz, period_steps, presentation_steps, dt_ms, seed, protocol, settings_at_run_time)
    ns = _namespace(protocol["theta_plus"])
    exc_model, inh_exc_model, inh_exc_ns = EXC_MODEL, "", {"inhibition": protocol["inhibition"]}
    if settings_at_run_time:
        del ns["theta_plus"]
        exc_model += "theta_plus : volt (shared)\n"
        inh_exc_model, inh_exc_ns = "inhibition : 1 (shared)", {}
    exc = NeuronGroup(n_neurons, exc_model,
                      threshold="v > theta - theta_offset + v_thresh_e",
                      reset="v = v_reset_e\ntheta += adapting * theta_plus",
                      refractory="refractory_e", method="exponential_euler", namespace=ns,
                      name="excitatory")
    inh = NeuronGroup(n_neurons, INH_MODEL, threshold="v > v_thresh_i", reset="v = v_reset_i",
                      refractory="refractory_i", method="exponential_euler", namespace=ns,
                      name="inhibitory")
    exc.v = "v_rest_e"
    exc.theta = "theta_init"
    exc.adapting = 1
    inh.v = "v_rest_i"
    objects += [inputs, exc, inh]
    if presentation_steps == period_steps:
        # No rest phase: each presentation starts from rest, as after D&C's 150 ms of silence.
        objects.append(exc.run_regularly("v = v_rest_e\nge = 0\ngi = 0", dt=period,
                                         when="start", order=-100, name="excitatory_reset"))
        objects.append(inh.run_regularly("v = v_rest_i\nge = 0\ngi = 0", dt=period,
                                         when="start", order=-100, name="inhibitory_reset"))
    rendering = {} if row_scaling is None else {"row_scaling": row_scaling}
    learned = rule.synapses(inputs, exc, on_pre="ge_post += w", period=period, name="input_exc",
                            **rendering)
    learned.connect(True)
    rule.set_weights(learned, initial_weights)
    exc_inh = Synapses(exc, inh, on_pre=f"ge_post += {W_EXC_INH}", name="exc_to_inh")
    exc_inh.connect(j="i")
    inh_exc = Synapses(inh, exc, inh_exc_model, on_pre="gi_post += inhibition",
                       name="inh_to_exc", namespace=inh_exc_ns)
    inh_exc.connect(condition="i != j")
    objects += [learned, exc_inh, inh_exc]
    settings = (_settings(protocol, inputs, presenter, exc, inh_exc, float_network=True)
                if settings_at_run_time else None)
    return _parts(objects, inputs, presenter, exc, inh, learned, period, rates, settings)


def set_learning(parts, learning):
    """Learning on (training) or off (weights and thresholds fixed, learning operations off)
    for the next run."""
    from brian2.groups.group import Group

    from ..rendering import attachment_of
    parts["synapses"].plastic = bool(learning)
    parts["exc"].adapting = int(bool(learning))  # both neuron models have the flag
    for obj in attachment_of(parts["synapses"]).objects:
        # The per-step operations (row sums, normalisation, pending changes) only move the
        # weights while plastic; the helper groups hold state the spike code still reads.
        if not isinstance(obj, Group):
            obj.active = bool(learning)


def freeze(parts):
    """Stop learning for the next run: weights and thresholds fixed, learning operations off."""
    set_learning(parts, False)


def build_int(rule, n_neurons, rates_hz, period_steps, presentation_steps, dt_ms,
              initial_weights, protocol, seed, settings_at_run_time=False):
    """The same job with SPAIC's integer Diehl & Cook neuron and an integer rule
    (``rule.integer``, PostPreIntSTDP).

    Integer weights in [w_min, w_max] reach the neurons through the ``transmit`` pathway after
    the rule's halving (SPAIC's order); each excitatory spike subtracts ``inhibition`` from
    the other neurons' next input sum (a direct stand-in for the inhibitory population). Each
    period starts as a SPAIC run: ``V`` and the input cleared, thresholds carried over.
    ``settings_at_run_time`` as for :func:`build` (``theta_plus`` has no role here).
    """
    from brian2 import Synapses

    from ..neurons import TRANSMIT, diehl_cook_int, schedule_transmission
    inputs, presenter, rates, period, objects = _clock_and_inputs(
        rates_hz, period_steps, presentation_steps, dt_ms, seed, protocol, settings_at_run_time)
    exc = diehl_cook_int(n_neurons, name="excitatory")
    objects += [inputs, exc, exc.run_regularly("V = 0\nIsyn = 0\nIsyn_used = 0", dt=period,
                                              when="start", order=-100,
                                              name="excitatory_reset")]
    learned = rule.synapses(inputs, exc, on_pre=TRANSMIT, period=period, name="input_exc")
    learned.connect(True)
    schedule_transmission(learned)
    rule.set_weights(learned, initial_weights)
    if settings_at_run_time:
        inhibition = Synapses(exc, exc, "inhibition : integer (shared)",
                              on_pre="Isyn_post -= inhibition", name="lateral_inh")
    else:
        inhibition = Synapses(exc, exc, on_pre="Isyn_post -= inhibition", name="lateral_inh",
                              namespace={"inhibition": int(protocol["inhibition"])})
    inhibition.connect(condition="i != j")
    objects += [learned, inhibition]
    settings = (_settings(protocol, inputs, presenter, exc, inhibition, float_network=False)
                if settings_at_run_time else None)
    return _parts(objects, inputs, presenter, exc, None, learned, period, rates, settings)
