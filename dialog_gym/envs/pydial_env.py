"""PyDial's turn-level dialogue environment: one step is one system summary act and the user's answer."""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from dialog_gym.config import check_make_keywords
from dialog_gym.domain import ACTION_LISTEN_NAME
from dialog_gym.envs.base import BaseDialogueEnv, EnvSnapshot
from dialog_gym.envs.state import config_fingerprint
from dialog_gym.errors import ConfigError
from dialog_gym.events import ActionExecuted, UserUttered
from dialog_gym.families import family_named
from dialog_gym.pydial.belief import DISCOURSE, METHODS, BeliefState, FocusBelief
from dialog_gym.pydial.task import DONTCARE, USER_ACTS, load_task
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.users.nlu_noise import NBestChannel
from dialog_gym.users.pydial_user import PyDialUser, PyDialUserProfile, act_str
from dialog_gym.utils import file_sha256

#: the simulated user's per-dialogue attributes (its goal, agenda, parameters, patience, memory)
_USER_STATE = frozenset({"p", "max_patience", "patience", "constraints", "name_eq", "name_neq", "requests",
                         "prev_values", "agenda", "last_user_act", "last_sys_act", "first_offer", "gave_up"})
#: the ``gym.make`` keywords (the pydial family's make keys)
_OVERRIDES = family_named("pydial").make_keys
NULL_SYS = ("null", ())


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class PyDialEnvState(EnvSnapshot):
    """A snapshot of a :class:`PyDialEnv` (deep copies; do not mutate): the
    :class:`~dialog_gym.envs.base.EnvSnapshot` fields (``steps`` = turns) and the belief, the tracker, the
    simulated user and the turn's bookkeeping."""

    belief: dict[str, Any]
    tracker: DialogueStateTracker
    user: dict[str, Any]
    last_action: int | None
    last_sys_act: tuple
    venue_recommended: bool
    success: bool
    log: tuple
    nbest: tuple
    user_act: tuple


class PyDialEnv(BaseDialogueEnv[PyDialEnvState]):
    """
    A PyDial task (Casanueva et al. 2017): find an entity for an agenda-based simulated user, one system
    summary act per step.

    ## Description
    The user wants an entity (a restaurant, a laptop) that fits up to three constraints on the task's
    system-requestable slots (some "dontcare") and then some of its details (phone, address, ...). It
    answers every system act within the same step, as PyDial's agenda-based user does (PyDial's standard
    or unfriendly parameters; constraint relaxation when nothing fits; requests for alternatives;
    patience 4–5 that drops when the system repeats itself). The system sees the user's act only through
    a semantic decoder: exact in Env1/2, an N-best list of up to 5 hypotheses with confidences at 15% or
    30% semantic error in Env3–6 (PyDial's DSTC2 error model). A rule-based focus tracker turns the
    N-best lists into a belief state, as in PyDial. Any PyDial ontology imported with
    `dialog-gym domain import-pydial` runs here (`configs/pydial/*` ship CamRestaurants, SFRestaurants,
    Laptops11).

    ## Action Space
    `Discrete(3 * S + 7)` over PyDial's summary acts (S = number of system-requestable slots; CR 16,
    SFR 25, LAP 40), in the order of `env.unwrapped.actions`: `request_<slot>`, `confirm_<slot>`
    (the slot's top value), `select_<slot>` (its top two values) for each slot, then `inform` (offer
    an entity fitting the accepted constraints, or say none fits), `inform_byname` (the requested
    details of the offered entity), `inform_alternatives` (another fitting entity), `bye`, `repeat`
    (the previous act again), `reqmore`, `restart`.

    ## Observation Space
    `Box(0, 1, (F,), float32)`, the featurized belief state: per system-requestable slot its top and
    second belief, the belief in dontcare and in "none"; the requested-slot beliefs; the method and
    discourse-act beliefs; the top hypothesis' act type (one-hot) and the N-best confidences (5 entries,
    sorted as decoded); the previous summary act (one-hot); offer happened, last offer was "none",
    number of fitting entities (0 / 1 / 2–4 / >4), discriminable, alternatives requested, turn / 25.
    `env.unwrapped.feature_names` names each entry.

    ## Rewards
    PyDial's: -1 per turn, +20 at the end of a successful dialogue, no failure penalty.
    Success (PyDial's `ObjectiveSuccessEvaluator`): the last offered entity fits the user's final
    constraints (an offer the user answered by asking for alternatives does not count) and every slot
    the user requested was informed.

    ## Episode End
    - Termination: the system says `bye`.
    - Truncation: 25 turns (`max_turns`).

    ## Information
    "success", "turn", "steps", "bot_actions" (= turns), "action_mask" (int8; `action_masks()` gives
    bools), "invalid_action" (a masked act was chosen: the turn passes with an empty system act, which
    costs the user's patience), "user_act" and "nbest" (strings), "goal", "user_gave_up". With
    `info_tracker=True` also "tracker" (a copy of the Rasa-style tracker) and "belief" (the focus
    belief's state, what PyDial's handcrafted policy reads).

    With `masks=True`, PyDial's masks (`policy/SummaryAction.py`): `inform` only while the method is
    by constraints and the accepted constraints leave no choice to make (fewer than 4 accepted and the
    fitting entities can be told apart masks it); `inform_byname` only when the user asks by name and an
    entity was offered; `inform_alternatives` only after the user asked for alternatives; `reqmore` only
    after an offer; `confirm`/`select` only with one/two believed values; `repeat`, `restart` never;
    `bye` only after the user said bye. With `masks=False` every act is allowed except `bye` before the
    user's bye: PyDial's `byemask` setting overwrites its request mask instead of setting the bye mask,
    so PyDial's masks-off settings (Env2/4) keep the bye mask. We copy that on purpose (`bye_mask=True`,
    the default): otherwise ending at once (return -1) beats most early dialogues and the masks-off
    settings stop being comparable with PyDial's. `bye_mask=False` gives a mask of all ones.

    ## Starting State
    The system has said `hello()`; the observation holds the user's first act. `reset(options={"scenario":
    {...}})` fixes the user's `constraints`, `requests`, behaviour `params` or `patience` (for tests).

    ## Arguments
    `gym.make("dialog_gym/PyDial-CR-Env3-v0")` or `gym.make("dialog_gym/Dialogue-v0", config="DIR/env.yml")`;
    keyword arguments `noise` (error rate), `user` ("standard", "unfriendly" or a profile path),
    `masks`, `bye_mask`, `max_turns`, `reward` ({"success", "turn", "failure"}), `render_mode`
    ("ansi", "human"), `info_tracker` (bool: add "tracker" and "belief" to every info).

    ## Version History
    Any change of an id's behaviour (dynamics, reward, masks, observation, user) gives the id a new version,
    listed here and in CHANGELOG.md (the golden trajectories test enforces it).
    * v0: Initial version (dialog_gym 0.2.0, the first release whose ids are versioned).
    """

    #: the env config family this class runs (``family: pydial``)
    family: ClassVar[str] = "pydial"
    state_type: ClassVar[type[PyDialEnvState]] = PyDialEnvState

    def __init__(self, config: str | os.PathLike, render_mode: str | None = None, info_tracker: bool = False,
                 **overrides: Any) -> None:
        super().__init__(render_mode, info_tracker)
        check_make_keywords(overrides, _OVERRIDES)
        task, data, path = load_task(config)
        self.task = task
        self.domain = task.domain
        self.config_path = str(path)
        settings = {**data, **{k: v for k, v in overrides.items() if v is not None}}
        where = str(path)
        noise = settings.get("noise") or {}
        if not isinstance(noise, dict):
            noise = {**(data.get("noise") or {}), "error_rate": noise}
        try:
            self.error_rate = float(noise.get("error_rate", 0.0))
            nbest = int(noise.get("nbest", 5))
            self.max_turns = int(settings.get("max_turns", 25))
            reward = {"success": 20.0, "turn": -1.0, "failure": 0.0, **(settings.get("reward") or {})}
            self.reward_success, self.reward_turn, self.reward_failure = (
                float(reward["success"]), float(reward["turn"]), float(reward["failure"]))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{where}: noise, max_turns or reward: {exc}") from None
        if not 0.0 <= self.error_rate < 1.0 or nbest < 1 or self.max_turns < 2:
            raise ConfigError(f"{where}: need 0 <= noise.error_rate < 1, noise.nbest >= 1, max_turns >= 2")
        self.max_steps = self.max_turns  # one step is one turn
        self.masks = settings.get("masks", True)
        self.bye_mask = settings.get("bye_mask", True)
        if not isinstance(self.masks, bool) or not isinstance(self.bye_mask, bool):
            raise ConfigError(f"{where}: masks and bye_mask must be true or false")
        self.profile = PyDialUserProfile.load(str(settings.get("user", "standard")), base=path.parent)
        self.user = PyDialUser(task, self.profile)
        values = {s: (*v, DONTCARE) for s, v in task.informable.items()}
        self.nbest_size = nbest if self.error_rate > 0 else 1
        self.channel = NBestChannel(self.error_rate, nbest, USER_ACTS, task.requestable, values,
                                    task.system_requestable)
        self.actions = task.actions
        n = len(self.actions)
        self.action_space = spaces.Discrete(n)
        self._num_actions = n
        self._act_kind = [(a.split("_", 1)[0], a.split("_", 1)[1]) if "_" in a and not a.startswith("inform")
                          else (a, None) for a in self.actions]
        self._index = {a: i for i, a in enumerate(self.actions)}
        self._confirm_ids = [(i, slot) for i, (kind, slot) in enumerate(self._act_kind)
                             if kind == "confirm" and slot is not None]
        self._select_ids = [(i, slot) for i, (kind, slot) in enumerate(self._act_kind)
                            if kind == "select" and slot is not None]
        self._all_ones = np.ones(n, dtype=np.int8)
        self.feature_names = self._feature_names()
        self.observation_space = spaces.Box(0.0, 1.0, shape=(len(self.feature_names),), dtype=np.float32)
        self._act_type_index = {a: i for i, a in enumerate(USER_ACTS)}
        self._fingerprint: str | None = None

    # ------------------------------------------------------------------ the template's hooks
    def _start(self, options: dict[str, Any] | None) -> None:
        self.belief = FocusBelief(self.task)
        self.tracker = DialogueStateTracker.for_domain(self.domain, sender_id="simulated_user")
        self.last_action: int | None = None
        self.last_sys_act: tuple = ("hello", ())
        self.venue_recommended = False
        self.success = False
        self._log: list[tuple] = []  # ("sys", act, masked) / ("user", act, nbest), formatted by transcript()
        self.tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        user_act = self.user.reset(self.np_random, (options or {}).get("scenario"))
        self._hear(user_act, ("hello", ()))

    def _apply(self, action: int, invalid: bool) -> tuple[float, bool]:
        """One turn: the system act (an empty one if masked out), then the user's answer unless it was bye."""
        sys_act = NULL_SYS if invalid else self._master_act(action)
        self.last_action = action
        self.tracker.update(ActionExecuted(self.actions[action]))
        self._log.append(("sys", sys_act, invalid))
        terminated = sys_act[0] == "bye"
        if not terminated:
            self.tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
            user_act = self.user.turn(sys_act)
            self._evaluate(sys_act, user_act)
            self._hear(user_act, sys_act)
        self.last_sys_act = sys_act
        return self.reward_turn, terminated

    def _end_reward(self) -> float:
        self.success = self.venue_recommended and self.user.requests_filled()
        return self.reward_success if self.success else self.reward_failure

    def tracker_info(self) -> dict[str, Any]:
        """The tracker, and PyDial's belief tracker's state (``"belief"``: a
        :class:`~dialog_gym.pydial.belief.BeliefState`, what the handcrafted policy reads)."""
        return {**super().tracker_info(), "belief": BeliefState(self.belief.copy_state())}

    @property
    def turn(self) -> int:
        """System turns so far (= ``steps``)."""
        return self.steps

    def transcript(self, silent_listens: bool = False) -> str:
        """The dialogue so far, one line per act: system and user acts, with the decoder's N-best list
        under noise (the user answers every act, so ``silent_listens`` adds nothing)."""
        return "\n".join(self._line(entry) for entry in self._log)

    def _line(self, entry: tuple) -> str:
        who, act, extra = entry
        if who == "sys":
            return f"BOT:  {act_str(act)}" + ("    [masked: nothing said]" if extra else "")
        line = f"USER: {act_str(act)}"
        if self.error_rate > 0:
            line += "    [NLU: " + ", ".join(f"{act_str(h)} @ {c:.2f}" for h, c in extra) + "]"
        return line

    @property
    def acts(self) -> list[tuple]:
        """The dialogue's acts so far, in order: ``("sys", act, masked)`` and ``("user", act, nbest)`` (the
        decoder's N-best list of ``(act, confidence)``); what :meth:`transcript` and the chat layer render.
        Do not mutate."""
        return self._log

    @property
    def action_names(self) -> tuple[str, ...]:
        """The name of each summary act (``actions``; the domain also lists action_listen and action_restart
        first, for the tracker)."""
        return self.actions

    @property
    def masks_enabled(self) -> bool:
        """The ``masks`` setting (off: every act is allowed but ``bye`` before the user's, see ``bye_mask``)."""
        return self.masks

    @property
    def config_fingerprint(self) -> str:
        """A hash of what this environment's configuration is (the env config, the sha256 of the domain and
        table files it names, the user profile file and the settings: :func:`config_fingerprint`)."""
        if self._fingerprint is None:
            files = {key: file_sha256(Path(self.config_path).parent / str(self.task.raw[key]))
                     for key in ("domain", "table")}
            self._fingerprint = config_fingerprint({
                "task": self.task.raw, "files": files, "profile": self.profile, "error_rate": self.error_rate,
                "nbest": self.nbest_size, "masks": self.masks, "bye_mask": self.bye_mask,
                "max_turns": self.max_turns,
                "reward": (self.reward_success, self.reward_turn, self.reward_failure)})
        return self._fingerprint

    @property
    def config_source(self) -> str:
        return self.config_path

    def _capture(self, common: dict[str, Any]) -> PyDialEnvState:
        user = {k: copy.deepcopy(v) for k, v in self.user.__dict__.items() if k in _USER_STATE}
        return PyDialEnvState(
            **common,
            belief=self.belief.copy_state(),
            tracker=self.tracker.deep_copy(),
            user=user,
            last_action=self.last_action,
            last_sys_act=self.last_sys_act,
            venue_recommended=self.venue_recommended,
            success=self.success,
            log=tuple(self._log),
            nbest=tuple(self._nbest),
            user_act=self._user_act,
        )

    def _restore(self, state: PyDialEnvState) -> None:
        if not self._ready:
            self.belief = FocusBelief(self.task)
        self.belief.load_state(state.belief)
        self.tracker = state.tracker.deep_copy()
        self.user.__dict__.update(copy.deepcopy(state.user))
        self.user.rng = self.np_random
        self.last_action = state.last_action
        self.last_sys_act = state.last_sys_act
        self.venue_recommended = state.venue_recommended
        self.success = state.success
        self._log = list(state.log)
        self._nbest = list(state.nbest)
        self._user_act = state.user_act

    # ------------------------------------------------------------------ the turn
    def _hear(self, user_act: tuple, sys_act: tuple) -> None:
        nbest = self.channel.observe(user_act, self.np_random)
        self.belief.update(nbest, sys_act)
        self._nbest = nbest
        self._user_act = user_act
        top = nbest[0][0]
        entities = {s: v for s, v, neg in top[1] if s and v is not None and not neg and s in self.task.informable}
        self.tracker.update(UserUttered.with_intent(top[0], entities, nbest[0][1]))
        self._log.append(("user", user_act, nbest))

    def _evaluate(self, sys_act: tuple, user_act: tuple) -> None:
        """PyDial's objective success bookkeeping after each system act and the user's answer."""
        name = next((v for s, v, neg in sys_act[1] if s == "name" and not neg), None)
        if name is not None and name != "none":
            if self.user.entity_fits(name):
                if user_act[0] != "reqalts":
                    self.venue_recommended = True
            else:
                self.venue_recommended = False

    def _master_act(self, a: int) -> tuple:
        """The act a summary act stands for in the current belief (PyDial's ``SummaryAction.Convert``)."""
        kind, slot = self._act_kind[a]
        b = self.belief
        if kind == "request":
            return ("request", ((slot, None, False),))
        if kind == "confirm" or kind == "select":
            assert slot is not None  # confirm_<slot> and select_<slot> name their slot
            (top, _), (second, _) = b.top_two(slot)
            if kind == "confirm":
                return ("confirm", ((slot, top, False),))
            return ("select", ((slot, top, False), (slot, second, False)))
        if kind == "inform":
            return self._offer(b.accepted(), exclude=())
        if kind == "inform_byname":
            name = b.top_name() or b.last_informed_venue or "none"
            asked = b.requested_slots()
            row = self.task.rows[self.task.name_row[name]] if name in self.task.name_row else None
            items = [("name", name, False)]
            if row is not None:
                items += [(s, row.get(s, ""), False) for s in asked if s != "name"]
            return ("inform", tuple(items))
        if kind == "inform_alternatives":
            b.alternatives_requested = False
            return self._offer(b.accepted(), exclude=set(b.informed_since_none))
        if kind == "repeat":
            return self.last_sys_act
        if kind == "bye":
            return ("bye", ())
        if kind == "reqmore":
            return ("reqmore", ())
        return NULL_SYS  # restart: PyDial's simulated user does not know it

    def _offer(self, accepted: dict[str, tuple[str, float]], exclude: Any) -> tuple:
        """Inform an entity fitting the accepted constraints (the last offered one if it still fits,
        else the first in the table; for alternatives, the first not offered since the last "none")."""
        task, b = self.task, self.belief
        constraints = {s: v for s, (v, _) in accepted.items()}
        ids = task.row_ids(task.matches(constraints))
        rows = [task.rows[i] for i in ids if task.rows[i]["name"] not in exclude]
        told = [(s, v, False) for s, v in constraints.items() if v != DONTCARE]
        if not rows:
            b.last_inform_none = True
            b.informed_since_none = []
            return ("inform", (("name", "none", False), *told))
        chosen = rows[0]
        if not exclude:
            chosen = next((r for r in rows if r["name"] == b.last_informed_venue), rows[0])
        b.last_inform_none = False
        b.offer_happened = True
        b.last_informed_venue = chosen["name"]
        if chosen["name"] not in b.informed_since_none:
            b.informed_since_none.append(chosen["name"])
        items = [("name", chosen["name"], False)]
        items += [(s, chosen.get(s, ""), False) for s in list(constraints)[:4]]
        return ("inform", tuple(items))

    # ------------------------------------------------------------------ masks and observation
    def _compute_mask(self) -> np.ndarray:
        b = self.belief
        summary = b.global_summary()
        if not self.masks:
            mask = self._all_ones.copy()
            if self.bye_mask and not summary["finished"]:
                mask[self._index["bye"]] = 0
            return mask
        mask = [1] * self.action_space.n
        for i, slot in self._confirm_ids:
            mask[i] = int(b.top_two(slot)[0][1] > 0)
        for i, slot in self._select_ids:
            mask[i] = int(b.top_two(slot)[1][1] > 0)
        accepted = b.accepted()
        index = self._index
        mask[index["inform"]] = int(summary["byconstraints"] and not (
            len(accepted) < 4 and self.task.discriminable(b.constraints(accepted))))
        offered = bool(b.last_informed_venue)
        mask[index["inform_byname"]] = int(summary["byname"] and (offered or bool(b.top_name())))
        mask[index["inform_alternatives"]] = int(b.alternatives_requested and offered)
        mask[index["reqmore"]] = int(offered)
        mask[index["repeat"]] = mask[index["restart"]] = 0
        if self.bye_mask and not summary["finished"]:
            mask[index["bye"]] = 0
        return np.array(mask, dtype=np.int8)

    def _feature_names(self) -> list[str]:
        t = self.task
        names = [f"slot_{s}_{k}" for s in t.system_requestable for k in ("top", "second", "dontcare", "none")]
        names += [f"requested_{s}" for s in t.requestable]
        names += [f"method_{m}" for m in METHODS] + [f"discourse_{d}" for d in DISCOURSE]
        names += [f"user_act_{a}" for a in USER_ACTS] + [f"nbest_confidence_{i}" for i in range(5)]
        names += [f"prev_action_{a}" for a in self.actions]
        names += ["offer_happened", "last_inform_none", "matches_0", "matches_1", "matches_2_4", "matches_many",
                  "discriminable", "alternatives_requested", "turn_fraction"]
        return names

    def _obs(self) -> np.ndarray:
        t, b = self.task, self.belief
        out: list[float] = []
        for slot in t.system_requestable:
            (_, top), (_, second) = b.top_two(slot)
            belief = b.slots[slot]
            out += [top, second, belief.get(DONTCARE, 0.0), max(0.0, 1.0 - sum(belief.values()))]
        out += [b.requested.get(s, 0.0) for s in t.requestable]
        out += [b.method.get(m, 0.0) for m in METHODS] + [b.discourse.get(d, 0.0) for d in DISCOURSE]
        acts = [0.0] * len(USER_ACTS)
        acts[self._act_type_index.get(b.top_act, self._act_type_index["null"])] = 1.0
        conf = (b.top_confidences + [0.0] * 5)[:5]
        prev = [0.0] * len(self.actions)
        if self.last_action is not None:
            prev[self.last_action] = 1.0
        constraints = b.constraints()
        count = t.matches(constraints).bit_count()
        out += acts + conf + prev
        out += [float(b.offer_happened), float(b.last_inform_none), float(count == 0), float(count == 1),
                float(2 <= count <= 4), float(count > 4), float(t.discriminable(constraints)),
                float(b.alternatives_requested), min(1.0, self.turn / self.max_turns)]
        obs = np.array(out, dtype=np.float32)
        np.minimum(obs, 1.0, out=obs)  # beliefs are sums of rounded scores: keep them inside the box
        return np.maximum(obs, 0.0, out=obs)

    def _info(self, invalid: bool) -> dict[str, Any]:
        return {
            "success": bool(self.success),
            "turn": self.turn,
            "steps": self.turn,
            "bot_actions": self.turn,
            "action_mask": self._mask.copy(),
            "invalid_action": invalid,
            "user_act": act_str(self._user_act),
            "nbest": [(act_str(h), float(c)) for h, c in self._nbest],
            "goal": self.user.state(),
            "user_gave_up": bool(self.user.gave_up),
        }
