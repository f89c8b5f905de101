"""What the job prints while it runs (nothing with ``--quiet``)."""
import time

__all__ = ["say", "Progress"]


def say(config, text):
    """Print ``text`` unless the job is quiet."""
    if config.progress:
        print(text, flush=True)


def format_seconds(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """One line per phase every few seconds (and at the phase's end): digits done, rate, time
    left. Printed from Python between chunks, the same for every device."""

    def __init__(self, config, every_s=5.0):
        self.config, self.every_s = config, every_s
        self.phase, self.t0, self.done0, self.last = None, 0.0, 0, 0.0

    def __call__(self, phase, done, total):
        now = time.time()
        if phase != self.phase:
            self.phase, self.t0, self.done0, self.last = phase, now, done, now
            return
        if done < total and now - self.last < self.every_s:
            return
        self.last = now
        rate = (done - self.done0) / max(now - self.t0, 1e-9)
        left = (total - done) / rate if rate > 0 else 0.0
        say(self.config, f"  {phase}: {done}/{total} digits, {rate:.1f} digits/s, "
                         f"{format_seconds(left)} left")
