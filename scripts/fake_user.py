"""Interactive learning with a fake user: Rasa Core's tutorial of that name, working.

In the tutorial a fake user decides at the start what cuisine, location, price and number of people it
wants; you watch the bot talk to it and correct the bot when it picks the wrong action; the policy
learns from each correction, so after a few rounds you "should not need to help much". A reset
starts a new dialogue, and the fake user may change its mind. The tutorial's script took one argument,
``pretrained`` or ``scratch``; so does this one:

    python scripts/fake_user.py scratch       # a bot that knows (almost) nothing: teach it from the start
    python scripts/fake_user.py pretrained    # a bot trained on the expert's simulated dialogues
    python scripts/fake_user.py pretrained --stories data/rasa_babi/babi_stories.md

Any further option is passed on (``--seed``, ``--log``, ``--stories-out``, ``--resume``, ``--dialogues``,
``--examples``, ``--learner``, ``--retrain-every``, ``--env``; see ``dialog-gym interactive --help``).
This script is only a spelling of ``dialog-gym interactive --scratch|--pretrained``: the same code runs.
"""

from __future__ import annotations

import sys

from agents.cli import main

USAGE = "usage: python scripts/fake_user.py pretrained|scratch [dialog-gym interactive options]"


def run(argv: list[str]) -> int:
    if not argv or argv[0] not in ("pretrained", "scratch"):
        print(USAGE, file=sys.stderr)
        return 2
    return main(["interactive", f"--{argv[0]}", *argv[1:]])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
