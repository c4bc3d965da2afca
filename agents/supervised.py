"""The supervised ("Keras-style") policy of Rasa Core, in torch.

:class:`SupervisedPolicy` (alias :data:`KerasPolicy`) learns ``P(action | recent states)`` from the
featurized stories. Its network comes from :meth:`SupervisedPolicy.model_architecture`, which is meant
to be overridden; the default mirrors Rasa's KerasPolicy: the -1 padding is masked, an LSTM of 32 units
reads the states, a dense layer scores the actions and a softmax turns the scores into probabilities.

* With a :class:`~dialog_gym.featurizers.MaxHistoryTrackerFeaturizer` (the default, ``max_history=5``;
  Rasa's restaurant example used 3) the network sees the last ``max_history`` states and predicts the
  next action.
* With a :class:`~dialog_gym.featurizers.FullDialogueTrackerFeaturizer` (``full_dialogue=True``) it reads
  whole dialogues and predicts an action at every step; the loss ignores the padded steps.

Unlike Rasa, the default featurizer keeps duplicate examples: the network learns how often the
stories take each action (deduplicated, a single odd story weighs as much as a thousand regular ones,
and a validation split can remove the only example of a transition). Training collapses the duplicates
into weights, so an epoch is one pass over the distinct examples, each weighted by its count.

Training is deterministic under a seed (CPU): the weights are initialised and dropout drawn from a
forked torch RNG seeded with ``seed``, and batches are shuffled by a seeded generator. The policy keeps
its training arrays so that :meth:`SupervisedPolicy.continue_training` can mix a sample of old examples
into online updates (Rasa's interactive learning).

A saved policy holds ``policy.json``, ``model.pt`` (a ``state_dict``, loaded with
``torch.load(weights_only=True)``) and ``training_data.npz`` (loaded with ``allow_pickle=False``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from tqdm.auto import tqdm

from agents.policy import Policy
from dialog_gym.domain import Domain
from dialog_gym.errors import DialogGymError, PersistenceError
from dialog_gym.featurizers import (
    FullDialogueTrackerFeaturizer,
    MaxHistoryTrackerFeaturizer,
    TrackerFeaturizer,
    TrainingData,
)
from dialog_gym.tracker import DialogueStateTracker
from dialog_gym.utils import atomic_write

logger = logging.getLogger(__name__)

MODEL_FILE = "model.pt"
DATA_FILE = "training_data.npz"
PADDING = -1.0
_IGNORE = -100  # label of padded steps (torch's CrossEntropyLoss ignore_index)


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


# ---------------------------------------------------------------------------------------------- networks
class MaskedLSTM(nn.Module):
    """An LSTM that skips time steps whose features are all ``PADDING`` (Keras' ``Masking(-1)``).

    Real steps are moved to the front (in order) and packed, so left padding (max-history windows) and
    right padding (full dialogues) both behave as if the padding were absent. Returns the per-step
    outputs, at the original positions (zeros at padded steps), and the output of the last real step.
    """

    def __init__(self, input_size: int, hidden_size: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)  # on the inputs, as Keras' LSTM(dropout=...)
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, t, f = x.shape
        mask = (x != PADDING).any(dim=-1)
        lengths = mask.sum(dim=1).clamp(min=1)
        order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)  # real steps first, in order
        compact = x.gather(1, order.unsqueeze(-1).expand(n, t, f))
        packed = pack_padded_sequence(self.dropout(compact), lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, _) = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)
        steps = torch.zeros_like(out).scatter_(1, order.unsqueeze(-1).expand_as(out), out)
        return steps, h[-1]


class NextActionNetwork(nn.Module):
    """Masking -> LSTM -> dense: action scores (logits) for the next action of each window."""

    def __init__(self, num_features: int, num_actions: int, rnn_size: int = 32, dropout: float = 0.0) -> None:
        super().__init__()
        self.rnn = MaskedLSTM(num_features, rnn_size, dropout)
        self.dense = nn.Linear(rnn_size, num_actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.rnn(x)[1])


class PerStepActionNetwork(nn.Module):
    """Masking -> LSTM (every step) -> dense per step: action scores for each step of a dialogue."""

    def __init__(self, num_features: int, num_actions: int, rnn_size: int = 32, dropout: float = 0.0) -> None:
        super().__init__()
        self.rnn = MaskedLSTM(num_features, rnn_size, dropout)
        self.dense = nn.Linear(rnn_size, num_actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.rnn(x)[0])


# ---------------------------------------------------------------------------------------------- policy
class SupervisedPolicy(Policy):
    """Rasa's KerasPolicy in torch: a recurrent network trained on the featurized stories.

    Override :meth:`model_architecture` to change the network (and give the subclass its own ``name``
    so that saved folders load into it). Parameters set here are defaults for :meth:`train`, which can
    override each of them per call.
    """

    name = "supervised"

    def __init__(self, featurizer: TrackerFeaturizer | None = None, priority: int = 1,
                 max_history: int | None = None, full_dialogue: bool = False, rnn_size: int = 32,
                 dropout: float = 0.2, learning_rate: float = 1e-3, epochs: int = 200, batch_size: int = 32,
                 validation_split: float = 0.1, early_stopping: int | None = None, seed: int = 0,
                 save_training_data: bool = True, num_threads: int | None = 1, input_shape: Sequence[int] | None = None,
                 output_shape: Sequence[int] | None = None) -> None:
        if featurizer is None:
            featurizer = (FullDialogueTrackerFeaturizer() if full_dialogue
                          else MaxHistoryTrackerFeaturizer(max_history=max_history or 5, remove_duplicates=False))
        elif max_history is not None and getattr(featurizer, "max_history", max_history) != max_history:
            raise ValueError(f"max_history={max_history} disagrees with the featurizer's")
        if not isinstance(featurizer, (MaxHistoryTrackerFeaturizer, FullDialogueTrackerFeaturizer)):
            raise ValueError(f"unsupported featurizer {type(featurizer).__name__}")
        super().__init__(featurizer, priority)
        self.rnn_size = int(rnn_size)
        self.dropout = float(dropout)
        self.learning_rate = float(learning_rate)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.validation_split = float(validation_split)
        self.early_stopping = early_stopping
        self.seed = int(seed)
        self.save_training_data = bool(save_training_data)
        self.num_threads = num_threads
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.output_shape = tuple(output_shape) if output_shape is not None else None
        self.model: nn.Module | None = None
        self.data: TrainingData | None = None
        self.history: list[dict[str, float]] = []

    @property
    def full_dialogue(self) -> bool:
        return isinstance(self.featurizer, FullDialogueTrackerFeaturizer)

    # ------------------------------------------------------------------ the network
    def model_architecture(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> nn.Module:
        """The network: maps a float tensor ``(batch, steps, features)`` (padding -1) to action scores
        (logits; the policy applies the softmax) of shape ``(batch, actions)``, or ``(batch, steps,
        actions)`` when ``output_shape`` is ``(steps, actions)`` (full dialogues)."""
        num_features, num_actions = input_shape[-1], output_shape[-1]
        if len(output_shape) == 2:
            return PerStepActionNetwork(num_features, num_actions, self.rnn_size, self.dropout)
        return NextActionNetwork(num_features, num_actions, self.rnn_size, self.dropout)

    def _build(self, seed: int) -> nn.Module:
        assert self.input_shape is not None and self.output_shape is not None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self.model_architecture(self.input_shape, self.output_shape)
        if not isinstance(model, nn.Module):
            raise TypeError(f"model_architecture must return a torch.nn.Module, got {type(model).__name__}")
        return model

    # ------------------------------------------------------------------ training
    def train(self, trackers: Sequence[DialogueStateTracker], domain: Domain, epochs: int | None = None,
              batch_size: int | None = None, validation_split: float | None = None, seed: int | None = None,
              early_stopping: int | None = None, verbose: bool = False, learning_rate: float | None = None,
              **kwargs: Any) -> None:
        """Featurize the trackers, build a fresh network and fit it.

        ``early_stopping`` is a patience in epochs (on the validation loss, or the training loss without
        a validation split); the best weights are kept. ``verbose`` shows a progress bar.
        """
        super().train(trackers, domain)
        self.train_on_data(self.featurize_for_training(trackers, domain), domain, epochs=epochs,
                           batch_size=batch_size, validation_split=validation_split, seed=seed,
                           early_stopping=early_stopping, verbose=verbose, learning_rate=learning_rate)

    def train_on_data(self, data: TrainingData, domain: Domain, epochs: int | None = None,
                      batch_size: int | None = None, validation_split: float | None = None, seed: int | None = None,
                      early_stopping: int | None = None, verbose: bool = False,
                      learning_rate: float | None = None) -> None:
        """:meth:`train` on already featurized examples (e.g. states labelled by a teacher, DAgger)."""
        self.domain_fingerprint = domain.fingerprint()
        if len(data) == 0:
            raise DialogGymError("no training examples: the stories hold no executed actions")
        seed = self.seed if seed is None else int(seed)
        self.input_shape = tuple(int(s) for s in data.X.shape[1:])
        self.output_shape = tuple(int(s) for s in data.y.shape[1:])
        self.model = self._build(seed)
        self.data = TrainingData(data.X, data.y)
        self.history = self._fit(
            data.X, data.y,
            epochs=self.epochs if epochs is None else int(epochs),
            batch_size=self.batch_size if batch_size is None else int(batch_size),
            validation_split=self.validation_split if validation_split is None else float(validation_split),
            seed=seed,
            early_stopping=self.early_stopping if early_stopping is None else early_stopping,
            learning_rate=self.learning_rate if learning_rate is None else float(learning_rate),
            verbose=verbose,
        )

    def continue_training(self, trackers: Sequence[DialogueStateTracker], domain: Domain, epochs: int = 5,
                          batch_size: int | None = None, old_sample: int | None = None, seed: int | None = None,
                          verbose: bool = False, learning_rate: float | None = None, until_learned: bool = True,
                          max_epochs: int = 200, **kwargs: Any) -> None:
        """Online update (interactive learning): train on the new dialogues' examples plus ``old_sample``
        randomly drawn earlier examples (default: four per new example), then keep the new examples.

        It trains ``epochs`` epochs and, with ``until_learned``, goes on (up to ``max_epochs``) until
        the network predicts every new example's action, so that a correction changes the prediction
        at once (in Rasa it often did not until the model was retrained). An untrained policy is
        trained from scratch on the new dialogues instead.
        """
        if self.model is None or self.data is None:
            self.train(trackers, domain, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose,
                       learning_rate=learning_rate)
            return
        self.continue_training_on_data(self.featurize_for_training(trackers, domain), domain, epochs=epochs,
                                       batch_size=batch_size, old_sample=old_sample, seed=seed, verbose=verbose,
                                       learning_rate=learning_rate, until_learned=until_learned,
                                       max_epochs=max_epochs)

    def continue_training_on_data(self, new: TrainingData, domain: Domain, epochs: int = 5,
                                  batch_size: int | None = None, old_sample: int | None = None,
                                  seed: int | None = None, verbose: bool = False, learning_rate: float | None = None,
                                  until_learned: bool = True, max_epochs: int = 200) -> None:
        """:meth:`continue_training` on already featurized examples; an untrained policy is trained on them."""
        if self.model is None or self.data is None:
            self.train_on_data(new, domain, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose,
                               learning_rate=learning_rate)
            return
        self.check_domain(domain)
        if len(new) == 0:
            return
        seed = self.seed + len(self.data) if seed is None else int(seed)
        rng = np.random.default_rng(seed)
        n_old = len(self.data)
        k = min(n_old, 4 * len(new) if old_sample is None else max(0, int(old_sample)))
        picks = np.sort(rng.choice(n_old, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)
        X, y = _concat(new, TrainingData(self.data.X[picks], self.data.y[picks]))
        new_X = X[: len(new)]
        new_targets = _targets(y[: len(new)])
        valid = new_targets != _IGNORE

        def learned() -> bool:
            predicted = self.predict_arrays(new_X).argmax(axis=-1)
            return bool((predicted[valid] == new_targets[valid]).all())

        self._fit(X, y, epochs=max(int(epochs), int(max_epochs)) if until_learned else int(epochs),
                  batch_size=self.batch_size if batch_size is None else int(batch_size),
                  validation_split=0.0, seed=seed, early_stopping=None,
                  learning_rate=self.learning_rate if learning_rate is None else float(learning_rate),
                  verbose=verbose, min_epochs=int(epochs), stop_when=learned if until_learned else None)
        self.data = TrainingData(*_concat(self.data, new))

    def _fit(self, X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, validation_split: float, seed: int,
             early_stopping: int | None, learning_rate: float, verbose: bool, min_epochs: int = 0,
             stop_when: Callable[[], bool] | None = None) -> list[dict[str, float]]:
        """Fit on the distinct examples of ``X, y``, each weighted by how often it occurs; after
        ``min_epochs``, stop as soon as ``stop_when()`` holds.

        Equivalent in expectation to fitting on every copy, and much faster on stories, which repeat
        the same windows thousands of times. The validation split holds out a random share of the
        copies of each example (binomially), as a split of the full data would.
        """
        assert self.model is not None
        if batch_size < 1 or epochs < 0 or not 0.0 <= validation_split < 1.0:
            raise ValueError(f"invalid training settings: epochs={epochs}, batch_size={batch_size}, "
                             f"validation_split={validation_split}")
        model = self.model
        X_unique, y_unique, counts = collapse_duplicates(X, y)
        rng = np.random.default_rng(seed)
        held_out = rng.binomial(counts, validation_split) if validation_split > 0 else np.zeros_like(counts)
        train_weight = torch.from_numpy((counts - held_out).astype(np.float32))
        val_weight = torch.from_numpy(held_out.astype(np.float32))
        inputs = torch.from_numpy(X_unique)
        targets = torch.from_numpy(_targets(y_unique))
        train_idx = torch.from_numpy(np.flatnonzero(counts - held_out))
        val_idx = torch.from_numpy(np.flatnonzero(held_out))
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
        history: list[dict[str, float]] = []
        best: tuple[float, dict[str, torch.Tensor]] | None = None
        waited = 0
        bar = tqdm(range(epochs), desc=f"{self.name} training", unit="epoch", disable=not verbose, leave=False)
        with torch.random.fork_rng(devices=[]), torch_threads(self.num_threads):
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

    # ------------------------------------------------------------------ prediction
    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain) -> np.ndarray:
        if self.model is None:
            raise DialogGymError(f"the {self.name} policy is not trained")
        X = self.featurizer.create_X([tracker], domain)
        with torch.inference_mode(), torch_threads(self.num_threads):
            self.model.eval()
            scores = self.model(torch.from_numpy(X))
        scores = scores[0, -1] if scores.dim() == 3 else scores[0]
        return torch.softmax(scores.double(), dim=-1).numpy()

    def predict_arrays(self, X: np.ndarray) -> np.ndarray:
        """Action probabilities for featurized inputs (the shape of the training ``X``)."""
        if self.model is None:
            raise DialogGymError(f"the {self.name} policy is not trained")
        with torch.inference_mode(), torch_threads(self.num_threads):
            self.model.eval()
            return torch.softmax(self.model(torch.from_numpy(np.asarray(X, dtype=np.float32))), dim=-1).numpy()

    # ------------------------------------------------------------------ persistence
    def config(self) -> dict[str, Any]:
        return {
            **super().config(), "rnn_size": self.rnn_size, "dropout": self.dropout,
            "learning_rate": self.learning_rate, "epochs": self.epochs, "batch_size": self.batch_size,
            "validation_split": self.validation_split, "early_stopping": self.early_stopping, "seed": self.seed,
            "save_training_data": self.save_training_data, "num_threads": self.num_threads,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "output_shape": list(self.output_shape) if self.output_shape else None,
        }

    def _persist_files(self, folder: Path) -> None:
        if self.model is None:
            raise PersistenceError(f"{folder}: the {self.name} policy is not trained; nothing to save")
        buffer = io.BytesIO()
        torch.save(self.model.state_dict(), buffer)
        with atomic_write(folder / MODEL_FILE, "wb") as handle:
            handle.write(buffer.getvalue())
        if self.save_training_data and self.data is not None:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, X=self.data.X, y=self.data.y)
            with atomic_write(folder / DATA_FILE, "wb") as handle:
                handle.write(buffer.getvalue())

    def _load_files(self, folder: Path) -> None:
        if self.input_shape is None or self.output_shape is None:
            raise PersistenceError(f"{folder}: policy.json lacks the network's input_shape/output_shape")
        path = folder / MODEL_FILE
        if not path.is_file():
            raise PersistenceError(f"{path}: not found")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for a truncated or foreign file
            raise PersistenceError(f"{path}: cannot read the network weights ({type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else 'truncated?'})") from None
        model = self._build(self.seed)
        try:
            model.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise PersistenceError(f"{path}: the weights do not fit the network: "
                                   f"{str(exc).splitlines()[0]}") from None
        model.eval()
        self.model = model
        data_path = folder / DATA_FILE
        if data_path.is_file():
            self.data = _load_training_data(data_path, self.input_shape, self.output_shape)


# ---------------------------------------------------------------------------------------------- helpers
def _targets(y: np.ndarray) -> np.ndarray:
    """Class indices from one-hot labels; padded steps (all -1) get the ignore index."""
    indices = np.argmax(y, axis=-1).astype(np.int64)
    indices[(y == PADDING).all(axis=-1)] = _IGNORE
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
    step_weights = weights.unsqueeze(1) * (flat_targets != _IGNORE)
    losses = nn.functional.cross_entropy(logits.reshape(-1, num_actions), flat_targets.reshape(-1),
                                         ignore_index=_IGNORE, reduction="none").reshape(flat_targets.shape)
    total = step_weights.sum()
    loss = (losses * step_weights).sum() / total.clamp(min=1e-12)
    correct = (logits.reshape(len(targets), -1, num_actions).argmax(-1) == flat_targets).float()
    return loss, float((correct * step_weights).sum()), float(total)


def _pad_steps(a: np.ndarray, steps: int) -> np.ndarray:
    if a.ndim < 3 or a.shape[1] == steps:
        return a
    pad = np.full((a.shape[0], steps - a.shape[1], *a.shape[2:]), PADDING, dtype=a.dtype)
    return np.concatenate([a, pad], axis=1)


def _concat(a: TrainingData, b: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    """Stack two sets of examples; full-dialogue arrays are padded to the longer dialogue."""
    steps = max(a.X.shape[1], b.X.shape[1])
    X = np.concatenate([_pad_steps(a.X, steps), _pad_steps(b.X, steps)])
    if a.y.ndim == 3:
        y = np.concatenate([_pad_steps(a.y, steps), _pad_steps(b.y, steps)])
    else:
        y = np.concatenate([a.y, b.y])
    return X.astype(np.float32), y.astype(np.float32)


def _load_training_data(path: Path, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> TrainingData:
    try:
        with np.load(path, allow_pickle=False) as archive:
            X, y = archive["X"], archive["y"]
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise PersistenceError(f"{path}: cannot read the training data: {exc}") from None
    except Exception as exc:  # zipfile.BadZipFile and friends for a truncated file
        raise PersistenceError(f"{path}: cannot read the training data ({type(exc).__name__})") from None
    if X.ndim != 3 or X.shape[-1] != input_shape[-1] or y.shape[-1] != output_shape[-1] or len(X) != len(y):
        raise PersistenceError(f"{path}: arrays of shape {X.shape}, {y.shape} do not fit the network")
    return TrainingData(X.astype(np.float32), y.astype(np.float32))


KerasPolicy = SupervisedPolicy
"""Rasa Core's name for the supervised policy."""
