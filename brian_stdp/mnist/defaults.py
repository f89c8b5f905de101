"""The job's settings per rule and size: the values ``brian-stdp mnist`` uses for every setting
left unset (``None``) on the command line, and the rule parameters it gives a rule named by
``--rule``.

Each entry of :data:`STUDIED` that names a study is the best trial of a ``brian-stdp tune``
study of that rule and size, scored on validation digits carved from the training digits (never
the held-out ones), over two network seeds on two splits; its values rounded to three
significant digits. The studies' trials are in ``benchmarks/studies/<study>.jsonl``
(``benchmarks/study_defaults.py`` runs them again), and ``docs/mnist.rst`` tabulates them;
``tests/test_studies.py`` checks that every value here is its study's best trial. An entry
naming no study (``None``) keeps the defaults of earlier versions, chosen on held-out digits,
until its study has run. A size between two listed sizes takes the settings of the nearest
listed size (the smaller one of two as near).

``intensity``: factor of the base rates (pixel / 4 Hz, 63.75 Hz for a white pixel);
``theta_plus``: mV added to an excitatory threshold per spike (float network; None for the
integer network, whose neuron has none); ``inhibition``: weight of the inhibitory ->
excitatory synapses (float network, a conductance as D&C's 17.0) or what one excitatory spike
subtracts from every other neuron's input sum (integer network); ``epochs`` (an entry without
one makes 1): passes over the training digits; where an ``epochs_study`` is named, the best
trial of that ``epochs-RULE-N`` study (run at the entry's other settings) among those within
the default command's time budget (``benchmarks/study_defaults.py``).
"""

#: By rule (SPAIC's name) and number of excitatory neurons: the study that chose the entry,
#: the job's settings, and the rule parameters a rule named by ``--rule`` gets (SPAIC's
#: defaults for the others; a ``--rule-file`` keeps its own).
STUDIED = {
    "nearest_online_STDP": {
        100: {"study": "nearest-100", "settings": {"intensity": 1.27, "theta_plus": 0.0574,
                                                   "inhibition": 19.7}, "parameters": {},
              "epochs_study": "epochs-nearest-100"},
        400: {"study": "nearest-400", "settings": {"intensity": 1.0, "theta_plus": 0.1,
                                                   "inhibition": 17.0}, "parameters": {}},
    },
    "full_online_STDP": {
        100: {"study": "full-100", "settings": {"intensity": 1.14, "theta_plus": 0.0583,
                                                "inhibition": 22.6}, "parameters": {}},
        400: {"study": "full-400", "settings": {"intensity": 1.45, "theta_plus": 0.0748,
                                                "inhibition": 13.3}, "parameters": {}},
    },
    "meta_nearest_online_STDP": {
        100: {"study": "meta-100", "settings": {"intensity": 1.0, "theta_plus": 0.08,
                                                "inhibition": 25.3},
              "parameters": {"Apost": 0.012, "Apre": 3.73e-5}},
        400: {"study": "meta-400", "settings": {"intensity": 1.0, "theta_plus": 0.101,
                                                "inhibition": 25.5},
              "parameters": {"Apost": 0.00832, "Apre": 1.34e-5}},
    },
    "PostPreIntSTDP": {
        100: {"study": "int-100", "settings": {"intensity": 1.15, "theta_plus": None,
                                               "inhibition": 5960.0},
              "parameters": {"nu0": 15, "nu1": 140}},
        400: {"study": "int-400", "settings": {"intensity": 1.45, "theta_plus": None,
                                               "inhibition": 3060.0},
              "parameters": {"nu0": 8, "nu1": 178}},
    },
}
SETTINGS = ("intensity", "theta_plus", "inhibition")


def _entry(rule, neurons) -> dict:
    """The entry of ``rule`` (an instance or class) at the listed size nearest ``neurons``."""
    sizes = STUDIED[rule.name]
    return sizes[min(sizes, key=lambda listed: (abs(listed - neurons), listed))]


def tuned(rule, neurons: int) -> dict:
    """The studied settings of ``rule`` for ``neurons`` excitatory neurons."""
    return dict(_entry(rule, neurons)["settings"])


def rule_parameters(rule_class, neurons: int) -> dict:
    """The parameters the job gives ``rule_class`` (named by ``--rule``, not read from a
    ``--rule-file``) for ``neurons`` excitatory neurons: its study's; SPAIC's defaults for the
    rest."""
    return dict(_entry(rule_class, neurons)["parameters"])


def epochs(rule, neurons: int) -> int:
    """The passes over the training digits for ``rule`` at ``neurons``: its entry's
    ``epochs``, else 1."""
    return _entry(rule, neurons).get("epochs", 1)


def resolve(config, rule) -> dict:
    """Every setting of :data:`SETTINGS`: the config's value where given, else the studied
    one."""
    values = tuned(rule, config.neurons)
    for name in SETTINGS:
        given = getattr(config, name)
        if given is not None:
            values[name] = given
    return values
