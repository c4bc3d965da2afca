"""Command-line options shared by ``train-policy`` and ``evaluate-stories``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from agents.commands.common import nonnegative_int, positive_int, run_seed

if TYPE_CHECKING:
    from agents.policy_training import TrainingOptions


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training")
    g.add_argument("--domain", help="the stories' domain: a shipped domain's name or a domain YAML file (default: "
                                    "train-policy: the domain of --env; evaluate-stories: restaurant)")
    g.add_argument("--max-history", type=positive_int, default=5, help="states the policies look back (Rasa's "
                                                                       "default 5; its restaurant example used 3)")
    g.add_argument("--epochs", type=positive_int, default=200,
                   help="supervised policy: passes over the distinct training examples")
    g.add_argument("--batch-size", type=positive_int, default=32, help="supervised policy: batch size")
    g.add_argument("--validation-split", type=_split, default=0.1,
                   help="supervised policy: held-out fraction, in [0, 1)")
    g.add_argument("--early-stopping", type=positive_int, metavar="PATIENCE",
                   help="supervised policy: stop after PATIENCE epochs without improvement")
    g.add_argument("--full-dialogue", action="store_true",
                   help="supervised policy: read whole dialogues (per-step outputs) instead of max-history windows")
    g.add_argument("--augmentation", type=nonnegative_int, default=20,
                   help="story augmentation factor: Rasa glues random story pairs together into about this many "
                        "times more training dialogues (Rasa's default 20; 0 turns it off)")
    g.add_argument("--seed", type=run_seed, default=0, help="seed of the augmentation and the network")
    g.add_argument("--verbose", action="store_true", help="show a progress bar while training")


def _split(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def training_options(args: argparse.Namespace) -> TrainingOptions:
    """The policies' settings from the parsed (and by then validated) options."""
    from agents.commands.common import check_domain_arg
    from agents.policy_training import TrainingOptions

    check_domain_arg(args.domain)
    return TrainingOptions(max_history=args.max_history, epochs=args.epochs, batch_size=args.batch_size,
                           validation_split=args.validation_split, early_stopping=args.early_stopping,
                           full_dialogue=args.full_dialogue, seed=args.seed, verbose=args.verbose)
