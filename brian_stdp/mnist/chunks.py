"""Run the MNIST network chunk by chunk, each chunk from explicit state, so that a job can stop
and resume with bit-identical results.

Why chunks
----------
A resumed job must continue exactly as if it had never stopped. That holds if what a chunk
computes depends only on (the state at its start, the run's seed, the chunk's index, its
presentations), and never on how the process got there. Every chunk therefore starts the same
way, in an uninterrupted job and after ``--resume`` alike:

* the simulation clock starts at 0 and the network is in its freshly built state (runtime:
  ``Network.restore`` of the state stored right after building; cpp_standalone: a new run of the
  compiled program);
* Brian's random generator is re-seeded with :func:`chunk_seed` ``(seed, chunk index)``;
* the *carried state* (below) is written into the network, unless this is the first chunk of a
  fresh job (then the built network's own initial state is the state);
* the chunk's presentation rates are written into the input ``TimedArray`` (one row per
  presentation of the chunk).

A chunk is a fixed number of presentation periods; how many digits it gets through depends on
how many it shows again (Diehl & Cook's re-presentation), so the job runs chunks until its
digits are done, and a repetition still going at a chunk's end continues in the next one (the
presenter's ``repeat`` is carried). A phase's last chunk idles (silent inputs) after its last
digit. After the chunk the carried state is read back; it is all a checkpoint needs besides the
spike counts. An uninterrupted job and a job resumed from the checkpoint of chunk ``k`` feed chunk
``k + 1`` the same arrays, so they compute the same bits. The chunk length (``--chunk``) is part
of the result (it decides where the random streams restart), how often checkpoints are written
(``--checkpoint-every``) is not.

What is carried
---------------
Every per-neuron state variable of the excitatory and inhibitory groups and of the rule's row /
column helper groups (membrane, conductances, adaptive threshold, ``lastspike`` moved back by
the chunk's duration so that refractoriness continues; row state such as meta's ``w_mean`` and
post trace), and the weights. Not carried, because a chunk boundary is a presentation boundary
and they are per-presentation state that the next presentation discards anyway:

* the rule's per-synapse pending changes: each presentation is one SPAIC run, and pending
  changes are applied or cleared before a step ends. (The rules' per-run traces in the helper
  groups are carried like any neuron state, and cleared by the rule at the presentation's start.)
* the delayed spikes in flight to the rule's learning pathways: a spike from an earlier run
  changes nothing (``learning`` is 0 for it);
* ``not_refractory``, recomputed from ``lastspike`` before every threshold test; shared flags
  (``plastic``, ``adapting``, run bookkeeping), set by the chunk's phase; row sums that the rule
  recomputes at every run start (full_online: on the step that normalises); the rule's
  population sums, recomputed every step.

Against one long run, a chunk boundary therefore changes the random stream (re-seeded), which
no result depends on beyond its statistics, and floating-point rounding (row sums recomputed
from the weights instead of updated step by step) - not the method.

cpp_standalone
--------------
The program is compiled once with one ``run()`` per kind of chunk (training / evaluation, full
length / the shorter last chunk of a phase), each wrapped in ``if (chunk_mode == m)`` by
``device.insert_code``; the chunk's seed, mode, rates and carried state are passed with
``device.run(run_args=...)``, which re-runs the binary without recompiling (and so are the
protocol settings of a network built with ``settings_at_run_time``, as ``brian-stdp tune``
builds it, :func:`brian_stdp.mnist.network.run_time_settings`). A one-neuron group
``chunk_control`` holds the seed and the mode; code inserted after the run arguments are
applied seeds the generator from it, as Brian's own ``seed()`` would (``seed + thread``).
"""
import os
import shutil
import time

import numpy as np

from . import network, signals
from .. import brian2_private
from ..rendering import attachment_of

__all__ = ["chunk_seed", "accepted_periods", "carried_variables", "spike_counts",
           "RuntimeRunner", "StandaloneRunner"]


def chunk_seed(seed, index):
    """The seed of chunk ``index`` of a run with ``seed``: the same in every process."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(1, dtype=np.uint32)
    return int(state[0] % (2**31 - 1))


def accepted_periods(period_totals, repeat, n_digits, min_spikes, max_repeats):
    """Diehl & Cook's re-presentation over one chunk, as the simulation's presenter decides it
    (:data:`brian_stdp.mnist.network.PERIOD_END`), from the excitatory spikes of each period.

    The chunk starts at its first digit with ``repeat`` (a repetition carried over from the
    previous chunk). A digit's period is accepted when it drew at least ``min_spikes`` spikes
    or the digit was already shown again ``max_repeats`` times; otherwise the digit is shown
    again. Returns ``(accepted, repeat, repeats)``: the index of each digit's accepted period,
    the repetition count the chunk ends with, and how many periods were repetitions.
    """
    accepted, digit, repeats = [], 0, 0
    for period, total in enumerate(period_totals):
        if digit >= n_digits:
            break  # idle to the chunk's end
        if total >= min_spikes or repeat >= max_repeats:
            accepted.append(period)
            digit, repeat = digit + 1, 0
        else:
            repeat, repeats = repeat + 1, repeats + 1
    return np.array(accepted, dtype=int), repeat, repeats


def spike_counts(spike_i, spike_t, period_s, length, n_neurons):
    """``[length, n_neurons]``: each neuron's spikes in each presentation of a chunk (spike
    times from the chunk's start, in s)."""
    sample = np.minimum((spike_t / period_s + 1e-6).astype(int), length - 1)
    counts = np.zeros((length, n_neurons), dtype=np.int32)
    np.add.at(counts, (sample, spike_i), 1)
    return counts


def carried_variables(parts):
    """``[(key, group, name)]``: the per-neuron state variables a chunk hands to the next."""
    from brian2.core.variables import ArrayVariable
    groups = [parts["exc"], parts["inh"]]
    attached = attachment_of(parts["synapses"])
    groups += [attached.post_state, attached.pre_state]
    carried = []
    for group in groups:
        if group is None:
            continue
        for name in sorted(group.variables):
            var = group.variables[name]
            if (name.startswith("_") or not isinstance(var, ArrayVariable) or var.scalar
                    or var.read_only or var.dtype == bool or var.owner.name != group.name):
                continue
            carried.append((f"{group.name}.{name}", group, name))
    return carried


def synapse_order(n_pre, n_post):
    """``(i, j)`` of each synapse of ``connect(True)``: pre-major, as Brian2 creates them."""
    return np.repeat(np.arange(n_pre), n_post), np.tile(np.arange(n_post), n_pre)


class _Runner:
    """What both devices share: the carried state in and out, the spikes of a chunk."""

    def __init__(self, parts, net, max_length):
        self.parts, self.net = parts, net
        self.carried = carried_variables(parts)
        self.max_length = max_length
        S = parts["synapses"]
        self.n_pre, self.n_post = len(S.source), len(S.target)
        self.order = synapse_order(self.n_pre, self.n_post)
        self.order_checked = False
        self.rates = parts["rates"]
        self.period_s = float(parts["period"])
        self.timings = {"simulation_s": 0.0}

    def keys(self):
        return ["weights"] + [key for key, _, _ in self.carried]

    def _padded_rates(self, rows):
        # The network's table has one silent row more than a chunk has digits (network.py).
        padded = np.zeros((self.max_length + 1, rows.shape[1]))
        padded[:len(rows)] = rows
        return padded

    def _presenter_end(self):
        presenter = self.parts["presenter"]
        return (int(presenter.variables["digit"].get_value()[0]),
                int(presenter.variables["repeat"].get_value()[0]))

    def _weights_to_synapses(self, weights):
        i, j = self.order
        return np.asarray(weights)[j, i]

    def _read_state(self, duration_s):
        S = self.parts["synapses"]
        if not self.order_checked:
            i, j = self.order
            if not (np.array_equal(S.i[:], i) and np.array_equal(S.j[:], j)):
                raise RuntimeError("the input synapses are not in Brian2's usual connect(True) "
                                   "order; the checkpoint layout relies on it")
            self.order_checked = True
        w = np.array(S.variables["w"].get_value(), copy=True)
        weights = np.zeros((self.n_post, self.n_pre), dtype=w.dtype)
        weights[self.order[1], self.order[0]] = w
        state = {"weights": weights}
        for key, group, name in self.carried:
            value = np.array(group.variables[name].get_value(), copy=True)
            if group.variables[name].dim is _second_dim():
                value = value - duration_s  # times relative to the next chunk's start
            state[key] = value
        return state

    def _spikes(self):
        spikes = self.parts["spikes"]
        return (np.asarray(spikes.i[:], dtype=int),
                np.asarray(spikes.variables["t"].get_value(), dtype=float))


def _second_dim():
    from brian2 import second
    return second.dim


class RuntimeRunner(_Runner):
    """Runtime mode (numpy or cython): one network, restored to its built state per chunk."""

    def __init__(self, parts, net, max_length):
        super().__init__(parts, net, max_length)
        for group, name, value in network.run_time_settings(parts):
            setattr(group, name, value)  # stored with the built state, restored every chunk
        net.store("chunk_start")

    def run(self, index, rows, length, learning, seed, state, repeat):
        """Run chunk ``index``: ``length`` periods presenting the digits whose base rates are
        ``rows``, from carried ``state`` (None for the built state), the first digit already
        shown again ``repeat`` times. Return ``(state after it, spike indices, spike times,
        (digits done, repeat at the end))``."""
        import brian2
        net = self.net
        net.restore("chunk_start")
        brian2.seed(seed)
        # In place: the generated code reads the TimedArray's own array.
        self.rates.values[:] = self._padded_rates(rows)
        if state is not None:
            self.parts["synapses"].variables["w"].set_value(
                self._weights_to_synapses(state["weights"]))
            for key, group, name in self.carried:
                group.variables[name].set_value(state[key])
        presenter = self.parts["presenter"]
        presenter.repeat = repeat
        presenter.n_digits = len(rows)
        network.set_learning(self.parts, learning)
        duration = length * self.parts["period"]
        t0 = time.time()
        net.run(duration, namespace={})
        self.timings["simulation_s"] += time.time() - t0
        if abs(float(net.t_) - float(duration)) > 0.5 * float(brian2.defaultclock.dt):
            # Stopped early by Ctrl-C (core.stop_on_keyboard_interrupt): never a complete chunk.
            raise KeyboardInterrupt
        return self._read_state(float(duration)), *self._spikes(), self._presenter_end()


class StandaloneRunner(_Runner):
    """cpp_standalone: one compiled program, re-run per chunk through ``run_args``."""

    def __init__(self, parts, net, max_length, kinds, project_dir):
        """``kinds``: the distinct ``(length, learning)`` of the chunks this job will run."""
        super().__init__(parts, net, max_length)
        import brian2
        from brian2 import NeuronGroup
        device = brian2.get_device()
        self.device, self.project_dir = device, project_dir
        control = NeuronGroup(1, "chunk_seed : integer (shared)\nchunk_mode : integer (shared)",
                              name="chunk_control")
        net.add(control)
        self.control = control
        device.apply_run_args()  # the run arguments are applied here, before any chunk code
        seed_array = device.get_array_name(control.variables["chunk_seed"])
        mode_array = device.get_array_name(control.variables["chunk_mode"])
        threads = max(1, brian2.prefs.devices.cpp_standalone.openmp_threads)
        device.insert_code("main", f"for (int _i=0; _i<{threads}; _i++)\n"
                                   f"    brian::_random_generators[_i].seed("
                                   f"(unsigned long)brian::{seed_array}[0] + _i);")
        if not any(learning for _, learning in kinds):
            # Brian2 declares a synaptic pathway in the standalone program only if some run
            # has it active, yet writes its spike-queue set-up into every run: a program whose
            # runs are all frozen (``--train 0``) does not compile. A learning run that never
            # executes declares them.
            device.insert_code("main", "if (false) {")
            net.t_ = 0.0
            net.run(0 * parts["period"], namespace={})
            device.insert_code("main", "}")
        # Training kinds first: their run() calls come before the freezing ones.
        self.modes = {}
        for mode, (length, learning) in enumerate(sorted(set(kinds), key=lambda k: not k[1])):
            self.modes[(length, learning)] = mode
            device.insert_code("main", f"if (brian::{mode_array}[0] == {mode}) {{")
            if not learning:
                network.freeze(parts)
            net.t_ = 0.0  # every chunk starts at t = 0
            net.run(length * parts["period"], namespace={})
            device.insert_code("main", "}")

    def build(self, on_compile=None, keep=None):
        """Write the program and take it from the build directory's cache, compiling it only
        if no process has (:class:`brian_stdp.mnist.builds.ProgramCache`); the program stays
        held until :meth:`close`. Returns whether this job compiled it."""
        import contextlib

        import brian2

        from . import builds
        # The same network gives the same main.cpp in every process (Brian2 writes some of it
        # in an order that follows object addresses), so the same network has the same key.
        brian2_private.canonical_clock_order(self.device)

        def write(directory):
            with brian2_private.code_objects_in_one_file(self.device):
                brian2_private.write_project(self.device, directory)

        prefs = brian2.prefs.devices.cpp_standalone
        self._held = contextlib.ExitStack()
        try:
            cache = builds.ProgramCache(self.project_dir, keep=keep)
            started = time.time()
            program, compiled = self._held.enter_context(cache.build(
                write, prefs.make_cmd_unix, prefs.extra_make_args_unix, on_compile))
            self.device.timers["compile"]["make"] = time.time() - started if compiled else 0.0
            self.program = self.device.project_dir = program
            run_directory = builds.RunDirectory()
            self._held.callback(run_directory.close)
            self.run_directory = run_directory.path
        except BaseException:
            self._held.close()
            raise
        return compiled

    def close(self):
        """Let go of the program (other processes may then remove it from the cache) and
        remove this job's run directory."""
        held = getattr(self, "_held", None)
        if held is not None:
            held.close()

    def run(self, index, rows, length, learning, seed, state, repeat):
        """As :meth:`RuntimeRunner.run`: one run of the compiled program."""
        from brian2 import Hz, Quantity
        from brian2.units.fundamentalunits import DIMENSIONLESS
        mode = self.modes[(length, learning)]
        presenter = self.parts["presenter"]
        run_args = {self.control.chunk_seed: seed, self.control.chunk_mode: mode,
                    self.rates: self._padded_rates(rows) * Hz,
                    presenter.repeat: np.array([repeat]),
                    presenter.n_digits: np.array([len(rows)])}
        # Settings as run-time variables (network.run_time_settings): set for every run, so
        # that one compiled program serves every value of them.
        for group, name, value in network.run_time_settings(self.parts):
            run_args[getattr(group, name)] = value
        if state is not None:
            S = self.parts["synapses"]
            run_args[S.w] = self._weights_to_synapses(state["weights"])
            for key, group, name in self.carried:
                dim = group.variables[name].dim
                value = state[key]
                run_args[getattr(group, name)] = (value if dim is DIMENSIONLESS
                                                  else Quantity(value, dim=dim))
        # The arguments and the results live in this job's run directory: nothing is written
        # into the program's, which other jobs may be running at the same time.
        arguments = os.path.join(self.run_directory, "arguments")
        shutil.rmtree(arguments, ignore_errors=True)  # one chunk's inputs: not needed again
        os.makedirs(arguments)
        strings = brian2_private.run_arguments(self.device, run_args, arguments)
        results = os.path.relpath(os.path.join(self.run_directory, "results"), self.program)
        try:
            self.device.run(directory=self.program, results_directory=results,
                            with_output=False, run_args=strings)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (signals.Terminated)
            signals.stop_programs_started_in(self.program)
            raise
        self.timings["simulation_s"] += float(self.device.timers["run_binary"])
        return (self._read_state(length * self.period_s), *self._spikes(),
                self._presenter_end())
