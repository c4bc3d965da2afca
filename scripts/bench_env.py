"""Environment speed: dialog_gym/Restaurant-v0 against Gymnasium's Taxi-v4, in steps per second.

Same as ``dialog-gym bench-env`` (see ``agents/commands/bench_env.py`` for the method):

    python scripts/bench_env.py [--steps 100000] [--repeats 5] [--env dialog_gym/Restaurant-v0] [--json]
"""

import argparse
import sys

from agents.commands.bench_env import add_arguments, run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
