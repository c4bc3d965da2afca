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


# ---------------------------------------------------------------------------------------------------------
# PyDial's N-best channel (Env3-6 of its benchmark): the DSTC2 N-best generator and confidence scorer with
# Levenshtein confusions. Acts are ``(act, items)`` tuples with items ``(slot, value | None, negated)``.

#: PyDial's error-model parameter sets (``config/set1-ErrorModel.cfg`` for 15%, ``set3`` for 30%): N-best
#: length distributions of correct and incorrect samples, where the correct hypothesis sits in an incorrect
#: sample, and the mean/variance of the confidence at each N-best position (the last: the "rest" mass)
DSTC2_PARAMS: dict[str, dict[str, tuple[float, ...]]] = {
    "set1": {
        "correct_len": (0.264, 0.215, 0.138, 0.099, 0.08),
        "incorrect_len": (0.3, 0.068, 0.085, 0.072, 0.079),
        "incorrect_pos": (0.0, 0.179, 0.063, 0.027, 0.017),
        "correct_mean": (0.871, 0.103, 0.045, 0.032, 0.027, 0.049),
        "correct_var": (0.029, 0.01, 0.002, 0.001, 0.0, 0.001),
        "incorrect_mean": (0.757, 0.179, 0.077, 0.048, 0.037, 0.065),
        "incorrect_var": (0.052, 0.014, 0.003, 0.001, 0.0, 0.002),
    },
    "set3": {
        "correct_len": (0.147, 0.43, 0.212, 0.147, 0.048),
        "incorrect_len": (0.351, 0.388, 0.158, 0.071, 0.02),
        "incorrect_pos": (0.0, 0.116, 0.027, 0.007, 0.002),
        "correct_mean": (0.905, 0.101, 0.017, 0.008, 0.005, 0.01),
        "correct_var": (0.016, 0.013, 0.002, 0.001, 0.0, 0.001),
        "incorrect_mean": (0.871, 0.164, 0.065, 0.043, 0.03, 0.054),
        "incorrect_var": (0.029, 0.02, 0.005, 0.002, 0.001, 0.003),
    },
}
#: PyDial's shares of confusions that change the act type, a slot, a value (capped by what the act has)
CONFUSE_SHARES = (0.2, 0.3, 0.5)
NULL_ACT = ("null", ())
#: act types that carry slot=value items (PyDial's item format 2)
_SLOT_VALUE_ACTS = frozenset({"inform", "affirm", "negate", "confirm", "reqalts"})


def dstc2_param_set(error_rate: float) -> str:
    """PyDial's benchmark pairs 15% error with ``set1`` and 30% with ``set3``."""
    return "set1" if error_rate < 0.225 else "set3"


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


_CONFUSION_CACHE: dict[tuple[tuple[str, ...], str], tuple[tuple[str, ...], np.ndarray] | None] = {}


def confusions(words: Sequence[str], word: str, size: int = 6, offset: float = 0.15
               ) -> tuple[tuple[str, ...], np.ndarray] | None:
    """The ``size`` words of ``words`` nearest to ``word`` by edit distance and the cumulative confusion
    probabilities PyDial gives them (inverse distance, normalised, softened by ``offset``, normalised);
    None if there is no other word. Cached per (word list, word); ties broken by the list's order
    (PyDial shuffles the list first)."""
    key = (tuple(words), word)
    if key in _CONFUSION_CACHE:
        return _CONFUSION_CACHE[key]
    ranked = sorted((levenshtein(word, o), i, o) for i, o in enumerate(key[0]) if o != word)[:size]
    out = None
    if ranked:
        weights = np.array([1.0 / max(d, 1) for d, _, _ in ranked])
        weights /= weights.sum()
        weights += offset
        weights /= weights.sum()
        out = (tuple(o for _, _, o in ranked), np.cumsum(weights))
    _CONFUSION_CACHE[key] = out
    return out


class NBestChannel:
    """What the bot's semantic decoder makes of a user act: an N-best list of ``(act, confidence)``.

    With ``error_rate == 0`` the list is the act alone with confidence 1.0 (PyDial's Env1/2: N-best of
    one) and no random numbers are drawn. Otherwise, as PyDial's ``DSTC2NBestGenerator`` and
    ``DSTC2ConfidenceScorer``: with probability ``error_rate`` the sample is incorrect (the true act is
    not on top: it sits at a sampled position, or nowhere when the list is shorter), the list length is
    sampled from the correct/incorrect length distribution (capped at ``nbest``), the other entries are
    distinct confusions of the true act, each position's confidence is drawn from a normal with the
    set's mean and variance (clipped to [0.01, 0.99]), the mass of the missing positions goes to a
    ``null()`` hypothesis, and the confidences are normalised.
    """

    def __init__(self, error_rate: float, nbest: int, act_types: Sequence[str], slots: Sequence[str],
                 values: Mapping[str, Sequence[str]], confusable: Sequence[str], param_set: str | None = None
                 ) -> None:
        self.error_rate = float(error_rate)
        self.nbest = int(nbest)
        params = DSTC2_PARAMS[param_set or dstc2_param_set(self.error_rate)]
        self._cor_len = np.cumsum(np.array(params["correct_len"]) / sum(params["correct_len"]))
        self._inc_len = np.cumsum(np.array(params["incorrect_len"]) / sum(params["incorrect_len"]))
        self._inc_pos = np.cumsum(np.array(params["incorrect_pos"]) / sum(params["incorrect_pos"]))
        self._cor = (np.array(params["correct_mean"]), np.sqrt(np.maximum(params["correct_var"], 1e-8)))
        self._inc = (np.array(params["incorrect_mean"]), np.sqrt(np.maximum(params["incorrect_var"], 1e-8)))
        self.values = {k: tuple(v) for k, v in values.items()}
        self._types = tuple(act_types)
        self._slots = tuple(slots)
        self._confusable = frozenset(confusable)

    def observe(self, act: tuple, rng: np.random.Generator) -> list[tuple[tuple, float]]:
        """The N-best list for the true ``act``, best first."""
        if self.error_rate <= 0.0:
            return [(act, 1.0)]
        if rng.random() < self.error_rate:
            size = min(int(np.searchsorted(self._inc_len, rng.random(), side="right")) + 1, self.nbest)
            position = int(np.searchsorted(self._inc_pos, rng.random(), side="right"))
            mean, std = self._inc
        else:
            size = min(int(np.searchsorted(self._cor_len, rng.random(), side="right")) + 1, self.nbest)
            position = 0
            mean, std = self._cor
        hyps: list[tuple] = []
        for i in range(size):
            if i == position:
                hyps.append(act)
                continue
            wrong = self.confuse(act, rng)
            for _ in range(20):
                if wrong != act and wrong not in hyps:
                    break
                wrong = self.confuse(act, rng)
            hyps.append(wrong)
        scores = np.clip(rng.normal(mean, std), 0.01, 0.99).round(4)
        conf = scores[:size].tolist()
        rest = float(scores[size:].sum())
        if NULL_ACT in hyps:
            conf[hyps.index(NULL_ACT)] += rest
        else:
            hyps.append(NULL_ACT)
            conf.append(rest)
        total = sum(conf)
        return [(h, c / total) for h, c in zip(hyps, conf, strict=True)]

    @staticmethod
    def _pick(words: tuple[str, ...], word: str, rng: np.random.Generator) -> str:
        """A confusion of ``word`` among ``words`` (nearest by edit distance, PyDial's weights)."""
        entry = confusions(words, word)
        if entry is None:
            return word
        near, cdf = entry
        return near[min(int(np.searchsorted(cdf, rng.random(), side="right")), len(near) - 1)]

    def confuse(self, act: tuple, rng: np.random.Generator) -> tuple:
        """One wrong hypothesis, as PyDial's Levenshtein confusion model makes it: with shares 0.2 / 0.3 /
        0.5 (capped by what the act carries) the act type changes (its items replaced by a random slot, and
        a random value where the new type takes one), every slot name changes (values redrawn for the new
        slot), or one value changes."""
        name, items = act
        arity = 0 if not items or not items[0][0] else (2 if items[0][1] is not None else 1)
        u = rng.random()
        choice = 0 if u < CONFUSE_SHARES[0] else (1 if u < CONFUSE_SHARES[0] + CONFUSE_SHARES[1] else 2)
        choice = min(choice, arity)
        if choice == 0:
            new = self._pick(self._types, name, rng)
            if new in _SLOT_VALUE_ACTS or new == "request":
                slot = self._slots[int(rng.integers(len(self._slots)))]
                options = self.values.get(slot)
                value = options[int(rng.integers(len(options)))] if options and new != "request" else None
                return (new, ((slot, value, False),))
            return (new, ())
        if choice == 1:
            changed = []
            for slot, value, neg in items:
                if not slot or slot == "type":
                    changed.append((slot, value, neg))
                    continue
                new_slot = self._pick(self._slots, slot, rng) if slot in self._slots else slot
                if value is not None:
                    options = self.values.get(new_slot)
                    value = options[int(rng.integers(len(options)))] if options else None
                changed.append((new_slot, value, neg))
            return (name, tuple(changed))
        index = int(rng.integers(len(items)))
        slot, value, neg = items[index]
        if not slot or value is None or slot == "type":
            return act
        options = self.values.get(slot, ())
        if slot in self._confusable and value in options:
            value = self._pick(options, value, rng)
        elif options:
            value = options[int(rng.integers(len(options)))]
        return (name, (*items[:index], (slot, value, neg), *items[index + 1:]))
