"""The trainable model: a backbone encoder, the pooling it was trained for, dropout and a task head."""

from __future__ import annotations

import torch
from torch import nn

from domainfit.backbones.encoder import pool

__all__ = ["TextModel"]


class TextModel(nn.Module):
    """encoder → pool (mean/cls, optional L2 normalisation) → dropout → head. The encoder is a plain `AutoModel`.
    With pooling "tokens" the head scores every token: (batch, tokens, outputs) logits, for entity recognition."""

    def __init__(self, encoder: nn.Module, head: nn.Module, *, pooling: str, normalize: bool, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.pooling = pooling
        self.normalize = normalize
        self.dropout = nn.Dropout(dropout)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return pool(hidden, attention_mask, self.pooling, self.normalize)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(input_ids, attention_mask)))

    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
