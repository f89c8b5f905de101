"""SPAIC's recordings (``../shared/golden``, or ``$BRIAN_STDP_GOLDEN``), as
shared/golden/README.md describes them."""
import json
import os

import numpy as np

from . import ROOT

GOLDEN = os.environ.get("BRIAN_STDP_GOLDEN", os.path.join(ROOT, "..", "shared", "golden"))


def load_golden(name):
    data = dict(np.load(os.path.join(GOLDEN, name + ".npz")))
    data["params"] = json.loads(str(data["params_json"]))
    return data


def int_reference(data, **kwargs):
    """The NumPy reference of PostPreIntSTDP on a golden recording (its thresholds replayed, its
    recorded draws), ``[R, T, post, pre]``."""
    from brian_stdp import reference
    return reference.simulate(
        "int", data["w_after_build"], data["in_spk"], data["out_spk"],
        {"max_threshold": int(data["params"]["learner"]["max_threshold"])},
        thresh=data["thresh"][:, :, 0], draws=data["rand_draws"], **kwargs)
