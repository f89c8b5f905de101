"""Random spike trains and start weights for the cases the tests make up."""
import numpy as np


def random_spikes(rng, n_runs, n_steps, n, rate):
    """``[n_runs, n_steps, n]`` spikes, each with probability ``rate``."""
    return (rng.random((n_runs, n_steps, n)) < rate).astype(float)


def random_case(seed, n_pre, n_post, rate_pre, rate_post, steps=40, w_min=0.0, w_max=0.6,
                zero_rows=0):
    """Two runs of ``steps`` steps: ``(in_spk, out_spk, w_start)``, the start weights uniform
    on ``[w_min, w_max)`` and the first ``zero_rows`` rows 0."""
    rng = np.random.default_rng(seed)
    in_spk = random_spikes(rng, 2, steps, n_pre, rate_pre)
    out_spk = random_spikes(rng, 2, steps, n_post, rate_post)
    w_start = w_min + rng.random((n_post, n_pre)) * (w_max - w_min)
    w_start[:zero_rows] = 0.0
    return in_spk, out_spk, w_start


def spike_groups(b2, rng, n_pre=6, n_post=3, steps=60):
    """One run of random pre and post spikes (rate 0.3) and the two SpikeGeneratorGroups
    replaying them: ``(in_spk, out_spk, source, target)``."""
    from .openloop import spike_generator
    in_spk = random_spikes(rng, 1, steps, n_pre, 0.3)
    out_spk = random_spikes(rng, 1, steps, n_post, 0.3)
    return in_spk, out_spk, spike_generator(b2, in_spk), spike_generator(b2, out_spk)


# A case of the compiled pass (brian_stdp/rendering/compiled_pass.py): rows longer than the
# recordings', on a given connectivity.
N_PRE, N_POST = 30, 7


def connectivity(kind, seed=3):
    """``None`` (``S.connect()``) or the ``{"i", "j"}`` of the synapses, in their order."""
    pre, post = np.meshgrid(np.arange(N_PRE), np.arange(N_POST), indexing="ij")
    if kind == "all-to-all":
        return None
    if kind == "all-to-all, post-major":      # every pair, in another order
        return {"i": pre.T.ravel(), "j": post.T.ravel()}
    keep = np.random.default_rng(seed).random(pre.size) < 0.6
    return {"i": pre.ravel()[keep], "j": post.ravel()[keep]}


def compiled_pass_job(rule_name, kind, seed=11, **extra):
    """An open-loop job of nearest_online or Meta on ``connectivity(kind)``."""
    from brian_stdp import MetaNearestOnlineSTDP, NearestOnlineSTDP
    rule = {"nearest": NearestOnlineSTDP(w_norm=0.1 * N_PRE),
            "meta": MetaNearestOnlineSTDP()}[rule_name]
    in_spk, out_spk, w_start = random_case(seed, N_PRE, N_POST, 0.3, 0.2)
    return dict(rule=rule.to_dict(), w_start=w_start, in_spk=in_spk,
                out_spk=out_spk, connect=connectivity(kind), **extra)
