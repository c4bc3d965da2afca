"""The simulated user against the bAbI task-5 stories: the distributions it is calibrated on, side by side.

    python scripts/calibrate_user.py [--stories data/rasa_babi/babi_stories.md] [--dialogues 3000]

Measures, with ``dialog_gym.users.calibration.dialogue_statistics``, the first inform's size, the
changes of mind, the rejected suggestions and the bot actions per dialogue, on the stories and on the
rule expert's dialogues with the simulator (seed 0 of the user-calibration stream of
``dialog_gym.seeds``, which the calibration test's held-out dialogues never meet), and prints a markdown
table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dialog_gym.domain import Domain
from dialog_gym.roles import ActionRoles
from dialog_gym.rollout import simulate_stories
from dialog_gym.seeds import calibration_seed
from dialog_gym.stories import generate_trackers, read_stories
from dialog_gym.users.calibration import dialogue_statistics

DEFAULT_STORIES = Path(__file__).resolve().parents[1] / "data" / "rasa_babi" / "babi_stories.md"  # in the repository


def shares(dist: dict, keys: list[int]) -> str:
    return " / ".join(f"{100 * dist.get(k, 0.0):.1f}" for k in keys) + " %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=Path, default=DEFAULT_STORIES)
    parser.add_argument("--dialogues", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--env", default="dialog_gym/Restaurant-v0")
    args = parser.parse_args()
    domain = Domain.load("restaurant")
    roles = ActionRoles.bind(domain)
    babi = dialogue_statistics((t.events for t in generate_trackers(read_stories(args.stories), domain,
                                                                    augmentation_factor=0)), roles, domain.action_names)
    sim = dialogue_statistics((events for _, events in simulate_stories(args.dialogues, args.seed, env_id=args.env,
                                                                       stream=calibration_seed)),
                              roles, domain.action_names)
    print(f"| statistic | bAbI stories ({babi['dialogues']} distinct) | simulator ({sim['dialogues']} dialogues, "
          f"seed {args.seed}) |")
    print("|---|---|---|")
    for key, label, keys in (("first_inform_size", "slots in the first inform (1 / 2 / 3)", [1, 2, 3]),
                             ("changes_of_mind", "changes of mind (1 / 2 / 3)", [1, 2, 3]),
                             ("rejections", "rejected suggestions (0 / 1 / 2 / 3 / 4 / 5)", [0, 1, 2, 3, 4, 5])):
        print(f"| {label} | {shares(babi[key], keys)} | {shares(sim[key], keys)} |")
    print(f"| dialogues changing one slot twice | {100 * babi['repeated_slot_changes']:.1f} % | "
          f"{100 * sim['repeated_slot_changes']:.1f} % |")
    print(f"| bot actions per dialogue (mean, min, max) | {babi['mean_bot_actions']:.1f}, {babi['min_bot_actions']}, "
          f"{babi['max_bot_actions']} | {sim['mean_bot_actions']:.1f}, {sim['min_bot_actions']}, "
          f"{sim['max_bot_actions']} |")


if __name__ == "__main__":
    main()
