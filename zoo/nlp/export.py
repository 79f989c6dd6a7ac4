"""How text classifiers are exported: token ids and their mask in, class logits out.

    input_ids (batch, sequence) int64, attention_mask (batch, sequence) int64 -> logits (batch, classes) float32

Batch and sequence length are dynamic; texts are tokenized with the checkpoint's tokenizer (its info) and padded to
the longest, as ``zoo predict`` does, up to ``max_length`` tokens (a BERT's position table ends there).
transformers models return a ``ModelOutput``; the export keeps its logits, as training does (``logits_of``). The
bidirectional GRU packs its padded batch, which the ONNX exporter cannot trace; its export runs the same GRU weights
over the padded batch (:class:`~zoo.nlp.padded_gru.PaddedGRU`), with the same results.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from zoo.export import BATCH, ExportSpec
from zoo.nlp.padded_gru import PaddedGRU
from zoo.nlp.models import BiGRU
from zoo.nlp.task import logits_of

SEQUENCE = "sequence"


class TextLogits(nn.Module):
    """A text classifier giving its logits tensor, whatever the model returns."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return logits_of(self.model, {"input_ids": input_ids, "attention_mask": attention_mask})


class BiGRUExport(nn.Module):
    """:class:`BiGRU` with its GRU run over the padded batch rather than packed: the same logits."""

    def __init__(self, model: BiGRU):
        super().__init__()
        self.model, self.gru = model, PaddedGRU(model.gru)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        m = self.model
        _, hidden = self.gru(m.dropout(m.embedding(input_ids)), attention_mask.sum(dim=1).clamp(min=1))
        return m.head(m.dropout(torch.cat([hidden[-2], hidden[-1]], dim=1)))


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    config = getattr(model, "config", None)  # a transformers model knows its sizes
    vocab_size = int(info.get("vocab_size") or config.vocab_size)
    max_length = int(info.get("max_length") or config.max_position_embeddings)
    pad = int(info.get("pad_token_id", 0))
    traced = min(16, max_length)

    def sample(sizes: dict[str, int]) -> tuple[Tensor, Tensor]:
        """Random ids, the first text of full length and the others shorter, padded as a batch of texts is."""
        batch, length = sizes[BATCH], sizes[SEQUENCE]
        lengths = torch.randint(1, length + 1, (batch,))
        lengths[0] = length
        mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
        ids = torch.randint(0, vocab_size, (batch, length)).masked_fill(mask == 0, pad)
        return ids, mask

    return ExportSpec(
        module=(BiGRUExport(model) if isinstance(model, BiGRU) else TextLogits(model)).eval(),
        sample=sample,
        inputs={"input_ids": {0: BATCH, 1: SEQUENCE}, "attention_mask": {0: BATCH, 1: SEQUENCE}},
        outputs={"logits": {0: BATCH}},
        axes={SEQUENCE: (traced, max(2, traced - 5))},
        reference=lambda input_ids, attention_mask: logits_of(
            model, {"input_ids": input_ids, "attention_mask": attention_mask}),
    )
