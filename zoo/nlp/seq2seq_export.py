"""How translation models are exported: one decoder pass over the whole target prefix, not the generation loop.

    input_ids (batch, source) int64, attention_mask (batch, source) int64, decoder_input_ids (batch, target) int64
        -> logits (batch, target, vocabulary) float32

This is the model's forward as training runs it (teacher forcing): given a source and the target tokens so far it
scores every next token. Translating with the exported file means running the generation loop yourself around it
(start from the decoder start token, append the best next token, stop at the end token), re-running the encoder and
the whole prefix at every step: greedy or beam search, the KV cache and the stopping rules of transformers'
``generate`` are not in the export. Batch, source and target lengths are dynamic, up to ``max_length``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from zoo.export import BATCH, ExportSpec

SOURCE, TARGET = "source", "target"


class Seq2SeqLogits(nn.Module):
    """The encoder-decoder as one call returning the logits tensor (no cache, no ``ModelOutput``)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: Tensor, attention_mask: Tensor, decoder_input_ids: Tensor) -> Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                          use_cache=False).logits


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    config = model.config
    vocab_size = int(info.get("vocab_size") or config.vocab_size)
    max_length = int(info.get("max_length") or config.max_position_embeddings)
    pad = int(info.get("pad_token_id", config.pad_token_id))
    start = int(config.decoder_start_token_id if config.decoder_start_token_id is not None else pad)
    traced = min(12, max_length)

    def sample(sizes: dict[str, int]) -> tuple[Tensor, Tensor, Tensor]:
        """Random source ids, the first sentence of full length and the others shorter; a target prefix."""
        batch, length, target = sizes[BATCH], sizes[SOURCE], sizes[TARGET]
        lengths = torch.randint(1, length + 1, (batch,))
        lengths[0] = length
        mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
        ids = torch.randint(3, vocab_size, (batch, length)).masked_fill(mask == 0, pad)
        decoder = torch.randint(3, vocab_size, (batch, target))
        decoder[:, 0] = start
        return ids, mask, decoder

    module = Seq2SeqLogits(model).eval()
    return ExportSpec(
        module=module,
        sample=sample,
        inputs={"input_ids": {0: BATCH, 1: SOURCE}, "attention_mask": {0: BATCH, 1: SOURCE},
                "decoder_input_ids": {0: BATCH, 1: TARGET}},
        outputs={"logits": {0: BATCH, 1: TARGET}},
        axes={SOURCE: (traced, max(2, traced - 5)), TARGET: (max(2, traced - 3), traced)},
    )
