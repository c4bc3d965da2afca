"""The supervised policy's networks (Rasa's KerasPolicy in torch): the -1 padding is masked, an LSTM reads
the states, a dense layer scores the actions."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

#: feature value of padded steps (Keras' ``Masking(-1)``)
PADDING = -1.0


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
