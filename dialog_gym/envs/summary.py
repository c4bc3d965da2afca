"""Summary acts at turn level: a layer over :class:`DialogueEnv` whose actions are declared in data.

An env config of ``family: summary`` names a slot-filling task (``task:``, any ``family: dialogue`` env
config) and lists the *summary acts* the agent chooses from, each a sequence of the task's roles (or
domain action names) executed in order::

    family: summary
    task: restaurant
    summary_acts:
      ask_cuisine: [ask_slot.cuisine]
      offer: [search, suggest]
      ...

One step is one act. When its last action hands the turn to the user (a role of
:data:`dialog_gym.roles.TURN_HANDING_ROLES`), the env listens automatically and the user's reply arrives
within the same step, as in PyDial. Tracker, featurizer, simulated user, noise, masks, reward values and
the success definition are the task's own (:class:`SummaryActEnv` subclasses :class:`DialogueEnv`);
this module knows no task.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from dialog_gym.config import EnvConfig, check_make_keywords, load_env_config, max_steps_of
from dialog_gym.domain import Domain
from dialog_gym.envs.dialogue_env import DialogueEnv
from dialog_gym.envs.state import config_fingerprint
from dialog_gym.errors import ConfigError, DialogGymError
from dialog_gym.families import family_named, read_env_config
from dialog_gym.roles import ALL_ROLES, ASK_SLOT, GOODBYE, LISTEN, RESTART, TURN_HANDING_ROLES, ActionRoles

#: the shipped summary-act config used when none is named (``configs/envs/restaurant_summary.yml``)
DEFAULT_SUMMARY_TASK = "restaurant_summary"
#: roles that end the dialogue: only the last action of an act may be one
_ENDING_ROLES = frozenset({GOODBYE, RESTART})
#: ``gym.make`` keywords of a summary-act env: the task's, plus the act-level bye mask (the family's make keys)
SUMMARY_OVERRIDE_KEYS = family_named("summary").make_keys


@dataclass(frozen=True)
class SummaryAct:
    """One summary act bound to a domain: the domain actions it executes, in order."""

    name: str
    actions: tuple[int, ...]       #: domain action indices
    action_names: tuple[str, ...]
    hands_turn: bool               #: its last action hands the turn to the user: the env listens after it


@dataclass(frozen=True)
class SummaryConfig:
    """A summary-act env config, loaded: the task's config, the bound acts and the act limit."""

    task: EnvConfig
    acts: tuple[SummaryAct, ...]
    max_steps: int                 #: acts per dialogue before the env truncates itself
    bye_mask: bool = True          #: masks off: forbid the goodbye acts until the task's rules allow goodbye
    source: str = "<config>"


@dataclass(frozen=True)
class ActChooser:
    """The acts' first actions: how an action-level policy's choice becomes an act
    (:meth:`SummaryActEnv.act_chooser`)."""

    first_actions: tuple[int, ...]   #: each act's first domain action
    domain_actions: tuple[str, ...]  #: the domain's action names
    source: str = "<config>"

    def first_action_mask(self, act_mask: np.ndarray) -> np.ndarray:
        """A mask over the domain's actions allowing the first action of each allowed act (what an
        action-level policy may choose so that its choice is an act)."""
        mask = np.zeros(len(self.domain_actions), dtype=np.int8)
        mask[np.asarray(self.first_actions)[np.asarray(act_mask) > 0]] = 1
        return mask

    def act_for(self, domain_action: int, act_mask: np.ndarray | None = None) -> int:
        """The act that starts with ``domain_action`` (the first such act that ``act_mask`` allows)."""
        for i, first in enumerate(self.first_actions):
            if first == domain_action and (act_mask is None or act_mask[i]):
                return i
        raise DialogGymError(f"no summary act of {self.source} starts with {self.domain_actions[domain_action]!r}")

    def __call__(self, choose: Callable[[np.ndarray], int], act_mask: np.ndarray) -> int:
        """The act an action-level policy picks: ``choose(mask)`` gets the mask of the allowed acts' first
        actions over the domain's actions and returns a domain action; the act starting with it is the
        answer (``act_mask``: the allowed acts)."""
        act_mask = np.asarray(act_mask)
        return self.act_for(choose(self.first_action_mask(act_mask)), act_mask)


def _bind_step(spec: Any, domain: Domain, roles: ActionRoles, where: str) -> int:
    """One entry of an act: ``ask_slot.<slot>``, a role name, or a domain action name -> its index."""
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"{where}: expected a role (e.g. search, ask_slot.cuisine) or an action name, got {spec!r}")
    if spec.startswith(ASK_SLOT + "."):
        slot = spec[len(ASK_SLOT) + 1:]
        if slot not in roles.ask_index:
            raise ConfigError(f"{where}: {spec}: no action asks for slot {slot!r} (asked slots: "
                              f"{', '.join(roles.ask_index)})")
        return roles.ask_index[slot]
    if spec in ALL_ROLES:
        index = roles.index(spec)
        if index is None:
            raise ConfigError(f"{where}: role {spec!r} is not bound to an action of the domain {domain.source}")
    elif domain.has_action(spec):
        index = domain.index_for_action(spec)
    else:
        raise ConfigError(f"{where}: {spec!r} is neither a role ({', '.join(r for r in ALL_ROLES if r != LISTEN)}, "
                          f"{ASK_SLOT}.<slot>) nor an action of the domain {domain.source}")
    if roles.role(index)[0] == LISTEN:
        raise ConfigError(f"{where}: {spec!r}: listening is not an act's action (the env listens after an act "
                          "whose last action hands the turn to the user)")
    return index


def bind_summary_acts(acts: Any, domain: Domain, roles: ActionRoles, where: str) -> tuple[SummaryAct, ...]:
    """The ``summary_acts:`` mapping (act name -> list of roles/actions) bound to ``domain``; errors name
    ``where`` and the act's key."""
    if not isinstance(acts, Mapping) or not acts:
        raise ConfigError(f"{where}: summary_acts: expected a mapping of act names to lists of roles or actions")
    bound = []
    for name, steps in acts.items():
        here = f"{where}: summary_acts.{name}"
        if isinstance(steps, str):
            steps = [steps]
        if not isinstance(steps, list) or not steps:
            raise ConfigError(f"{here}: expected a non-empty list of roles or actions")
        indices = tuple(_bind_step(s, domain, roles, f"{here}[{i}]") for i, s in enumerate(steps))
        for i, index in enumerate(indices[:-1]):
            role = roles.role(index)[0]
            if role in TURN_HANDING_ROLES or role in _ENDING_ROLES:
                raise ConfigError(f"{here}[{i}]: {steps[i]!r} hands the turn to the user or ends the dialogue, "
                                  "so it can only be the act's last action")
        bound.append(SummaryAct(str(name), indices, tuple(domain.action_names[i] for i in indices),
                                roles.role(indices[-1])[0] in TURN_HANDING_ROLES))
    return tuple(bound)


def read_summary_config(config: str | os.PathLike, overrides: Mapping[str, Any]
                        ) -> tuple[Path, dict[str, Any], str, int, bool]:
    """Read a ``family: summary`` env config: ``(path, data, task, max_steps, bye_mask)``. ``task`` is the
    task's env config (a shipped name, or a path resolved beside this file); ``max_steps`` the act limit
    (``max_steps`` keyword or key, else ``register.max_episode_steps``); ``bye_mask`` the ``bye_mask``
    keyword or key (default true)."""
    path, data, family = read_env_config(config)
    where = str(path)
    if family.name != "summary":
        raise ConfigError(f"{where}: not a summary-act config (family: summary); run it with "
                          "gym.make('dialog_gym/Dialogue-v0', config=...)")
    task = data.get("task")
    if not isinstance(task, str) or not task:
        raise ConfigError(f"{where}: task: name the env config of the task (e.g. restaurant, or a path)")
    if Path(task).suffix in (".yml", ".yaml") and not Path(task).is_absolute() and (path.parent / task).exists():
        task = str(path.parent / task)
    given = {k: v for k, v in overrides.items() if v is not None}
    src = lambda key: f"gym.make keyword argument {key}={given[key]!r}" if key in given else where  # noqa: E731
    max_steps = max_steps_of({**data, **{k: v for k, v in given.items() if k == "max_steps"}}, data, where, src)
    bye_mask = given.get("bye_mask", data.get("bye_mask", True))
    if not isinstance(bye_mask, bool):
        raise ConfigError(f"{src('bye_mask')}: bye_mask must be true or false, got {bye_mask!r}")
    return path, data, task, max_steps, bye_mask


def load_summary_config(config: str | os.PathLike = DEFAULT_SUMMARY_TASK, **overrides: Any) -> SummaryConfig:
    """The summary family's config loader: a ``family: summary`` env config with ``gym.make`` overrides,
    its task's config loaded (with the act limit as its ``max_steps``, so its reward check counts acts) and
    its acts bound to the task's domain."""
    check_make_keywords(overrides, SUMMARY_OVERRIDE_KEYS)
    path, data, task, max_steps, bye_mask = read_summary_config(config, overrides)
    task_overrides = {k: v for k, v in overrides.items() if k != "bye_mask"}
    task_config = load_env_config(task, **{**task_overrides, "max_steps": max_steps})
    where = str(path)
    acts = bind_summary_acts(data.get("summary_acts"), task_config.domain, task_config.roles, where)
    task_config.reward.check(max_steps, where, min_listens=0)  # every act costs: a success needs no free step
    return SummaryConfig(task_config, acts, max_steps, bye_mask, where)


class SummaryActEnv(DialogueEnv):
    """
    A slot-filling dialogue at turn level: one step is one summary act declared in the env config.

    ## Description
    The task of the config's ``task:`` (for the shipped ids, the restaurant booking of
    `dialog_gym/Restaurant-v0`: the same customer, table, noise and success), but the agent chooses among
    PyDial-style *summary acts* instead of single Rasa actions: each act runs a fixed sequence of the
    task's actions (e.g. ``offer`` = search, then suggest the best match), and when it hands the turn to
    the user the env listens at once, so the user's reply arrives within the same step. There are no
    fillers and no ``action_listen`` to choose. This makes the unmasked settings learnable from scratch
    (the action-level Env2/Env4 remain the hard-exploration setting).

    ## Action Space
    `Discrete(k)` over the config's ``summary_acts`` in their order (`env.unwrapped.action_names`); for
    `configs/envs/restaurant_summary.yml`, k = 10:

    | act | name | executes |
    |---|---|---|
    | 0-3 | ask_cuisine, ask_location, ask_people, ask_price | the slot question, then listens |
    | 4 | ask_moreupdates | the summary question ("anything to change?"), then listens |
    | 5 | offer | search with the current slots, suggest the best match, then listens |
    | 6 | next_suggestion | suggest the next match of the latest search, then listens |
    | 7 | reservation | the reservation check with the goal's details, then listens |
    | 8 | goodbye | says goodbye (ends the dialogue) |
    | 9 | ask_howcanhelp | "how can I help?", then listens |

    ## Observation Space
    The task's (`DialogueEnv`'s): the Rasa max-history featurization of the tracker after the act and
    the user's reply (the state after each executed action enters the window, as at action level), plus
    the NLU confidence; `(100,)` for the restaurant.

    ## Starting State
    The task's: a new customer goal; the tracker holds `action_listen` and the customer's greeting.

    ## Rewards
    From the task config's `reward` section: `bot_action` (-1) per act, whatever the number of actions it
    executes (one act = one turn, as PyDial's -1 per turn), plus `listen` (0) for the automatic listen;
    `invalid_action` (-1) for an act the mask forbids (a no-op); at the end `success` (+20) or `failure`
    (-40: the user gave up, goodbye without success, or the act limit). A success in T acts returns
    20 - T >= 20 - max_steps, above any failure.

    ## Episode End
    - Termination: an act ends the dialogue (goodbye, restart) or the customer gives up or leaves.
    - Truncation: `max_steps` acts (30 for the shipped ids: the `max_episode_steps` of the register
      block; the env truncates itself, no `TimeLimit` wrapper).

    ## Information
    The task's info dict (`DialogueEnv`): "success" (the task's success: the customer confirmed a
    correct reservation), "turn" (user turns), "steps" (acts so far), "goal", "action_mask" (int8 over
    the acts), "invalid_action", "nlu_confidence", "corrupted", "user_gave_up", "bot_actions" (the
    task's actions executed so far, listens excluded).

    ## Masks
    With the task's masks on, an act is allowed iff its first action is allowed by the task's mask rules
    (`dialog_gym/envs/masks.py`); should none be, every act is. With masks off every act is allowed except,
    with `bye_mask` (default true), the goodbye acts (those whose last action has the goodbye role) until
    the task's mask rules allow goodbye *and nothing else*, i.e. the customer is done: for the restaurant,
    until the customer confirmed the reservation (rule 2 of `masks.py`). This is PyDial's bye mask (bye
    only after the user's bye), which its own masks-off Env2/Env4 keep: it takes away the cheap failure of
    saying goodbye at once. Rule 7 (goodbye once any reservation check was answered, even with "no") is
    left out for the same reason: it would leave "reservation, goodbye" as a cheap failure (the measurements
    are on the documentation's summary-act results page). `bye_mask=False` gives all ones. A masked act is
    a no-op costing `invalid_action`.

    ## State
    `get_state()` returns the task's `DialogueEnvState` (the acts add no state); `set_state()` accepts
    it from an env made with the same id and options (the fingerprint covers the acts).

    ## Arguments
    `gym.make("dialog_gym/Restaurant-Summary-Env2-v0")`, or any summary-act config with
    `gym.make("dialog_gym/Dialogue-v0", config="my_summary.yml")`. Keywords: those of the task
    (`noise`, `user`, `masks`, `reward`, ...), `max_steps` (acts), `bye_mask` (also a config key),
    `render_mode`, `info_tracker` (add the task's "tracker" to every info).

    ## Version History
    Any change of an id's behaviour (dynamics, reward, masks, observation, user) gives the id a new version,
    listed here and in CHANGELOG.md (the golden trajectories test enforces it).
    * v0: Initial version (dialog_gym 0.2.0, the first release whose ids are versioned).
    """

    family: ClassVar[str] = "summary"

    def __init__(self, config: str | os.PathLike = DEFAULT_SUMMARY_TASK, render_mode: str | None = None,
                 info_tracker: bool = False, **overrides: Any) -> None:
        summary = load_summary_config(config, **overrides)
        super().__init__(config=summary.task, render_mode=render_mode, info_tracker=info_tracker)
        self.summary_config = summary
        acts = self.acts = summary.acts
        self.max_steps = summary.max_steps
        self.bye_mask = summary.bye_mask
        # the goodbye acts (their last action has the goodbye role) and that action, for the bye mask
        self._bye_acts = np.array([i for i, act in enumerate(acts) if self.roles.role(act.actions[-1])[0] == GOODBYE],
                                  dtype=np.intp)
        self._goodbye = self.roles.index(GOODBYE)
        self.action_space = spaces.Discrete(len(acts))
        self._num_actions = len(acts)
        self._first_actions = np.array([act.actions[0] for act in acts], dtype=np.intp)
        self._all_acts = np.ones(len(acts), dtype=np.int8)

    # ------------------------------------------------------------------ the template's hooks
    def _apply(self, action: int, invalid: bool) -> tuple[float, bool]:
        """One act: its actions in order (stopping at an ending one), then the user's reply if it hands
        the turn over; a masked act is a no-op."""
        rcfg = self.reward_config
        if invalid:
            return rcfg.invalid_action, False
        act = self.acts[action]
        reward = rcfg.bot_action
        terminated = False
        for index in act.actions:
            self.bot_actions += 1
            terminated = self._bot_act(index)
            self._window.push_tracker(self.tracker, self.domain)
            if terminated:
                break
        if act.hands_turn and not terminated:
            reward += rcfg.listen
            terminated = self._listen()
            self._window.push_tracker(self.tracker, self.domain)
        return reward, terminated

    # ------------------------------------------------------------------ masks and names
    def _compute_mask(self) -> np.ndarray:
        """Masks on: the acts whose first action the task's mask allows (all, should it allow none of them).
        Masks off: all ones, but with ``bye_mask`` the goodbye acts are 0 until the dialogue is finished
        (see the class docstring)."""
        if self.masks_enabled:
            mask = self.task_mask()[self._first_actions]
            return mask if mask.any() else self._all_acts.copy()
        mask = self._all_acts.copy()
        if self.bye_mask and self._bye_acts.size and not self.dialogue_finished():
            mask[self._bye_acts] = 0
        return mask

    def dialogue_finished(self) -> bool:
        """Whether the task's action-level mask rules allow goodbye and nothing else now, masks on or off:
        the customer is done (for the restaurant: it confirmed the reservation, rule 2 of ``masks.py``).
        PyDial's bye mask opens at the same point, when the user has said bye."""
        sensible = self.masker.sensible(self.progress, self.tracker.slot_values, self._matches_left())
        return bool(sensible[self._goodbye]) and int(sensible.sum()) == 1

    def task_mask(self) -> np.ndarray:
        """The task's own mask over the domain's actions, in the current state."""
        return super()._compute_mask()

    def act_chooser(self) -> ActChooser:
        """How an action-level policy's choice, e.g. the rule expert's, becomes one of this env's acts (a
        plain value: agents keep it instead of the env)."""
        return ActChooser(tuple(int(i) for i in self._first_actions), self.domain.action_names,
                          self.summary_config.source)

    @property
    def action_names(self) -> tuple[str, ...]:
        """The name of each act (index = action)."""
        return tuple(act.name for act in self.acts)

    @property
    def config_fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = config_fingerprint(self.summary_config)
        return self._fingerprint

    @property
    def config_source(self) -> str:
        return self.summary_config.source


__all__ = ["DEFAULT_SUMMARY_TASK", "SUMMARY_OVERRIDE_KEYS", "ActChooser", "SummaryAct", "SummaryActEnv",
           "SummaryConfig", "bind_summary_acts", "load_summary_config", "read_summary_config"]
