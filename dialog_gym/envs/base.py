"""What every dialog_gym environment family offers its callers, and the one way to reach it behind wrappers.

Two env families run the tasks: :class:`~dialog_gym.envs.dialogue_env.DialogueEnv` (Rasa-style tasks) and
:class:`~dialog_gym.envs.pydial_env.PyDialEnv` (PyDial's tasks). Both derive from :class:`BaseDialogueEnv`,
which declares what agents, wrappers and commands may read of them: the dialogue state (``tracker``,
``domain``), the actions' names (``action_names``), the mask (``action_masks``), the text
(``transcript``) and the public state (``get_state``/``set_state``). :func:`dialogue_env_of` gets the
dialogue env behind any chain of Gymnasium wrappers, typed and checked, instead of an unchecked
``env.unwrapped.<attribute>``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Protocol, TypeVar, overload

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dialog_gym.domain import Domain
from dialog_gym.errors import DialogGymError
from dialog_gym.tracker import DialogueStateTracker

__all__ = ["BaseDialogueEnv", "EnvSnapshot", "dialogue_env_of"]


class EnvSnapshot(Protocol):
    """What every family's ``get_state()`` snapshot holds besides its own fields: the observation and
    info of the state it captured (as the last ``reset``/``step`` returned them)."""

    @property
    def observation(self) -> np.ndarray: ...

    @property
    def info(self) -> dict[str, Any]: ...


StateT = TypeVar("StateT", bound=EnvSnapshot)
EnvT = TypeVar("EnvT", bound="BaseDialogueEnv[Any]")


class BaseDialogueEnv(gym.Env[np.ndarray, Any], Generic[StateT]):
    """A dialogue task as a Gymnasium env: one bot action per step out of ``Discrete(n)``, a ``Box``
    observation, and the dialogue state in the open for Rasa-style policies.

    ``StateT`` is the snapshot type of :meth:`get_state` (each family has its own).
    """

    #: the env config family the class runs (``family:`` in an env config)
    family: ClassVar[str]
    action_space: spaces.Discrete
    observation_space: spaces.Box
    #: the task's Rasa-style domain: what the tracker's events speak of (intents, slots, actions); its
    #: actions need not be the action space's (use :attr:`action_names` for those)
    domain: Domain
    #: the dialogue so far as Rasa Core tracks it (set by ``reset``)
    tracker: DialogueStateTracker

    @property
    def action_names(self) -> tuple[str, ...]:
        """The name of each action of the action space (index = action)."""
        raise NotImplementedError

    @property
    def actions_are_domain_actions(self) -> bool:
        """True when the action space is the domain's actions (index for index), so that a Rasa-style
        policy's prediction over the domain's actions is an action; False e.g. for summary acts."""
        return tuple(self.action_names) == tuple(self.domain.action_names)

    #: the current mask (``info["action_mask"]``'s values); subclasses keep it up to date
    _mask: np.ndarray
    #: set by ``reset`` / at the dialogue's end; :meth:`_action_index` refuses a step without a dialogue
    _ready: bool = False
    _terminal: bool = False
    #: ``action_space.n`` as a plain int (the step's hot path compares with it)
    _num_actions: int

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

    def action_masks(self) -> np.ndarray:
        """The actions allowed now as bools (sb3-contrib's ``MaskablePPO`` calls this)."""
        return self._mask.astype(bool)

    @property
    def masks_enabled(self) -> bool:
        """The env's ``masks`` setting: False when the mask allows (nearly) every action."""
        raise NotImplementedError

    def transcript(self, silent_listens: bool = False) -> str:
        """The dialogue so far as text; with ``silent_listens`` also a line for each time the bot listened
        and the user said nothing (a step that leaves no other trace: the web page shows it)."""
        raise NotImplementedError

    @property
    def config_fingerprint(self) -> str:
        """A hash of the configuration: states move only between environments that share it."""
        raise NotImplementedError

    def get_state(self) -> StateT:
        """A self-contained snapshot of the dialogue (after ``reset``)."""
        raise NotImplementedError

    def _check_state(self, state: Any, state_type: type[Any], source: str) -> None:
        """Refuse a state of another type or from a differently configured env (``source`` names this
        env's config in the message)."""
        if not isinstance(state, state_type):
            raise DialogGymError(f"set_state() needs a {state_type.__name__}, got {type(state).__name__}")
        if state.config_fingerprint != self.config_fingerprint:
            raise DialogGymError(
                f"set_state(): the state comes from an environment configured differently (config "
                f"fingerprint {state.config_fingerprint}, this environment's {self.config_fingerprint}, "
                f"config {source}); make both with the same id and options")

    def set_state(self, state: StateT) -> None:
        """Restore a snapshot from :meth:`get_state` of this or an identically made environment."""
        raise NotImplementedError


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
