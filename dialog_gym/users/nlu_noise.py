"""The semantic error model of the PyDial benchmark: what the bot's NLU makes of the user's act.

With probability ``error_rate`` a user act is corrupted before the tracker sees it: if it carries
entities, with probability ``entity_share`` one entity value is replaced by another value of that slot;
otherwise the intent is replaced by another intent. Every act carries an NLU confidence drawn from a
Beta distribution that depends on whether it was corrupted (PyDial: a correct top hypothesis has mean
confidence about 0.87 at 15% error). With ``error_rate == 0`` the channel is noiseless: acts pass
unchanged with confidence 1.0 and no random numbers are drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialog_gym.errors import ConfigError
from dialog_gym.utils import check_keys


@dataclass(frozen=True)
class NoiseConfig:
    error_rate: float = 0.0
    entity_share: float = 0.5
    confidence_correct: tuple[float, float] = (8.7, 1.3)
    confidence_corrupted: tuple[float, float] = (3.0, 3.0)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> NoiseConfig:
        check_keys(data, {"error_rate", "entity_share", "confidence"}, f"{where}: noise")
        conf = data.get("confidence") or {}
        check_keys(conf, {"correct", "corrupted"}, f"{where}: noise.confidence")
        try:
            out = cls(
                error_rate=float(data.get("error_rate", 0.0)),
                entity_share=float(data.get("entity_share", 0.5)),
                confidence_correct=_beta(conf.get("correct", (8.7, 1.3))),
                confidence_corrupted=_beta(conf.get("corrupted", (3.0, 3.0))),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: noise: {exc}") from None
        out.validate(where)
        return out

    def validate(self, where: str) -> None:
        if not 0.0 <= self.error_rate < 1.0:
            raise ConfigError(f"{where}: noise.error_rate must be in [0, 1), got {self.error_rate}")
        if not 0.0 <= self.entity_share <= 1.0:
            raise ConfigError(f"{where}: noise.entity_share must be in [0, 1], got {self.entity_share}")


def _beta(value: Any) -> tuple[float, float]:
    a, b = (float(x) for x in value)
    if a <= 0 or b <= 0:
        raise ValueError("Beta parameters must be positive")
    return a, b


class NoiseModel:
    """Corrupts user acts at a configured rate and attaches an NLU confidence."""

    def __init__(self, config: NoiseConfig, intents: Sequence[str], values: Mapping[str, Sequence[str]]) -> None:
        self.config = config
        self.intents = tuple(intents)
        self.values = {k: tuple(v) for k, v in values.items()}

    def observe(self, intent: str, entities: dict[str, str],
                rng: np.random.Generator) -> tuple[str, dict[str, str], float, bool]:
        """``(intent, entities, confidence, corrupted)`` as the bot's NLU reports the act."""
        cfg = self.config
        if cfg.error_rate <= 0.0:
            return intent, entities, 1.0, False
        if rng.random() >= cfg.error_rate:
            return intent, entities, float(rng.beta(*cfg.confidence_correct)), False
        corruptible = [k for k in entities if len(self.values.get(k, ())) > 1]
        if corruptible and rng.random() < cfg.entity_share:
            slot = corruptible[int(rng.integers(len(corruptible)))]
            others = [v for v in self.values[slot] if v != entities[slot]]
            entities = {**entities, slot: others[int(rng.integers(len(others)))]}
        else:
            others = [i for i in self.intents if i != intent]
            if others:
                intent = others[int(rng.integers(len(others)))]
        return intent, entities, float(rng.beta(*cfg.confidence_corrupted)), True
