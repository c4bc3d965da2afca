"""The dialogue environment: one Gymnasium env class for every dialog_gym task setting."""

from __future__ import annotations

import copy
import os
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from dialog_gym.config import EnvConfig, check_make_keywords, load_env_config
from dialog_gym.domain import ACTION_LISTEN_NAME, Domain
from dialog_gym.envs.base import BaseDialogueEnv
from dialog_gym.envs.masks import ActionMasker, DialogueProgress
from dialog_gym.envs.state import DialogueEnvState, config_fingerprint
from dialog_gym.events import ActionExecuted, Restarted, SlotSet, UserUttered
from dialog_gym.featurizers import MaxHistoryTrackerFeaturizer
from dialog_gym.resources import DEFAULT_TASK
from dialog_gym.roles import (
    ACK_MAKERESERVATION,
    ASK_HOWCANHELP,
    GOODBYE,
    LISTEN,
    ON_IT,
    RESTART,
    SEARCH,
    SUGGEST,
    TURN_HANDING_ROLES,
)
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.users.agenda import BotTurn, SimulatedUser
from dialog_gym.users.nlu_noise import NoiseModel

#: the transcript's line where the bot listened and the user said nothing (``transcript(silent_listens=True)``)
SILENT_LISTEN = "BOT:  [listens: the customer says nothing]"


class DialogueEnv(BaseDialogueEnv[DialogueEnvState]):
    """
    A restaurant-booking dialogue with a simulated customer, one bot action per step.

    ## Description
    A simulated customer wants to book a restaurant. At the start of each dialogue it secretly picks a
    cuisine, a location, a price range and a number of people, greets the bot, and then answers the
    bot's questions. It may change its mind (1–3 times, as in the bAbI task-5 stories), turn down
    suggestions it does not like, and it loses patience when the bot repeats itself. The bot must find
    out what the customer wants (the dialogue state is tracked as in Rasa Core), search the restaurant
    table, suggest restaurants until one is accepted, confirm the reservation and say goodbye.

    The task is the bAbI dialog task 5 as Rasa Core's restaurant bot modelled it; the user model is
    calibrated on its 1000 stories; the benchmark settings (semantic error rates, user profiles,
    masks, +20/-1 rewards) follow the PyDial benchmark (Casanueva et al., 2017).

    ## Action Space
    `Discrete(n)` over the domain's actions (`env.unwrapped.domain.action_names`); for the default
    domain n = 18:

    - 0: action_listen (hand the turn to the user, who replies)
    - 1: action_restart (abandon the dialogue)
    - 2-14: the 13 `utter_*` actions of the bAbI restaurant bot (greet, goodbye, default,
      ack_dosearch, ack_findalternatives, ack_makereservation, ask_cuisine, ask_howcanhelp,
      ask_location, ask_moreupdates, ask_numpeople, ask_price, on_it)
    - 15: action_search_restaurants (query the table with the current slots)
    - 16: action_suggest (suggest the next matching restaurant)
    - 17: utter_ask_rephrase (ask the user to repeat; useful under NLU noise)

    ## Observation Space
    `Box(-1, 1, (max_history * F + 1,), float32)`: the Rasa max-history featurization of the tracker
    (the last `max_history` states, oldest first, each a binary vector of F features: intents of the
    latest user message, its entities, slot features, the previous action; missing history is -1),
    flattened, followed by the NLU confidence of the latest user message (1.0 without noise). With the
    default domain F = 33 and `max_history=3`, so the shape is (100,). The same featurizer
    (`dialog_gym.featurizers.MaxHistoryTrackerFeaturizer`) makes training data from stories.
    `env.unwrapped.tracker` (the `DialogueStateTracker`) and `env.unwrapped.domain` are public for
    Rasa-style policies that read the tracker instead.

    ## Starting State
    A new goal and plan for the customer; the tracker holds `action_listen` and the customer's greeting.

    ## Rewards
    From the `reward` section of the config (defaults): -1 per bot action other than `action_listen`,
    0 per `action_listen`, -1 per action the mask forbids (executed as a no-op), +20 at the end of a
    successful dialogue, -40 at the end of a failed one (the user gave up, the bot said goodbye or
    restarted without success, or the step limit was reached). Every success needs at least 4 listens,
    so any success returns at least 20 - 56 = -36, above any failure (at most -40); a typical success
    returns about +5. Success is the customer's confirmation of the reservation: it affirmed a
    suggested restaurant that fits its final goal and the bot acknowledged the reservation with the
    goal's details (`SimulatedUser.reservation_ok`).

    ## Episode End
    - Termination: the bot says goodbye or restarts; the customer gives up (patience exhausted or
      more than its turn budget of user turns) or leaves after thanking.
    - Truncation: `max_steps` steps (default 60, counting every action including `action_listen`). The
      env truncates itself: the `max_episode_steps` of a task's `register:` block sets `max_steps`, and
      the registered ids carry no Gymnasium `TimeLimit` wrapper (its step counter would sit outside the
      env's `get_state`/`set_state`).

    ## Information
    `reset` and `step` return a dict with:
    - "success" (bool): the customer has confirmed a correct reservation.
    - "turn" (int): user turns so far; "steps" (int): steps so far.
    - "goal" (dict): the customer's current goal (it changes when the customer changes its mind).
    - "action_mask" (np.int8 array): 1 for sensible actions (see below); `action_masks()` gives the
      same as bools for sb3-contrib's MaskablePPO.
    - "invalid_action" (bool): the action was masked out and ignored.
    - "nlu_confidence" (float), "corrupted" (bool): of the latest user message.
    - "user_gave_up" (bool), "bot_actions" (int, excluding listens).
    - "tracker" (`DialogueStateTracker`, a copy), only with `info_tracker=True`: the dialogue state for
      agents that read it (Rasa-style policies, the rule expert) instead of the observation.

    ## State
    `env.unwrapped.get_state()` returns a `DialogueEnvState` (tracker, user, RNG, counters, the current
    observation and info); `env.unwrapped.set_state(state)` restores it exactly, in this environment or
    in any other made with the same id and options (e.g. to undo steps, or to branch a dialogue).

    With `masks=True` the mask allows only sensible actions (`dialog_gym/envs/masks.py`):
    1. after a question, suggestion or reservation check only `action_listen`, and listening only then;
    2. after a confirmed reservation only goodbye;
    3. ask a slot only while it is unset; `ask_howcanhelp` once, before any slot is known;
    4. `ask_moreupdates` and search once every slot is set; no second search until a slot changes;
    5. suggest only after a search whose results are fresh and not used up;
    6. acknowledge a reservation only right after the user affirmed a suggestion;
    7. goodbye only after the reservation was acknowledged and answered;
    8. fillers only where the bAbI bot says them (greet first, on_it after the first inform,
       ack_dosearch before a search, ack_findalternatives after a rejected suggestion), rephrase
       requests right after a user message;
    9. never `action_restart` or `utter_default`.
    10. `no_match` (a role a task may bind, e.g. `utter_no_match`) only once the latest search's rows are
       used up (it found nothing, or each row was offered) and no goal slot changed since; the customer
       then relaxes one constraint.
    With `masks=False` the mask is all ones.

    ## Arguments
    ```python
    import gymnasium as gym
    import dialog_gym
    env = gym.make("dialog_gym/Restaurant-v0", render_mode="ansi")
    ```
    Any task given by its env config file (the whole definition of a task: domain, table, user,
    role bindings, ids) runs with `gym.make("dialog_gym/Dialogue-v0", config="my_task.yml")`.
    Every setting of the environment config (`configs/envs/restaurant.yml`) is a keyword argument:
    `noise` (semantic error rate 0.0/0.15/0.30, or a mapping), `user` ("standard", "unfriendly" or a
    profile path), `masks` (bool), `max_history`, `max_steps`, `reward` (a mapping merged into the
    defaults), `domain` (a name or path of a Rasa domain file), `knowledge_base`, `actions` (role ->
    action name bindings), `config` (another environment config file), `render_mode` ("ansi",
    "human" or None), `info_tracker` (bool, default False: add "tracker" to every info).

    ## Version History
    Any change of an id's behaviour (dynamics, reward, masks, observation, user) gives the id a new version,
    listed here and in CHANGELOG.md (the golden trajectories test enforces it).
    * v0: Initial version (dialog_gym 0.2.0, the first release whose ids are versioned).
    """

    #: the env config family this class runs (``family: dialogue``, the default)
    family: ClassVar[str] = "dialogue"
    state_type: ClassVar[type[DialogueEnvState]] = DialogueEnvState

    def __init__(self, config: str | os.PathLike | EnvConfig = DEFAULT_TASK, render_mode: str | None = None,
                 info_tracker: bool = False, **overrides: Any) -> None:
        super().__init__(render_mode, info_tracker)
        if isinstance(config, EnvConfig):  # a task loaded already (the summary family's loader loads its task's)
            check_make_keywords(overrides, ())
            self.config: EnvConfig = config
        else:
            self.config = load_env_config(config, **overrides)
        cfg = self.config
        self.domain: Domain = cfg.domain
        self.roles = cfg.roles
        self.kb = cfg.kb
        self.reward_config = cfg.reward
        self.max_steps = cfg.max_steps
        self.featurizer = MaxHistoryTrackerFeaturizer(max_history=cfg.max_history)
        self.featurizer.prepare(self.domain)
        n_features = self.featurizer.state_featurizer.num_features
        # observation = the featurizer's window (a view into this buffer) + the NLU confidence
        self._obs_buffer = np.empty(n_features * cfg.max_history + 1, dtype=np.float32)
        self._window = self.featurizer.window(
            self.domain, self._obs_buffer[:-1].reshape(cfg.max_history, n_features))
        self.observation_space = spaces.Box(-1.0, 1.0, shape=self._obs_buffer.shape, dtype=np.float32)
        self.action_space = spaces.Discrete(self.domain.num_actions)
        self._num_actions = self.domain.num_actions
        self.user = SimulatedUser(cfg.profile, cfg.kb)
        self.noise = NoiseModel(cfg.noise, list(self.roles.intent_names), cfg.profile.goal_values)
        self.masker = ActionMasker(self.roles, self.domain.num_actions, enabled=cfg.masks)
        self._intent_name = dict(self.roles.intent_names)
        self._role_of = self.roles.roles
        self._action_names = self.domain.action_names
        self._listen_index = self.roles.index(LISTEN)
        self._goal_slot_set = frozenset(cfg.profile.goal_slots)
        self._matches_slot = cfg.matches_slot
        self._noiseless = cfg.noise.error_rate <= 0.0
        self.tracker = DialogueStateTracker.for_domain(self.domain)
        self._fingerprint: str | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        # pickling copies the observation buffer and the window (a view into it) apart: re-link them
        self.__dict__.update(state)
        self._window.rebind(self._obs_buffer[:-1].reshape(self._window.max_history, self._window.num_features))

    # ------------------------------------------------------------------ the template's hooks
    def _start(self, options: dict[str, Any] | None) -> None:
        self.tracker = DialogueStateTracker.for_domain(self.domain, sender_id="simulated_user")
        self.progress = DialogueProgress()
        self.bot_actions = 0
        self.confidence = 1.0
        self.corrupted = False
        self._turn_acts: list[tuple[str | None, str | None]] = []
        self._suggestion: str | None = None
        self._window.reset()
        self._push_state()  # the state before the opening action_listen: empty
        self.tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        opening = self.user.reset(self.np_random)
        self._hear(opening.intent, opening.entities, opening.text)
        self._push_state()

    def _apply(self, action: int, invalid: bool) -> tuple[float, bool]:
        """One domain action: listening lets the user reply; a masked action is a no-op."""
        rcfg = self.reward_config
        if invalid:
            return rcfg.invalid_action, False
        if action == self._listen_index:
            reward = rcfg.listen
            terminated = self._listen()
        else:
            reward = rcfg.bot_action
            self.bot_actions += 1
            terminated = self._bot_act(action)
        self._window.push_tracker(self.tracker, self.domain)
        return reward, terminated

    def _end_reward(self) -> float:
        rcfg = self.reward_config
        return rcfg.success if self.user.success else rcfg.failure

    # ------------------------------------------------------------------ dynamics
    def _listen(self) -> bool:
        """The user replies to the bot's turn; returns True if the dialogue ends."""
        tracker = self.tracker
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        acts = self._turn_acts
        values = tracker.slot_values
        matches = values.get(self._matches_slot)
        user = self.user
        act = user.respond(BotTurn(acts, values, self._suggestion, len(matches) if matches else 0), self.np_random)
        answered = None
        for role, _ in reversed(acts):
            if role in TURN_HANDING_ROLES:
                answered = role
                break
        self._turn_acts = []
        p = self.progress
        p.awaiting_reply = False
        if act is None:
            p.just_heard = False
            return user.done
        p.question = answered
        if answered == ACK_MAKERESERVATION:
            p.reservation_answered = True
        p.user_confirmed = user.success
        self._hear(act.intent, act.entities, act.text)
        return False

    def _hear(self, intent: str, entities: dict[str, str], text: str) -> None:
        """Pass a user act through the NLU channel into the tracker."""
        if self._noiseless:
            heard_intent, heard_entities, confidence, corrupted = intent, entities, 1.0, False
        else:
            heard_intent, heard_entities, confidence, corrupted = self.noise.observe(intent, entities, self.np_random)
        self.confidence = confidence
        self.corrupted = corrupted
        p = self.progress
        tracker = self.tracker
        if heard_entities:
            values = tracker.slot_values
            goal_slots = self._goal_slot_set
            for k, v in heard_entities.items():
                if k in goal_slots and values.get(k) != v:
                    p.results_fresh = False  # a goal slot changes: earlier search results are stale
            heard = [{"entity": k, "value": v} for k, v in heard_entities.items()]
        else:
            heard = []
        tracker.update(UserUttered(text, {"name": self._intent_name[heard_intent], "confidence": confidence},
                                   heard), self.domain)
        p.last_intent = heard_intent
        p.just_heard = True

    def _bot_act(self, index: int) -> bool:
        """Execute a bot action other than listening; returns True if the dialogue ends."""
        tracker = self.tracker
        cfg = self.config
        p = self.progress
        tracker.update(ActionExecuted(self._action_names[index]))
        role_and_slot = self._role_of[index]
        role = role_and_slot[0]
        self._turn_acts.append(role_and_slot)
        p.bot_acted = True
        p.just_heard = False
        if role in TURN_HANDING_ROLES:
            p.awaiting_reply = True
        if role == SEARCH:
            names = self.kb.search(tracker.slot_values)
            tracker.update(SlotSet(cfg.matches_slot, list(names)))
            p.results_fresh = True
        elif role == SUGGEST:
            remaining = tracker.slot_values.get(cfg.matches_slot) or []
            self._suggestion = remaining[0] if remaining else None
            if cfg.suggestion_slot is not None:
                tracker.update(SlotSet(cfg.suggestion_slot, self._suggestion))
            tracker.update(SlotSet(cfg.matches_slot, list(remaining[1:])))
        elif role == ACK_MAKERESERVATION:
            p.reservation_acked = True
            p.reservation_answered = False
        elif role == ASK_HOWCANHELP:
            p.asked_howcanhelp = True
        elif role == ON_IT:
            p.said_on_it = True
        elif role == GOODBYE:
            return True
        elif role == RESTART:
            tracker.update(Restarted())
            return True
        return False

    # ------------------------------------------------------------------ observations
    def _push_state(self) -> None:
        self._window.push_tracker(self.tracker, self.domain)

    def _compute_mask(self) -> np.ndarray:
        return self.masker(self.progress, self.tracker.slot_values, self._matches_left())

    def _matches_left(self) -> int:
        """Rows of the latest search not yet suggested (0 before any search): what the masks need."""
        matches = self.tracker.slot_values.get(self._matches_slot)
        return len(matches) if matches else 0

    def _obs(self) -> np.ndarray:
        self._obs_buffer[-1] = self.confidence
        return self._obs_buffer.copy()

    def _info(self, invalid: bool) -> dict[str, Any]:
        user = self.user
        return {
            "success": user.success,
            "turn": user.turns,
            "steps": self.steps,
            "goal": dict(user.goal),
            "action_mask": self._mask.copy(),
            "invalid_action": invalid,
            "nlu_confidence": self.confidence,
            "corrupted": self.corrupted,
            "user_gave_up": user.gave_up,
            "bot_actions": self.bot_actions,
        }

    @property
    def action_names(self) -> tuple[str, ...]:
        """The name of each action (the domain's actions, in the domain's order)."""
        return self.domain.action_names

    @property
    def masks_enabled(self) -> bool:
        """The ``masks`` setting (off: the mask is all ones)."""
        return self.config.masks

    # ------------------------------------------------------------------ state
    @property
    def config_fingerprint(self) -> str:
        """A hash of the configuration: states move only between environments that share it."""
        if self._fingerprint is None:
            self._fingerprint = config_fingerprint(self.config)
        return self._fingerprint

    @property
    def config_source(self) -> str:
        return self.config.source

    def _capture(self, common: dict[str, Any]) -> DialogueEnvState:
        """The dialogue's part of a snapshot (see :mod:`dialog_gym.envs.state`)."""
        return DialogueEnvState(
            **common,
            tracker=self.tracker.deep_copy(),
            progress=copy.copy(self.progress),
            user=self.user.get_state(),
            bot_actions=self.bot_actions,
            confidence=self.confidence,
            corrupted=self.corrupted,
            turn_acts=tuple(self._turn_acts),
            suggestion=self._suggestion,
        )

    def _restore(self, state: DialogueEnvState) -> None:
        self.tracker = state.tracker.deep_copy()
        self.progress = copy.copy(state.progress)
        self.user.set_state(state.user)
        self.bot_actions = state.bot_actions
        self.confidence = state.confidence
        self.corrupted = state.corrupted
        self._turn_acts = list(state.turn_acts)
        self._suggestion = state.suggestion
        # the observation buffer holds the featurizer's window (all but the last entry) and the confidence
        self._obs_buffer[...] = state.observation
        self._window.contents_changed()

    # ------------------------------------------------------------------ text
    def transcript(self, silent_listens: bool = False) -> str:
        """The dialogue so far as text: bot templates filled with the slots of the moment, user
        messages with what the NLU understood when noise is on; with ``silent_listens``, a line
        :data:`SILENT_LISTEN` where the bot listened and the user said nothing (``render()`` leaves it out)."""
        lines: list[str] = []
        replay = self.tracker.init_copy()
        events = self.tracker.events
        show_nlu = self.config.noise.error_rate > 0
        cfg = self.config
        for i, event in enumerate(events):
            replay.update(event)
            if isinstance(event, UserUttered):
                line = f"USER: {event.text or event.as_story_string()}"
                if show_nlu:
                    line += f"    [NLU: {event.as_story_string()} @ {event.confidence:.2f}]"
                lines.append(line)
            elif isinstance(event, ActionExecuted) and event.action_name == ACTION_LISTEN_NAME:
                answer = next((e for e in events[i + 1:] if not isinstance(e, SlotSet)), None)
                if silent_listens and not isinstance(answer, UserUttered):
                    lines.append(SILENT_LISTEN)
            elif isinstance(event, ActionExecuted):
                # slot events that an action produced follow it: apply them before filling its template
                j = i + 1
                after = replay.copy()
                while j < len(events) and isinstance(events[j], SlotSet):
                    after.update(events[j])
                    j += 1
                role = self.roles.role(self.domain.index_for_action(event.action_name))[0]
                if role == SEARCH:
                    found = after.get_slot(cfg.matches_slot) or []
                    text = f"[searching the {self.kb.item} table: {len(found)} match(es)]"
                elif role == SUGGEST:
                    remaining = replay.get_slot(cfg.matches_slot) or []  # the suggestion is the first one left
                    text = (f"what do you think of {self.kb.describe(remaining[0])}?" if remaining
                            else f"sorry, I have no (more) {self.kb.item}s to suggest.")
                else:
                    text = self.domain.utter(event.action_name, after.slot_values) or f"[{event.action_name}]"
                lines.append(f"BOT:  {text}")
            elif isinstance(event, Restarted):
                lines.append("--- restarted ---")
        return "\n".join(lines)
