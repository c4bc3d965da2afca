"""Fitting the supervised policy's network: the options of a training run (:class:`FitOptions`, the
one set of keyword arguments :meth:`~agents.supervised.SupervisedPolicy.fit` takes) and the weighted
training loop over distinct examples."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from agents.supervised.networks import PADDING
from dialog_gym.featurizers import TrainingData

IGNORE_INDEX = -100  # label of padded steps (torch's CrossEntropyLoss ignore_index)


@dataclass(frozen=True)
class FitOptions:
    """How to fit the network; ``None`` means the policy's own setting (its constructor's).

    A fresh fit (``SupervisedPolicy.fit(..., online=False)``, Rasa's ``train``) reads ``epochs``,
    ``batch_size``, ``validation_split``, ``seed``, ``early_stopping``, ``learning_rate`` and
    ``verbose``. An online update (``online=True``, Rasa's ``continue_training``) trains ``epochs``
    (default 5) on the new examples plus ``old_sample`` earlier ones (default: four per new example), and
    with ``until_learned`` goes on up to ``max_epochs`` until every new example is predicted; it never
    holds out a validation split nor stops early.
    """

    epochs: int | None = None
    batch_size: int | None = None
    validation_split: float | None = None  #: share of each example's copies held out (fresh fits)
    seed: int | None = None
    early_stopping: int | None = None  #: patience in epochs on the validation (else training) loss
    learning_rate: float | None = None
    verbose: bool = False  #: show a progress bar
    old_sample: int | None = None  #: online: earlier examples mixed in (None: four per new one)
    until_learned: bool = True  #: online: go on until the new examples are predicted
    max_epochs: int = 200  #: online: the limit of ``until_learned``

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> FitOptions:
        """The options among ``kwargs`` (Rasa's ``train(trackers, domain, **kwargs)``); other keys are
        ignored, as an ensemble passes every member the same keyword arguments."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in kwargs.items() if k in names})


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run torch with ``count`` intra-op threads, restoring the setting afterwards (``None``: as is).

    The networks here are tiny: one thread is fastest, and on a busy 2-core machine torch's default
    of one thread per core was measured up to 30 times slower (threads spin waiting for each other).
    """
    previous = torch.get_num_threads()
    if count is None or count == previous:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fit_network(model: nn.Module, X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int,
                validation_split: float, seed: int, early_stopping: int | None, learning_rate: float,
                verbose: bool = False, min_epochs: int = 0, stop_when: Callable[[], bool] | None = None,
                num_threads: int | None = 1, desc: str = "training") -> list[dict[str, float]]:
    """Fit on the distinct examples of ``X, y``, each weighted by how often it occurs; after
    ``min_epochs``, stop as soon as ``stop_when()`` holds.

    Equivalent in expectation to fitting on every copy, and much faster on stories, which repeat
    the same windows thousands of times. The validation split holds out a random share of the
    copies of each example (binomially), as a split of the full data would.
    """
    if batch_size < 1 or epochs < 0 or not 0.0 <= validation_split < 1.0:
        raise ValueError(f"invalid training settings: epochs={epochs}, batch_size={batch_size}, "
                         f"validation_split={validation_split}")
    X_unique, y_unique, counts = collapse_duplicates(X, y)
    rng = np.random.default_rng(seed)
    held_out = rng.binomial(counts, validation_split) if validation_split > 0 else np.zeros_like(counts)
    train_weight = torch.from_numpy((counts - held_out).astype(np.float32))
    val_weight = torch.from_numpy(held_out.astype(np.float32))
    inputs = torch.from_numpy(X_unique)
    targets = torch.from_numpy(class_targets(y_unique))
    train_idx = torch.from_numpy(np.flatnonzero(counts - held_out))
    val_idx = torch.from_numpy(np.flatnonzero(held_out))
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    waited = 0
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not verbose, leave=False)
    with torch.random.fork_rng(devices=[]), torch_threads(num_threads):
        torch.manual_seed(seed)
        for epoch in bar:
            model.train()
            order = train_idx[torch.randperm(len(train_idx), generator=generator)]
            total = hits = weight = 0.0
            for batch in order.split(batch_size):
                loss, batch_hits, batch_weight = _weighted_loss(model(inputs[batch]), targets[batch],
                                                                train_weight[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * batch_weight
                hits += batch_hits
                weight += batch_weight
            record = {"epoch": epoch + 1, "loss": total / max(weight, 1e-12), "accuracy": hits / max(weight, 1e-12)}
            if len(val_idx):
                model.eval()
                with torch.no_grad():
                    loss, val_hits, val_total = _weighted_loss(model(inputs[val_idx]), targets[val_idx],
                                                               val_weight[val_idx])
                record.update(val_loss=loss.item(), val_accuracy=val_hits / max(val_total, 1e-12))
            history.append(record)
            bar.set_postfix({k: round(v, 4) for k, v in record.items() if k != "epoch"})
            if stop_when is not None and epoch + 1 >= min_epochs and stop_when():
                break
            if early_stopping is not None:
                monitored = record.get("val_loss", record["loss"])
                if best is None or monitored < best[0]:
                    best = (monitored, {k: v.detach().clone() for k, v in model.state_dict().items()})
                    waited = 0
                else:
                    waited += 1
                    if waited >= early_stopping:
                        break
    bar.close()
    if best is not None:
        model.load_state_dict(best[1])
    model.eval()
    return history


def class_targets(y: np.ndarray) -> np.ndarray:
    """Class indices from one-hot labels; padded steps (all -1) get the ignore index."""
    indices = np.argmax(y, axis=-1).astype(np.int64)
    indices[(y == PADDING).all(axis=-1)] = IGNORE_INDEX
    return indices


def collapse_duplicates(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct ``(X[i], y[i])`` examples (in a deterministic order) and how often each occurs."""
    n = len(X)
    if n == 0:
        return X.astype(np.float32), y.astype(np.float32), np.zeros(0, dtype=np.int64)
    rows = np.concatenate([X.reshape(n, -1), y.reshape(n, -1)], axis=1).astype(np.float32)
    unique, counts = np.unique(rows, axis=0, return_counts=True)
    width = int(np.prod(X.shape[1:]))
    X_unique = np.ascontiguousarray(unique[:, :width].reshape(-1, *X.shape[1:]))
    y_unique = np.ascontiguousarray(unique[:, width:].reshape(-1, *y.shape[1:]))
    return X_unique, y_unique, counts.astype(np.int64)


def _weighted_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor
                   ) -> tuple[torch.Tensor, float, float]:
    """Cross-entropy averaged over the (valid steps of the) examples, each counted ``weights`` times;
    also the weighted number of correct predictions and the total weight."""
    num_actions = logits.shape[-1]
    flat_targets = targets.reshape(len(targets), -1)
    step_weights = weights.unsqueeze(1) * (flat_targets != IGNORE_INDEX)
    losses = nn.functional.cross_entropy(logits.reshape(-1, num_actions), flat_targets.reshape(-1),
                                         ignore_index=IGNORE_INDEX, reduction="none").reshape(flat_targets.shape)
    total = step_weights.sum()
    loss = (losses * step_weights).sum() / total.clamp(min=1e-12)
    correct = (logits.reshape(len(targets), -1, num_actions).argmax(-1) == flat_targets).float()
    return loss, float((correct * step_weights).sum()), float(total)


def _pad_steps(a: np.ndarray, steps: int) -> np.ndarray:
    if a.ndim < 3 or a.shape[1] == steps:
        return a
    pad = np.full((a.shape[0], steps - a.shape[1], *a.shape[2:]), PADDING, dtype=a.dtype)
    return np.concatenate([a, pad], axis=1)


def concat_examples(a: TrainingData, b: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    """Stack two sets of examples; full-dialogue arrays are padded to the longer dialogue."""
    steps = max(a.X.shape[1], b.X.shape[1])
    X = np.concatenate([_pad_steps(a.X, steps), _pad_steps(b.X, steps)])
    if a.y.ndim == 3:
        y = np.concatenate([_pad_steps(a.y, steps), _pad_steps(b.y, steps)])
    else:
        y = np.concatenate([a.y, b.y])
    return X.astype(np.float32), y.astype(np.float32)
