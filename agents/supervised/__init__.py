"""The supervised ("Keras-style") policy of Rasa Core, in torch.

:class:`SupervisedPolicy` (Rasa's KerasPolicy) learns ``P(action | recent states)`` from the
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

The package holds one module per concern: :mod:`~agents.supervised.networks` (the networks),
:mod:`~agents.supervised.fitting` (:class:`FitOptions` and the training loop) and
:mod:`~agents.supervised.policy` (the policy: its one training entry point :meth:`SupervisedPolicy.fit`,
prediction, persistence).

A saved policy holds ``policy.json``, ``model.pt`` (a ``state_dict``, loaded with
``torch.load(weights_only=True)``) and ``training_data.npz`` (loaded with ``allow_pickle=False``).
"""

from agents.supervised.fitting import FitOptions, collapse_duplicates, torch_threads
from agents.supervised.networks import PADDING, MaskedLSTM, NextActionNetwork, PerStepActionNetwork
from agents.supervised.policy import DATA_FILE, MODEL_FILE, SupervisedPolicy

__all__ = [
    "DATA_FILE",
    "MODEL_FILE",
    "PADDING",
    "FitOptions",
    "MaskedLSTM",
    "NextActionNetwork",
    "PerStepActionNetwork",
    "SupervisedPolicy",
    "collapse_duplicates",
    "torch_threads",
]
