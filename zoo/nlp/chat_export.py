"""How chat models are exported: the forward pass of the causal language model, token ids in, next-token logits out.

    input_ids (batch, sequence) int64, attention_mask (batch, sequence) int64 -> logits (batch, sequence, vocab)

What is exported is one forward pass without a KV cache (``use_cache=False``); the generation loop is not: greedy
or sampled decoding, beam search, the cache and the stopping rules stay in ``transformers.generate``, which a runtime
of the exported graph has to reimplement (call it once per new token on the whole sequence, or export with a cache
by other means). Batch and sequence length are dynamic up to the checkpoint's context (``info["max_length"]``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from zoo.export import BATCH, ExportSpec

SEQUENCE = "sequence"


class NextTokenLogits(nn.Module):
    """A transformers causal LM giving its logits tensor, without a cache."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    vocab_size = int(info.get("vocab_size") or model.config.vocab_size)
    max_length = int(info.get("max_length") or model.config.max_position_embeddings)
    traced = min(16, max_length)

    def sample(sizes: dict[str, int]) -> tuple[Tensor, Tensor]:
        """Random ids with every position attended: a batch of prompts of one length (right padding would only
        change the logits of the padded positions, which no one reads)."""
        batch, length = sizes[BATCH], sizes[SEQUENCE]
        return torch.randint(0, vocab_size, (batch, length)), torch.ones(batch, length, dtype=torch.int64)

    wrapped = NextTokenLogits(model).eval()
    return ExportSpec(
        module=wrapped,
        sample=sample,
        inputs={"input_ids": {0: BATCH, 1: SEQUENCE}, "attention_mask": {0: BATCH, 1: SEQUENCE}},
        outputs={"logits": {0: BATCH, 1: SEQUENCE}},
        axes={SEQUENCE: (traced, max(2, traced - 5))},
    )
