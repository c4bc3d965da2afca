"""PyDial's handcrafted policy (``policy/HDCPolicy.py``) as an agent of the summary-act environments.

Its rules, in order, on the focus belief:

1. global acts: many constraints accepted while the user asks by constraints (more than 3) -> offer;
   the user asked for alternatives -> ``inform_alternatives``; asked about an entity by name ->
   ``inform_byname``; said bye -> ``bye``; asked for more -> offer; thanked or acknowledged (after an
   offer) -> ``reqmore``;
2. a system-requestable slot (alphabetical order) whose top belief is below 0.8: above 0.6 ->
   ``confirm``; above 0.3 -> ``select`` if the second value is within 0.2, else ``confirm``;
3. offer when no or one entity fits, the fitting ones cannot be told apart, or every slot is accepted:
   ``inform_byname`` if the user requested something and an offer happened, else ``inform``;
4. ``request`` the first slot whose top belief is below 0.8;
5. ``reqmore``.

PyDial's handcrafted policy emits master acts and ignores the masks; here a choice the mask forbids
falls through to the next rule (it happens only where PyDial's act would have been empty).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from dialog_gym.agent import action_mask
from dialog_gym.envs.base import dialogue_env_of
from dialog_gym.envs.pydial_env import PyDialEnv
from dialog_gym.errors import DialogGymError
from dialog_gym.pydial.belief import BeliefState, FocusBelief
from dialog_gym.pydial.task import PyDialTask


class HDCExpert:
    """PyDial's handcrafted policy: ``expert(observation, info) -> action``, reading the focus belief's
    state in ``info["belief"]`` (an env made with ``info_tracker=True``) and the task's ontology."""

    def __init__(self, task: PyDialTask, action_names: tuple[str, ...]) -> None:
        self.task = task
        self.action_names = action_names
        self._index = {a: i for i, a in enumerate(action_names)}

    @classmethod
    def for_env(cls, env: gym.Env) -> HDCExpert:
        """The pydial family's rule expert for ``env`` (a PyDial env, behind any wrappers): its task and
        summary acts."""
        base = dialogue_env_of(env, PyDialEnv)
        return cls(base.task, base.action_names)

    def __call__(self, observation: np.ndarray, info: Mapping[str, Any]) -> int:
        state = info.get("belief")
        if not isinstance(state, BeliefState):
            raise DialogGymError("PyDial's handcrafted policy reads info['belief']: make the environment with "
                                 "gym.make(..., info_tracker=True)")
        belief = state.belief(self.task)
        mask = action_mask(info)
        for name in self.preferences(belief, self.task):
            i = self._index[name]
            if mask is None or mask[i]:
                return i
        allowed = np.flatnonzero(mask) if mask is not None else np.arange(len(self.action_names))
        return int(allowed[0])

    def action_probabilities(self, observation: np.ndarray, info: Mapping[str, Any]) -> np.ndarray:
        """One-hot on the expert's choice (the agent contract's ranking)."""
        probs = np.zeros(len(self.action_names))
        probs[self(observation, info)] = 1.0
        return probs

    @staticmethod
    def preferences(b: FocusBelief, task: PyDialTask) -> Iterator[str]:
        """The summary acts the handcrafted policy would choose in belief ``b``, best first."""
        g = b.global_summary()
        accepted = b.accepted()
        offered = bool(b.last_informed_venue)
        if g["byconstraints"] and len(accepted) > 3:
            yield "inform"
        elif g["byalternatives"]:
            yield "inform_alternatives"
        elif g["byname"]:
            yield "inform_byname"
        elif g["finished"]:
            yield "bye"
        elif (g["thankyou"] or g["ack"]) and offered:
            yield "reqmore"
        slots = sorted(task.system_requestable)
        for slot in slots:
            (_, top), (_, second) = b.top_two(slot)
            if top < 0.8:
                if top > 0.6:
                    yield f"confirm_{slot}"
                    break
                if top > 0.3:
                    yield f"select_{slot}" if top - second < 0.2 else f"confirm_{slot}"
                    break
        constraints = b.constraints(accepted)
        count = task.matches(constraints).bit_count()
        if count <= 1 or not task.discriminable(constraints) or len(accepted) >= len(slots):
            yield "inform_byname" if b.requested_slots() and b.offer_happened else "inform"
        for slot in slots:
            if b.top_two(slot)[0][1] < 0.8:
                yield f"request_{slot}"
                break
        yield "reqmore"
