"""Where in a time step each piece of a rule runs: every scheduling order, in one table.

Brian2 runs a step slot by slot (``start``, ``groups``, ``thresholds``, ``synapses``,
``resets``, ``end``, with ``before_``/``after_`` slots around each) and, inside a slot, by
``order``. A user's objects sit at order 0 and pathways at -1 (``on_pre``) and +1
(``on_post``); the rule's objects are placed around them as this table says.
"""

__all__ = ["Order", "step_operation_fields"]


class Order:
    """The order of each of a rule's objects inside its slot (the slot named per block)."""
    # 'start': the learning machinery, before user monitors (order 0), so that they see the
    # weights of this step as SPAIC's learner left them.
    MARK_RUN_STARTS = -52        # the first step of a run / call writes its step
    RUN_BOUNDARY = -51           # before each run(): checks, delays, seeded row sums
    PERIOD_RESET = -50           # a presentation period's start clears the per-run state
    SUMMED = -40                 # summed row expressions (also in the rule's summed_when slot)
    POPULATION = -35             # sums over every row (after the row sums)
    POST = -30                   # default order of a rule's step operation on its rows
    PRE = -25                    # ... on its columns
    SYNAPSES = -20               # ... on every synapse
    # 'synapses': after the user's pathways (-1, +1), so that transmission sees the previous
    # step's weights as in SPAIC; the integer rule sets its traces before them.
    SET_PRE_TRACE_INT = -3       # PostPreIntSTDP: a pre spike sets its trace
    SET_POST_TRACE_INT = -2      # PostPreIntSTDP: a post spike sets its trace
    # Meta's lazy rendering: a change made at the previous step goes into its weight (the row's
    # factor of that step is in the row's growth by now), before the learning pathways read it.
    APPLY_CHANGE_PRE = 4         # on the pre spikes whose change the previous step made
    APPLY_CHANGE_POST = 5        # on the post spikes whose change the previous step made
    SET_PRE_TRACE = 6            # a delivered pre spike sets its neuron's trace
    SET_POST_TRACE = 7           # a delivered post spike sets its neuron's trace
    POST_TRACE_AT_SPIKE = 8      # each post neuron's trace read at the delivered spike step
    PRE_TRACE_AT_SPIKE = 9       # each pre neuron's trace read at the delivered spike step
    LEARN_PRE = 10               # the rule's pathway on delivered pre spikes
    LEARN_POST = 11              # the rule's pathway on delivered post spikes
    # The slot of a rule's row pass (after its step operations there): the rows decide, the
    # chosen rows run their row code, then the pass runs on their synapses; a first pass (its
    # own rows, row code and synapse code, e.g. taking the row sums) runs before all of that.
    FIRST_ROW_PASS_EVENT = -11
    FIRST_ROW_PASS_ROWS = -10
    FIRST_ROW_PASS = -9
    ROW_PASS_EVENT = -8
    ROW_PASS_ROWS = -7
    ROW_PASS = -6
    # 'after_synapses', after the row passes: a rule keeping its rows' factors apart from the
    # weights writes every weight out, on the runs where code other than its own reads them.
    WRITE_OUT_WEIGHTS = -5
    # 'after_resets': the integer neuron's input, after the rule's halving and clamping.
    TRANSMIT_INT = 10


def step_operation_fields(operation):
    """``(group, code, when, order)`` of a rule's step operation, the omitted ones filled in.

    An optional third element moves the operation to another slot (e.g. 'after_resets', for a
    rule reading state the target's reset updated this step); a fourth sets its order in that
    slot (None: the group's default order, :attr:`Order.POST`, ``PRE`` or ``SYNAPSES``).
    """
    return tuple(operation) + ("start", None)[len(operation) - 2:]
