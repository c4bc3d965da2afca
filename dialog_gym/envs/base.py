"""What every dialog_gym environment family offers its callers, the one template they fill in, and the one
way to reach them behind wrappers.

The families (:class:`~dialog_gym.envs.dialogue_env.DialogueEnv` for Rasa-style tasks,
:class:`~dialog_gym.envs.summary.SummaryActEnv` for summary acts over such a task,
:class:`~dialog_gym.envs.pydial_env.PyDialEnv` for PyDial's tasks) derive from :class:`BaseDialogueEnv`, a
template: ``reset``, ``step``, ``render``, the render-mode check, ``get_state``/``set_state`` (the random
generator, the step counter, the mask, the end flags) are written once here, and a family implements the
abstract hooks for what differs (start a dialogue, apply an action, the final reward, the mask, the
observation, the info, its own part of the snapshot, the transcript). A family that forgets a hook cannot
be instantiated, and mypy says so where it is made::

    class Forgetful(BaseDialogueEnv[DialogueEnvState]):  # implements _apply only
        def _apply(self, action: int, invalid: bool) -> tuple[float, bool]: ...

    Forgetful()  # mypy: error: Cannot instantiate abstract class "Forgetful" with abstract attributes
                 # "_capture", "_compute_mask", ... and "transcript" (9 methods suppressed)  [abstract]

(and at run time ``TypeError: Can't instantiate abstract class Forgetful ...``; tests/test_env_template.py).

:class:`EnvSnapshot` is the one snapshot base (the random generator, counters, flags, mask, observation and
info); each family's snapshot adds its own fields. :func:`dialogue_env_of` gets the dialogue env behind any
chain of Gymnasium wrappers, typed and checked, instead of an unchecked ``env.unwrapped.<attribute>``.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import sys
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar, overload

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dialog_gym.domain import Domain
from dialog_gym.errors import DialogGymError
from dialog_gym.tracker import DialogueStateTracker

__all__ = ["BaseDialogueEnv", "EnvSnapshot", "dialogue_env_of"]


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class EnvSnapshot:
    """What every family's ``get_state()`` snapshot holds (deep copies; do not mutate): the random
    generator, the step counter, the end flags, the mask, and the observation and info of the state it
    captured (as the last ``reset``/``step`` returned them). A family's snapshot subclasses it with its
    own fields (:class:`~dialog_gym.envs.state.DialogueEnvState`, ``PyDialEnvState``)."""

    config_fingerprint: str          #: the env's :attr:`BaseDialogueEnv.config_fingerprint`
    rng_state: Mapping[str, Any]     #: ``np_random.bit_generator.state``
    rng_seed: int | None             #: ``np_random_seed``
    steps: int                       #: steps since ``reset``
    terminal: bool                   #: the dialogue has ended (terminated or truncated)
    invalid: bool                    #: the last step's action was masked out
    rendered: int                    #: transcript lines already written by ``render_mode="human"``
    mask: np.ndarray
    observation: np.ndarray
    info: dict[str, Any]


StateT = TypeVar("StateT", bound=EnvSnapshot)
EnvT = TypeVar("EnvT", bound="BaseDialogueEnv[Any]")


class BaseDialogueEnv(gym.Env[np.ndarray, Any], Generic[StateT], metaclass=abc.ABCMeta):
    """A dialogue task as a Gymnasium env: one bot action per step out of ``Discrete(n)``, a ``Box``
    observation, and the dialogue state in the open for Rasa-style policies.

    ``StateT`` is the snapshot type of :meth:`get_state` (each family has its own). The template:

    * ``reset``: seeds ``np_random``, zeroes the counters and flags, calls :meth:`_start`, computes the mask;
    * ``step``: checks the action, counts the step, calls :meth:`_apply` (a masked action is passed with
      ``invalid=True``: each family says what it does then), truncates at :attr:`max_steps`, adds
      :meth:`_end_reward` at the end, recomputes the mask;
    * both return :meth:`_obs` and :meth:`_info`; ``render_mode="human"`` prints the new transcript lines.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "human"], "render_fps": 4}  # noqa: RUF012 (Gymnasium's)
    #: the env config family the class runs (``family:`` in an env config)
    family: ClassVar[str]
    #: the family's snapshot class (what :meth:`get_state` returns and :meth:`set_state` accepts)
    state_type: ClassVar[type[EnvSnapshot]]
    action_space: spaces.Discrete
    observation_space: spaces.Box
    #: the task's Rasa-style domain: what the tracker's events speak of (intents, slots, actions); its
    #: actions need not be the action space's (use :attr:`action_names` for those)
    domain: Domain
    #: the dialogue so far as Rasa Core tracks it (set by ``reset``)
    tracker: DialogueStateTracker
    #: steps after which the env truncates itself (registered ids carry no ``TimeLimit`` wrapper)
    max_steps: int
    #: steps since ``reset`` (each ``step`` counts, masked actions too)
    steps: int = 0

    #: the current mask (``info["action_mask"]``'s values), recomputed by ``reset``/``step``
    _mask: np.ndarray
    #: set by ``reset`` (and ``set_state``); ``step`` and ``get_state`` refuse to run before
    _ready: bool = False
    #: the dialogue has ended: ``step`` refuses to run until the next ``reset``
    _terminal: bool = False
    #: the last step's action was masked out
    _invalid: bool = False
    #: transcript lines already printed by ``render_mode="human"``
    _rendered: int = 0
    #: ``action_space.n`` as a plain int (the step's hot path compares with it)
    _num_actions: int

    def __init__(self, render_mode: str | None = None, info_tracker: bool = False) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise DialogGymError(f"render_mode must be one of {self.metadata['render_modes']} or None, "
                                 f"got {render_mode!r}")
        if not isinstance(info_tracker, bool):
            raise DialogGymError(f"info_tracker must be True or False, got {info_tracker!r}")
        self.render_mode = render_mode
        #: ``gym.make(..., info_tracker=True)``: every info also holds :meth:`tracker_info` (for agents that
        #: read the dialogue state, e.g. Rasa policies; off by default: it costs a copy per step)
        self.info_tracker = info_tracker

    # ------------------------------------------------------------------ the template
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.steps = 0
        self._terminal = False
        self._invalid = False
        self._rendered = 0
        self._start(options)
        self._mask = self._compute_mask()
        self._ready = True
        if self.render_mode == "human":
            self.render()
        return self._obs(), self._step_info(False)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        # the hot path: bench-env measures it against Taxi; the golden trajectories guard its behaviour
        a = self._action_index(action)
        self.steps += 1
        invalid = self._invalid = not self._mask[a]
        reward, terminated = self._apply(a, invalid)
        truncated = not terminated and self.steps >= self.max_steps
        if terminated or truncated:
            self._terminal = True
            reward += self._end_reward()
        self._mask = self._compute_mask()
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(reward), terminated, truncated, self._step_info(invalid)

    def render(self) -> str | None:
        """``"ansi"``: the transcript; ``"human"``: print the transcript lines not printed yet."""
        if self.render_mode == "ansi":
            return self.transcript()
        if self.render_mode == "human":
            lines = self.transcript().splitlines()
            new = lines[self._rendered:]
            self._rendered = len(lines)
            if new:
                sys.stdout.write("\n".join(new) + "\n")
                sys.stdout.flush()
        return None

    def _action_index(self, action: Any) -> int:
        """``action`` as an index of the action space, or the package's error naming what is wrong: a step
        before ``reset`` or after the end, an action that is not an integer or out of range."""
        if self._terminal or not self._ready:
            raise DialogGymError("call reset() before step()" if not self._ready
                                 else "the dialogue has ended; call reset() to start a new one")
        try:
            a = int(action)
        except (TypeError, ValueError):
            raise DialogGymError(f"action must be an integer index, got {action!r}") from None
        if not 0 <= a < self._num_actions:
            raise DialogGymError(f"action {a} is outside Discrete({self._num_actions})")
        return a

    def _step_info(self, invalid: bool) -> dict[str, Any]:
        """What ``reset``/``step`` return as info: :meth:`_info`, plus :meth:`tracker_info` if asked for."""
        info = self._info(invalid)
        if self.info_tracker:
            info.update(self.tracker_info())
        return info

    def tracker_info(self) -> dict[str, Any]:
        """The dialogue state an agent may read, as info entries (``gym.make(..., info_tracker=True)`` adds
        them to every info): ``"tracker"``, a copy of :attr:`tracker` (what Rasa-style policies read);
        families add theirs (PyDial: ``"belief"``). Copies, picklable: they cross process boundaries
        (``AsyncVectorEnv``) and stay as they were when the env moves on."""
        return {"tracker": self.tracker.copy()}

    # ------------------------------------------------------------------ the hooks (what differs)
    @abc.abstractmethod
    def _start(self, options: dict[str, Any] | None) -> None:
        """Start a new dialogue (``np_random`` is seeded, the counters are zero): the user's opening turn."""

    @abc.abstractmethod
    def _apply(self, action: int, invalid: bool) -> tuple[float, bool]:
        """Carry out ``action`` (``invalid``: the mask forbids it); returns the step's reward before the end
        reward and whether the dialogue terminated."""

    @abc.abstractmethod
    def _end_reward(self) -> float:
        """The reward added at the dialogue's end (terminated or truncated): success or failure."""

    @abc.abstractmethod
    def _compute_mask(self) -> np.ndarray:
        """The actions allowed in the current state (int8, 1 = allowed)."""

    @abc.abstractmethod
    def _obs(self) -> np.ndarray:
        """The observation of the current state (a fresh array)."""

    @abc.abstractmethod
    def _info(self, invalid: bool) -> dict[str, Any]:
        """The info dict of the current state (``invalid``: the last action was masked out)."""

    @abc.abstractmethod
    def _capture(self, common: dict[str, Any]) -> StateT:
        """The family's snapshot: ``common`` (the :class:`EnvSnapshot` fields) plus the family's own state."""

    @abc.abstractmethod
    def _restore(self, state: StateT) -> None:
        """Restore the family's own fields of ``state`` (the base restores the :class:`EnvSnapshot` ones)."""

    @property
    @abc.abstractmethod
    def action_names(self) -> tuple[str, ...]:
        """The name of each action of the action space (index = action)."""

    @property
    @abc.abstractmethod
    def masks_enabled(self) -> bool:
        """The env's ``masks`` setting: False when the mask allows (nearly) every action."""

    @property
    @abc.abstractmethod
    def config_fingerprint(self) -> str:
        """A hash of the configuration: states move only between environments that share it."""

    @property
    @abc.abstractmethod
    def config_source(self) -> str:
        """Where the configuration was read from (named in error messages)."""

    @abc.abstractmethod
    def transcript(self, silent_listens: bool = False) -> str:
        """The dialogue so far as text, one line per utterance; with ``silent_listens`` also a line for each
        time the bot listened and the user said nothing (a step that leaves no other trace: the web page
        shows it)."""

    # ------------------------------------------------------------------ public, derived from the hooks
    @property
    def actions_are_domain_actions(self) -> bool:
        """True when the action space is the domain's actions (index for index), so that a Rasa-style
        policy's prediction over the domain's actions is an action; False e.g. for summary acts."""
        return tuple(self.action_names) == tuple(self.domain.action_names)

    def action_masks(self) -> np.ndarray:
        """The actions allowed now as bools (sb3-contrib's ``MaskablePPO`` calls this)."""
        return self._mask.astype(bool)

    # ------------------------------------------------------------------ state
    def get_state(self) -> StateT:
        """A self-contained snapshot of the dialogue (after ``reset``): restoring it (:meth:`set_state`, in
        this or an identically made environment) replays the same future."""
        if not self._ready:
            raise DialogGymError("call reset() before get_state()")
        return self._capture({
            "config_fingerprint": self.config_fingerprint,
            "rng_state": copy.deepcopy(self.np_random.bit_generator.state),
            "rng_seed": self.np_random_seed,
            "steps": self.steps,
            "terminal": self._terminal,
            "invalid": self._invalid,
            "rendered": self._rendered,
            "mask": self._mask.copy(),
            "observation": self._obs(),
            "info": self._step_info(self._invalid),
        })

    def set_state(self, state: StateT) -> None:
        """Restore a snapshot from :meth:`get_state` of this or an identically made environment; ``state``
        is copied, so it can be restored again."""
        self._check_state(state)
        bit_generator = self.np_random.bit_generator
        if type(bit_generator).__name__ != state.rng_state["bit_generator"]:
            bit_generator = getattr(np.random, state.rng_state["bit_generator"])()
            self._np_random = np.random.Generator(bit_generator)
        bit_generator.state = copy.deepcopy(state.rng_state)
        self._np_random_seed = state.rng_seed
        self.steps = state.steps
        self._terminal = state.terminal
        self._invalid = state.invalid
        self._rendered = state.rendered
        self._mask = state.mask.copy()
        self._restore(state)
        self._ready = True

    def _check_state(self, state: Any) -> None:
        """Refuse a state of another type or from a differently configured env."""
        if not isinstance(state, self.state_type):
            raise DialogGymError(f"set_state() needs a {self.state_type.__name__}, got {type(state).__name__}")
        if state.config_fingerprint != self.config_fingerprint:
            raise DialogGymError(
                f"set_state(): the state comes from an environment configured differently (config "
                f"fingerprint {state.config_fingerprint}, this environment's {self.config_fingerprint}, "
                f"config {self.config_source}); make both with the same id and options")
@overload
def dialogue_env_of(env: gym.Env[Any, Any]) -> BaseDialogueEnv[EnvSnapshot]: ...


@overload
def dialogue_env_of(env: gym.Env[Any, Any], cls: type[EnvT]) -> EnvT: ...


def dialogue_env_of(env: gym.Env[Any, Any], cls: type[BaseDialogueEnv[Any]] = BaseDialogueEnv
                    ) -> BaseDialogueEnv[Any]:
    """The dialog_gym environment behind ``env`` and any wrappers around it (``env.unwrapped``), checked.

    ``cls`` narrows the family (e.g. ``dialogue_env_of(env, DialogueEnv).config``). Anything else, e.g. a
    non-dialog_gym env, raises :class:`DialogGymError` naming what was passed.
    """
    base = getattr(env, "unwrapped", env)
    if not isinstance(base, cls):
        what = type(env).__name__ if base is env else f"{type(base).__name__} (inside {type(env).__name__})"
        raise DialogGymError(f"expected a dialog_gym environment ({cls.__name__}), got {what}")
    return base
