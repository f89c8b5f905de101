"""The job's network settings per rule and size: the values ``brian-stdp mnist`` uses for every
setting left unset (``None``) on the command line, and the rule parameters it uses for a rule
named by ``--rule``.

Diehl & Cook note that the threshold increment and the inhibition "needed to be adapted" to
the network size, without giving values. The float network keeps their intensity and
inhibition at both sizes, and their theta_plus (0.05 mV) with 100 neurons; with 400 its
theta_plus is 0.1 mV (swept: 0.05 left too little competition at that size). The integer
network's inhibition was swept. Meta with 100 neurons takes its own theta_plus and learning
amplitudes (:data:`BY_RULE`), found by ``brian-stdp tune`` (docs/tuning.rst). Sweeps run on
``--seed 1 --split-seed 1`` so that the job's default split checks them
(``benchmarks/sweep_mnist.py``; the tables are in ``docs/mnist.rst``). A size between two
listed sizes takes the settings of the nearest listed size.

``intensity``: factor of the base rates (pixel / 4 Hz, 63.75 Hz for a white pixel);
``theta_plus``: mV added to an excitatory threshold per spike (float network);
``inhibition``: weight of the inhibitory -> excitatory synapses (float network, a conductance
as D&C's 17.0) or what one excitatory spike subtracts from every other neuron's input sum
(integer network).
"""

#: Settings by network family (``"float"``: conductance-based D&C neurons; ``"int"``: SPAIC's
#: integer neuron with PostPreIntSTDP) and number of excitatory neurons.
TUNED = {
    "float": {
        100: {"intensity": 1.0, "theta_plus": 0.05, "inhibition": 17.0},
        400: {"intensity": 1.0, "theta_plus": 0.1, "inhibition": 17.0},
    },
    "int": {
        100: {"intensity": 1.0, "theta_plus": None, "inhibition": 8000},
        400: {"intensity": 1.0, "theta_plus": None, "inhibition": 1000},
    },
}
SETTINGS = ("intensity", "theta_plus", "inhibition")

#: What a rule's own study found, on top of its family's settings: job settings and rule
#: parameters (SPAIC's defaults for the rest), by size. A rule or size not listed takes its
#: family's settings and SPAIC's parameters. Meta with 100 neurons: two studies of
#: ``brian-stdp tune`` with two network seeds per trial, checked on the held-out digits
#: (docs/tuning.rst).
BY_RULE = {
    "meta_nearest_online_STDP": {
        100: {"settings": {"theta_plus": 0.07}, "parameters": {"Apost": 0.013, "Apre": 1.3e-5}},
    },
}


def family(rule) -> str:
    return "int" if rule.integer else "float"


def _listed_size(rule, neurons):
    """The size listed for ``rule``'s family nearest to ``neurons`` (the smaller one of two as
    near)."""
    return min(TUNED[family(rule)], key=lambda listed: (abs(listed - neurons), listed))


def _studied(rule, neurons):
    """What ``rule``'s own study found at the listed size nearest to ``neurons`` ({} if none)."""
    return BY_RULE.get(rule.name, {}).get(_listed_size(rule, neurons), {})


def tuned(rule, neurons: int) -> dict:
    """The tuned settings of ``rule`` (its family's, and its own study's) for ``neurons``
    excitatory neurons."""
    family_settings = TUNED[family(rule)][_listed_size(rule, neurons)]
    return {**family_settings, **_studied(rule, neurons).get("settings", {})}


def rule_parameters(rule_class, neurons: int) -> dict:
    """The parameters the job gives ``rule_class`` (named by ``--rule``, not read from a
    ``--rule-file``) for ``neurons`` excitatory neurons: its study's, if any; SPAIC's
    defaults for the rest."""
    return dict(_studied(rule_class, neurons).get("parameters", {}))


def resolve(config, rule) -> dict:
    """Every setting of :data:`SETTINGS`: the config's value where given, else the tuned one."""
    values = tuned(rule, config.neurons)
    for name in SETTINGS:
        given = getattr(config, name)
        if given is not None:
            values[name] = given
    return values
