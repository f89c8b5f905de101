"""State written from Python between runs: a run start's reset, and weight matrices."""
import numpy as np
from brian2 import TimedArray, defaultclock

from .attachment import attachment_of

__all__ = ["reset", "set_from_matrix"]


def reset(rule, synapses) -> None:
    """SPAIC's run boundary: clear the per-run state (traces, pending changes)."""
    attached = attachment_of(synapses)
    if attached.rule != rule:
        raise ValueError(f"{synapses.name!r} runs {attached.rule!r}, not {rule!r}: reset it "
                         "with the rule it was built with (another rule's reset clears other "
                         "variables)")
    # Only the simulation knows the step the next run starts at (Python cannot tell which
    # network runs next, nor, in standalone, read its clock): mark it, the next step takes it.
    attached.post_state.run_start_step = -1
    _assign(synapses, rule.reset_code)
    _assign(attached.post_state, rule.post_reset_code)
    _assign(attached.pre_state, rule.pre_reset_code)


def _assign(group, code):
    """Carry out ``name = value`` lines on ``group`` from Python (code strings in standalone)."""
    for line in code.strip().splitlines():
        name, value = (part.strip() for part in line.split("=", 1))
        setattr(group, name, float(value) if _is_number(value) else value)


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


_table_counter = [0]


def set_from_matrix(synapses, variable: str, matrix: np.ndarray) -> None:
    """``synapses.<variable>[k] = matrix[j_k, i_k]`` (``[post, pre]``), as Brian2 code.

    Written as a string assignment through a one-row ``TimedArray`` so that it also works in
    cpp_standalone before the synapses exist (their indices are only known once built).
    """
    matrix = np.asarray(matrix, dtype=float)
    expected = (len(synapses.target), len(synapses.source))
    if matrix.shape != expected:
        raise ValueError(f"the weight matrix must have shape [post, pre] = {expected}, "
                         f"got {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("the weight matrix must be finite (no NaN or inf)")
    _table_counter[0] += 1
    name = f"brian_stdp_matrix_{_table_counter[0]}"
    synapses.namespace[name] = TimedArray(matrix.reshape(1, -1), dt=defaultclock.dt,
                                          name=name)
    setattr(synapses, variable, f"{name}(0*second, j * N_pre + i)")
