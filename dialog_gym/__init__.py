"""dialog_gym: task-oriented dialogue management as Gymnasium environments.

``import dialog_gym`` registers the environments that the shipped task configs declare
(``configs/envs/*.yml``: ``dialog_gym/Restaurant-v0``, the PyDial-style settings
``dialog_gym/Restaurant-Env1-v0`` ... ``Env6``, ``dialog_gym/Hotel-v0`` ...) and the generic
``dialog_gym/Dialogue-v0`` that runs any task config (``config=`` a path or a shipped config's name)::

    import gymnasium as gym
    import dialog_gym
    env = gym.make("dialog_gym/Restaurant-v0", render_mode="ansi")
"""

from dialog_gym import utils
from dialog_gym.domain import ACTION_LISTEN_NAME, ACTION_RESTART_NAME, Domain
from dialog_gym.envs import (
    DEFAULT_ENV_ID,
    SUITES,
    BaseDialogueEnv,
    DialogueEnv,
    EnvRef,
    dialogue_env_of,
    env_ids,
    make_env,
    register_envs,
    register_task,
)
from dialog_gym.envs.state import DialogueEnvState
from dialog_gym.errors import (
    ConfigError,
    DialogGymError,
    DomainError,
    KnowledgeBaseError,
    PersistenceError,
    StoryError,
)
from dialog_gym.events import (
    ActionExecuted,
    ActionReverted,
    AllSlotsReset,
    Event,
    Restarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from dialog_gym.featurizers import (
    BinarySingleStateFeaturizer,
    FullDialogueTrackerFeaturizer,
    MaxHistoryTrackerFeaturizer,
    TrainingData,
)
from dialog_gym.tracker import DialogueStateTracker

#: the package's version, semantic versioning from 0.2.0 (the only place it is written: pyproject.toml reads it).
#: An environment's behaviour has its own version, the ``-vN`` of its id (see CHANGELOG.md).
__version__ = "0.2.0"

register_envs()

__all__ = [
    "ACTION_LISTEN_NAME",
    "ACTION_RESTART_NAME",
    "DEFAULT_ENV_ID",
    "SUITES",
    "ActionExecuted",
    "ActionReverted",
    "AllSlotsReset",
    "BaseDialogueEnv",
    "BinarySingleStateFeaturizer",
    "ConfigError",
    "DialogGymError",
    "DialogueEnv",
    "DialogueEnvState",
    "DialogueStateTracker",
    "Domain",
    "DomainError",
    "EnvRef",
    "Event",
    "FullDialogueTrackerFeaturizer",
    "KnowledgeBaseError",
    "MaxHistoryTrackerFeaturizer",
    "PersistenceError",
    "Restarted",
    "SlotSet",
    "StoryError",
    "TrainingData",
    "UserUtteranceReverted",
    "UserUttered",
    "__version__",
    "dialogue_env_of",
    "env_ids",
    "make_env",
    "register_envs",
    "register_task",
    "utils",
]
