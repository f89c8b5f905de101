"""The job's network settings per rule and size: the values ``brian-stdp mnist`` uses for every
setting left unset (``None``) on the command line.

Diehl & Cook note that the threshold increment and the inhibition "needed to be adapted" to
the network size, without giving values. The float network keeps their intensity and
inhibition at both sizes, and their theta_plus (0.05 mV) with 100 neurons; with 400 its
theta_plus is 0.1 mV (swept: 0.05 left too little competition at that size). The integer
network's inhibition was swept. Sweeps run on
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


def family(rule) -> str:
    return "int" if rule.integer else "float"


def tuned(rule, neurons: int) -> dict:
    """The tuned settings of ``rule``'s family for ``neurons`` excitatory neurons."""
    by_size = TUNED[family(rule)]
    size = min(by_size, key=lambda listed: (abs(listed - neurons), listed))
    return dict(by_size[size])


def resolve(config, rule) -> dict:
    """Every setting of :data:`SETTINGS`: the config's value where given, else the tuned one."""
    values = tuned(rule, config.neurons)
    for name in SETTINGS:
        given = getattr(config, name)
        if given is not None:
            values[name] = given
    return values
