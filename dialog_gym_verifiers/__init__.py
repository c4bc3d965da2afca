"""The name verifiers' loader imports for the taskset id ``dialog-gym-verifiers`` (``vf-eval dialog-gym-verifiers``,
``--env.taskset.id dialog-gym-verifiers``): verifiers imports a taskset id as a top-level module and takes the
Taskset, Harness and Env subclasses it exports. The adapter itself is :mod:`dialog_gym.integrations.verifiers_env`."""

from dialog_gym.integrations.verifiers_env import (
    TASKSET_ID,
    DialogueData,
    DialogueEnv,
    DialogueEnvConfig,
    DialogueHarness,
    DialogueHarnessConfig,
    DialogueTask,
    DialogueTaskset,
    DialogueTasksetConfig,
    load_environment,
    outcome,
    play,
)

__all__ = ["TASKSET_ID", "DialogueData", "DialogueEnv", "DialogueEnvConfig", "DialogueHarness",
           "DialogueHarnessConfig", "DialogueTask", "DialogueTaskset", "DialogueTasksetConfig", "load_environment",
           "outcome", "play"]
