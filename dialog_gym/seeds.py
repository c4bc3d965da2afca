"""Every reset seed the project derives from a run's seed, in one place, so that streams never overlap.

A run's seed ``s`` (a benchmark seed, a training seed, a session seed; ``0 <= s < RUN_SEEDS``) names
several streams of reset seeds, one per purpose. Each stream is a function ``(s, i) -> reset seed`` for
episode ``i`` with ``0 <= i < bound``; it is affine, ``base + s * bound + i``, so stream and run seed
together own the interval ``[base + s * bound, base + (s + 1) * bound)``, and the intervals of all streams
and run seeds are pairwise disjoint (``tests/test_seeds.py`` proves it by enumeration). A run past its
stream's bound raises :class:`~dialog_gym.errors.DialogGymError` instead of entering another stream.

=========================  ==============================  ==========  =====================================
stream                     episode ``i`` of seed ``s``      bound       used by
=========================  ==============================  ==========  =====================================
evaluation                 ``s * 10_000 + i``               10,000      ``evaluate``, ``rollout``, ``demo``,
                                                                        imitation curves' test dialogues
benchmark test             ``(1000 + s) * 100_000 + i``     100,000     the benchmark, RL training curves
RL training environments   ``1e12 + s * 1e8 + i``           1e8         environment ``i`` of ``train``
warm-start demonstrations  ``2e12 + s * 1e5 + i``           100,000     RL warm start from the rule expert
expert dialogues           ``3e12 + s * 1e5 + i``           100,000     ``train-policy``, ``stories
                                                                        simulate``, pretrained learners
benchmark expert stories   ``4e12 + s * 1e5 + i``           100,000     the benchmark's imitation agents
correction session         ``5e12 + s * 1e5 + i``           100,000     ``dialog_gym.wrappers`` sessions
user calibration           ``6e12 + s * 1e5 + i``           100,000     ``scripts/calibrate_user.py``'s table
calibration check          ``7e12 + s * 1e5 + i``           100,000     the test that the user matches bAbI
validation                 ``8e12 + s * 1e5 + i``           100,000     ``tune``'s trials (never the test
                                                                        dialogues a tuned agent is scored on)
LLM training               ``9e12 + s * 1e5 + i``           100,000     the verifiers adapter's train split
                                                                        (its eval split: the evaluation stream)
=========================  ==============================  ==========  =====================================

Because training streams and test streams differ, a command's default test dialogues are never the
dialogues its training used (``train-policy`` then ``rollout``; a pretrained learner and its learning
curve; a warm-started agent and its evaluation). The benchmark test stream keeps the reset seeds it has
always had, so published benchmark results stay comparable.

An agent's own randomness (the random agent) is not a reset seed: :func:`agent_rng` gives it one generator
per dialogue from the agent's seed and the dialogue's reset seed, apart from the environment's generator
of that dialogue, so a dialogue's random actions do not depend on the dialogues run before it. Likewise
a language-model agent's request seeds (:func:`model_request_seed`, sent only when asked for) and the
bootstrap intervals of pass^k (:func:`bootstrap_rng`) have seed sequences of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dialog_gym.errors import DialogGymError

#: run seeds every stream accepts: ``0 .. RUN_SEEDS - 1``
RUN_SEEDS = 10_000

#: a stream as a plain function: ``(run seed, episode index) -> reset seed``
Stream = Callable[[int, int], int]


@dataclass(frozen=True)
class SeedStream:
    """One stream of reset seeds: episode ``index`` of run seed ``seed`` is reset with
    ``base + seed * bound + index``, for ``0 <= seed < RUN_SEEDS`` and ``0 <= index < bound``."""

    name: str
    base: int
    bound: int
    purpose: str

    def __call__(self, seed: int, index: int) -> int:
        if not 0 <= seed < RUN_SEEDS:
            raise DialogGymError(f"seed {seed} is out of range: seeds are 0 to {RUN_SEEDS - 1}")
        if not 0 <= index < self.bound:
            raise DialogGymError(f"{self.name} seeds: episode {index} of seed {seed} is past the stream's bound "
                                 f"({self.bound:,} episodes per seed; use more seeds instead)")
        return self.base + seed * self.bound + index

    def interval(self, seed: int) -> tuple[int, int]:
        """The reset seeds of run seed ``seed``: ``[first, end)``."""
        first = self(seed, 0)
        return first, first + self.bound


episode_seed = SeedStream("evaluation", 0, 10_000, "test dialogues of evaluate, rollout, demo and imitation curves")
benchmark_test_seed = SeedStream("benchmark test", 1000 * 100_000, 100_000,
                                 "test dialogues of the benchmark and of RL training curves")
training_env_seed = SeedStream("RL training environment", 10**12, 10**8,
                               "first reset of each training environment of an RL run (and of a resumed run)")
demonstration_seed = SeedStream("warm-start demonstration", 2 * 10**12, 100_000,
                                "the rule expert's demonstrations for an RL warm start")
expert_dialogue_seed = SeedStream("expert dialogue", 3 * 10**12, 100_000,
                                  "expert dialogues a policy or learner is trained on (train-policy, stories "
                                  "simulate, pretrained learners)")
benchmark_story_seed = SeedStream("benchmark expert story", 4 * 10**12, 100_000,
                                  "expert dialogues the benchmark's imitation agents are trained on")
dialogue_seed = SeedStream("correction session", 5 * 10**12, 100_000, "dialogues of a correction session")
calibration_seed = SeedStream("user calibration", 6 * 10**12, 100_000,
                              "simulated dialogues the user simulator's calibration table is measured on")
calibration_check_seed = SeedStream("calibration check", 7 * 10**12, 100_000,
                                    "held-out simulated dialogues the calibration test checks")
validation_seed = SeedStream("validation", 8 * 10**12, 100_000,
                             "dialogues a hyperparameter search scores its trials on")
llm_training_seed = SeedStream("LLM training", 9 * 10**12, 100_000,
                               "customers a language model is trained on (dialog_gym.integrations.verifiers_env's "
                               "train split)")

#: the key that sets the chat layer's wording generator apart from any other use of a reset seed
CHAT_TEXT_KEY = 0x63686174  # "chat"


def chat_text_seed(reset_seed: int) -> list[int]:
    """The entropy of the chat layer's wording generator for a dialogue reset with ``reset_seed``
    (:mod:`dialog_gym.chat`): derived from the reset seed, separate from the env's own generator, so the
    paraphrases said never change the dialogue's dynamics."""
    return [CHAT_TEXT_KEY, int(reset_seed)]


#: the first words of the seed sequences of the language-model agent's request seeds and of the bootstrap
#: intervals of its pass^k (``agents/llm_agent.py``, ``agents/passk.py``): apart from every other generator
MODEL_SEED_KEY = 0x6D6F64656C  # "model"
BOOTSTRAP_KEY = 0x626F6F74  # "boot"


def model_request_seed(seed: int, reset_seed: int, trial: int) -> int:
    """The ``seed`` a language-model agent sends with every request of trial ``trial`` of the dialogue reset
    with ``reset_seed``, when its user asks for one (``--model-seed seed``): a 31-bit number (servers take a
    signed 32- or 64-bit one) drawn from the words ``(MODEL_SEED_KEY, seed, reset_seed, trial)``, so the
    trials of a customer differ and a rerun sends the same seeds."""
    words = [MODEL_SEED_KEY, int(seed), int(reset_seed), int(trial)]
    return int(np.random.SeedSequence(words).generate_state(1)[0]) & 0x7FFF_FFFF


def bootstrap_rng(seed: int = 0) -> np.random.Generator:
    """The generator of a bootstrap interval (resampling customers for pass^k), seeded with the words
    ``(BOOTSTRAP_KEY, seed)``: the same interval for the same numbers, every run."""
    return np.random.default_rng([BOOTSTRAP_KEY, int(seed)])


#: every stream, for the disjointness test and the docs
STREAMS: tuple[SeedStream, ...] = (episode_seed, benchmark_test_seed, training_env_seed, demonstration_seed,
                                   expert_dialogue_seed, benchmark_story_seed, dialogue_seed, calibration_seed,
                                   calibration_check_seed, validation_seed, llm_training_seed)

#: the first word of every agent generator's seed sequence: keeps them apart from the environments' generators
AGENT_STREAM = 0xA6E27


def agent_rng(seed: int, reset_seed: int | None) -> np.random.Generator:
    """The generator of an agent with seed ``seed`` in the dialogue reset with ``reset_seed`` (None: the
    agent's stream across dialogues): seeded with the words ``(AGENT_STREAM, seed[, reset_seed])``, never
    the single number an environment's ``reset(seed=...)`` uses, so agent and environment draw apart."""
    words = [AGENT_STREAM, seed] if reset_seed is None else [AGENT_STREAM, seed, reset_seed]
    return np.random.default_rng(words)


__all__ = [
    "AGENT_STREAM",
    "BOOTSTRAP_KEY",
    "MODEL_SEED_KEY",
    "RUN_SEEDS",
    "STREAMS",
    "SeedStream",
    "Stream",
    "agent_rng",
    "benchmark_story_seed",
    "benchmark_test_seed",
    "bootstrap_rng",
    "calibration_check_seed",
    "calibration_seed",
    "chat_text_seed",
    "demonstration_seed",
    "dialogue_seed",
    "episode_seed",
    "expert_dialogue_seed",
    "llm_training_seed",
    "model_request_seed",
    "training_env_seed",
    "validation_seed",
]
