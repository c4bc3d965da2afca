"""The statistics the simulated user is calibrated on, measured the same way on any dialogues.

For each dialogue: the number of slots in the user's first inform (the answer to ``ask_howcanhelp``),
the number of changes of mind (informs answering ``ask_moreupdates``) and whether one slot changes twice,
and the number of rejected suggestions (denies answering ``suggest``); plus bot actions per dialogue.
Measured on the bAbI stories (the repository's ``data/rasa_babi/babi_stories.md``; the numbers are in
``data/rasa_babi/README.md``) they are what the standard user is calibrated on; measured on simulated
dialogues they show how close the simulator is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from dialog_gym.domain import ACTION_LISTEN_NAME
from dialog_gym.events import ActionExecuted, Event, UserUttered
from dialog_gym.roles import ASK_HOWCANHELP, ASK_MOREUPDATES, SUGGEST, ActionRoles


def dialogue_statistics(dialogues: Iterable[Sequence[Event]], roles: ActionRoles,
                        action_names: Sequence[str]) -> dict[str, Any]:
    """Distributions (value -> share of dialogues) and the mean number of bot actions; the actions and
    intents are recognised by their roles (``roles`` bound to a domain whose actions are ``action_names``)."""
    def name(role: str) -> str | None:
        index = roles.index(role)
        return None if index is None else action_names[index]

    howcanhelp, moreupdates, suggest = name(ASK_HOWCANHELP), name(ASK_MOREUPDATES), name(SUGGEST)
    inform, deny = roles.intent_names["inform"], roles.intent_names["deny"]
    first: Counter[int] = Counter()
    changes: Counter[int] = Counter()
    rejections: Counter[int] = Counter()
    actions: list[int] = []
    repeated_slot_changes = 0
    for events in dialogues:
        question = None
        n_changes = n_rejections = n_actions = 0
        changed: list[str] = []
        for event in events:
            if isinstance(event, ActionExecuted):
                if event.action_name != ACTION_LISTEN_NAME:
                    question = event.action_name
                    n_actions += 1
            elif isinstance(event, UserUttered):
                intent = event.intent_name
                if question == howcanhelp and intent == inform:
                    first[len(event.entities)] += 1
                elif question == moreupdates and intent == inform:
                    n_changes += 1
                    changed.extend(e["entity"] for e in event.entities)
                elif question == suggest and intent == deny:
                    n_rejections += 1
        changes[n_changes] += 1
        repeated_slot_changes += len(set(changed)) < len(changed)
        rejections[n_rejections] += 1
        actions.append(n_actions)
    n = len(actions)
    share = lambda c: {k: v / max(1, sum(c.values())) for k, v in sorted(c.items())}  # noqa: E731
    return {
        "dialogues": n,
        "first_inform_size": share(first),
        "changes_of_mind": share(changes),
        "rejections": share(rejections),
        "repeated_slot_changes": repeated_slot_changes / max(1, n),  # dialogues changing a slot twice
        "mean_bot_actions": sum(actions) / max(1, n),
        "min_bot_actions": min(actions, default=0),
        "max_bot_actions": max(actions, default=0),
    }
