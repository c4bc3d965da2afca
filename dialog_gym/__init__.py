"""dialog_gym: task-oriented dialogue management as Gymnasium environments.

``import dialog_gym`` registers the environments (``dialog_gym/Restaurant-v0`` and the PyDial-style
suite ``dialog_gym/Restaurant-Env1-v0`` ... ``Env6``)::

    import gymnasium as gym
    import dialog_gym
    env = gym.make("dialog_gym/Restaurant-v0", render_mode="ansi")
"""

from dialog_gym import utils
from dialog_gym.domain import ACTION_LISTEN_NAME, ACTION_RESTART_NAME, Domain
from dialog_gym.envs import SUITES, DialogueEnv, env_ids, register_envs
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

__version__ = "0.1.0"

register_envs()

__all__ = [
    "ACTION_LISTEN_NAME",
    "ACTION_RESTART_NAME",
    "SUITES",
    "ActionExecuted",
    "ActionReverted",
    "AllSlotsReset",
    "BinarySingleStateFeaturizer",
    "ConfigError",
    "DialogGymError",
    "DialogueEnv",
    "DialogueEnvState",
    "DialogueStateTracker",
    "Domain",
    "DomainError",
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
    "env_ids",
    "register_envs",
    "utils",
]
