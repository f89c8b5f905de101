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
