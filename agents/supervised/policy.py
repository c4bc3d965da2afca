"""The supervised policy: :class:`SupervisedPolicy` (Rasa's KerasPolicy); see :mod:`agents.supervised`."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.policy import Policy
from agents.supervised.fitting import (
    IGNORE_INDEX,
    FitOptions,
    class_targets,
    concat_examples,
    fit_network,
    torch_threads,
)
from agents.supervised.networks import NextActionNetwork, PerStepActionNetwork
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

MODEL_FILE = "model.pt"
DATA_FILE = "training_data.npz"


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
    def train(self, trackers: Sequence[DialogueStateTracker], domain: Domain, **kwargs: Any) -> None:
        """Rasa's ``train``: featurize the trackers, build a fresh network and fit it (keyword arguments:
        the fields of :class:`FitOptions`; others are ignored)."""
        super().train(trackers, domain)
        self.fit(self.featurize_for_training(trackers, domain), domain, FitOptions.from_kwargs(kwargs))

    def continue_training(self, trackers: Sequence[DialogueStateTracker], domain: Domain, **kwargs: Any) -> None:
        """Rasa's ``continue_training`` (interactive learning): an online update on the new dialogues'
        examples (see :meth:`fit` with ``online=True``; keyword arguments: the fields of :class:`FitOptions`).

        By default it trains 5 epochs and goes on (up to ``max_epochs``) until the network predicts every
        new example's action, so that a correction changes the prediction at once (in Rasa it often did
        not until the model was retrained). An untrained policy is trained from scratch instead.
        """
        self.fit(self.featurize_for_training(trackers, domain), domain, FitOptions.from_kwargs(kwargs), online=True)

    def fit(self, data: TrainingData, domain: Domain, options: FitOptions | None = None,
            online: bool = False) -> None:
        """The one training entry point, on featurized examples (stories, or states a teacher labelled).

        ``online=False``: a fresh network fitted on ``data``. ``online=True``: an update of the trained
        network on ``data`` plus a sample of the examples seen so far, after which ``data`` joins them;
        an untrained policy is fitted from scratch (``epochs`` default 5). ``options``: :class:`FitOptions`.
        """
        options = options or FitOptions()
        if not online or self.model is None or self.data is None:
            self._fit_fresh(data, domain, options, default_epochs=5 if online else self.epochs)
        else:
            self._fit_online(data, domain, options)

    def _fit_fresh(self, data: TrainingData, domain: Domain, options: FitOptions, default_epochs: int) -> None:
        self.domain_fingerprint = domain.fingerprint()
        if len(data) == 0:
            raise DialogGymError("no training examples: the stories hold no executed actions")
        seed = self.seed if options.seed is None else int(options.seed)
        self.input_shape = tuple(int(s) for s in data.X.shape[1:])
        self.output_shape = tuple(int(s) for s in data.y.shape[1:])
        self.model = self._build(seed)
        self.data = TrainingData(data.X, data.y)
        self.history = self._fit(
            data.X, data.y,
            epochs=default_epochs if options.epochs is None else int(options.epochs),
            batch_size=self._batch_size(options),
            validation_split=self.validation_split if options.validation_split is None
            else float(options.validation_split),
            seed=seed,
            early_stopping=self.early_stopping if options.early_stopping is None else options.early_stopping,
            learning_rate=self._learning_rate(options),
            verbose=options.verbose,
        )

    def _fit_online(self, new: TrainingData, domain: Domain, options: FitOptions) -> None:
        assert self.data is not None
        self.check_domain(domain)
        if len(new) == 0:
            return
        epochs = 5 if options.epochs is None else int(options.epochs)
        seed = self.seed + len(self.data) if options.seed is None else int(options.seed)
        rng = np.random.default_rng(seed)
        n_old = len(self.data)
        k = min(n_old, 4 * len(new) if options.old_sample is None else max(0, int(options.old_sample)))
        picks = np.sort(rng.choice(n_old, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)
        X, y = concat_examples(new, TrainingData(self.data.X[picks], self.data.y[picks]))
        new_X = X[: len(new)]
        new_targets = class_targets(y[: len(new)])
        valid = new_targets != IGNORE_INDEX

        def learned() -> bool:
            predicted = self.predict_arrays(new_X).argmax(axis=-1)
            return bool((predicted[valid] == new_targets[valid]).all())

        until_learned = options.until_learned
        self._fit(X, y, epochs=max(epochs, int(options.max_epochs)) if until_learned else epochs,
                  batch_size=self._batch_size(options), validation_split=0.0, seed=seed, early_stopping=None,
                  learning_rate=self._learning_rate(options), verbose=options.verbose, min_epochs=epochs,
                  stop_when=learned if until_learned else None)
        self.data = TrainingData(*concat_examples(self.data, new))

    def _batch_size(self, options: FitOptions) -> int:
        return self.batch_size if options.batch_size is None else int(options.batch_size)

    def _learning_rate(self, options: FitOptions) -> float:
        return self.learning_rate if options.learning_rate is None else float(options.learning_rate)

    def _fit(self, X: np.ndarray, y: np.ndarray, **settings: Any) -> list[dict[str, float]]:
        assert self.model is not None
        return fit_network(self.model, X, y, num_threads=self.num_threads, desc=f"{self.name} training", **settings)

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

