"""Text classifiers. Each takes ``input_ids`` and ``attention_mask`` (batch, length) and gives class logits.

BERT encoders come from ``transformers`` unwrapped (``BertForSequenceClassification``, or whatever class a
pretrained checkpoint names), so they keep ``save_pretrained`` and the rest of their library; their output's
``.logits`` are the logits. The baselines return the logits tensor itself.

    >>> model = bert_tiny(num_classes=2, vocab_size=8000, max_length=128)
    >>> model = pretrained("google/bert_uncased_L-2_H-128_A-2", num_classes=2)     # a hub id, or a local directory
    >>> model = pretrained("nlp/pretrained.distilbert-base-uncased-finetuned-sst-2-english")  # a zoo catalog entry
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from zoo.errors import CheckpointError, ConfigError
from zoo.nlp.tokenization import is_local, unreadable_message

# Sizes of Turc et al. (2019), "Well-Read Students Learn Better": layers, hidden size, attention heads.
BERT_SIZES: dict[str, tuple[int, int, int]] = {"tiny": (2, 128, 2), "mini": (4, 256, 4), "small": (4, 512, 8)}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _bert(
    size: str, num_classes: int, vocab_size: int, max_length: int, pad_token_id: int, dropout: float
) -> nn.Module:
    from transformers import BertConfig, BertForSequenceClassification

    layers, hidden, heads = BERT_SIZES[size]
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=max_length,
        pad_token_id=pad_token_id,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        num_labels=num_classes,
    )
    return BertForSequenceClassification(config)


def bert_tiny(
    num_classes: int = 2, vocab_size: int = 30522, max_length: int = 512, pad_token_id: int = 0, dropout: float = 0.1
) -> nn.Module:
    """BERT-Tiny: 2 layers, hidden 128, 2 heads, randomly initialised; ``max_length`` sets the position table."""
    return _bert("tiny", num_classes, vocab_size, max_length, pad_token_id, dropout)


def bert_mini(
    num_classes: int = 2, vocab_size: int = 30522, max_length: int = 512, pad_token_id: int = 0, dropout: float = 0.1
) -> nn.Module:
    """BERT-Mini: 4 layers, hidden 256, 4 heads, randomly initialised."""
    return _bert("mini", num_classes, vocab_size, max_length, pad_token_id, dropout)


def bert_small(
    num_classes: int = 2, vocab_size: int = 30522, max_length: int = 512, pad_token_id: int = 0, dropout: float = 0.1
) -> nn.Module:
    """BERT-Small: 4 layers, hidden 512, 8 heads, randomly initialised."""
    return _bert("small", num_classes, vocab_size, max_length, pad_token_id, dropout)


def pretrained(pretrained: str = "", num_classes: int = 2, hf_config: dict[str, Any] | None = None) -> nn.Module:
    """Any ``AutoModelForSequenceClassification`` checkpoint with a new head: ``model.pretrained`` names it (a local
    directory, a hub id, or a zoo catalog name such as ``nlp/pretrained.distilbert-base-uncased-finetuned-sst-2-english``,
    which zoo fetches and hands over as its cached folder).

    A local directory is read with ``local_files_only``: no hub call. ``hf_config`` (the model's transformers config
    as a dict) builds the architecture without reading any weights; zoo passes it when it loads its own checkpoint of
    a fine-tuned model, whose weights then replace the random ones.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification

    if hf_config is not None:
        config = AutoConfig.for_model(**{**hf_config, "num_labels": num_classes})
        return AutoModelForSequenceClassification.from_config(config)
    if not pretrained:
        raise ConfigError("model 'pretrained' fine-tunes a pretrained checkpoint: set model.pretrained to a local "
                          "directory (config, weights, tokenizer), a Hugging Face hub id, or a zoo catalog name "
                          "(python -m zoo checkpoints nlp)")
    checkpoint = pretrained
    local = is_local(checkpoint)
    path = str(Path(checkpoint).expanduser()) if local else checkpoint
    try:
        return AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=num_classes, ignore_mismatched_sizes=True, local_files_only=local, dtype=torch.float32
        )
    except (OSError, ValueError) as error:
        raise CheckpointError(unreadable_message(checkpoint, "model", error)) from error


def pretrained_config(checkpoint: str, num_classes: int) -> dict[str, Any]:
    """The transformers config of ``checkpoint`` (a directory or hub id) with ``num_classes`` labels, as JSON."""
    from transformers import AutoConfig

    local = is_local(checkpoint)
    path = str(Path(checkpoint).expanduser()) if local else checkpoint
    try:
        config = AutoConfig.from_pretrained(path, num_labels=num_classes, local_files_only=local)
    except (OSError, ValueError) as error:
        raise CheckpointError(unreadable_message(checkpoint, "config", error)) from error
    return config.to_dict()


class FastText(nn.Module):
    """fastText (Joulin et al., 2017): the mean of token and hashed n-gram embeddings, then a linear layer.

    N-grams are of tokens; with a vocabulary fitted to the corpus most tokens are whole words. ``ngrams=1`` is a plain
    bag of words, which cannot see order at all.
    """

    def __init__(
        self, num_classes: int, vocab_size: int, embed_dim: int, ngrams: int, buckets: int, pad_token_id: int
    ):
        super().__init__()
        if ngrams < 1:
            raise ValueError(f"ngrams must be at least 1, got {ngrams}")
        self.vocab_size, self.ngrams, self.buckets, self.pad = vocab_size, ngrams, buckets, pad_token_id
        rows = vocab_size + (buckets if ngrams > 1 else 0)
        self.embedding = nn.EmbeddingBag(rows, embed_dim, mode="mean", padding_idx=pad_token_id)
        self.head = nn.Linear(embed_dim, num_classes)
        nn.init.uniform_(self.embedding.weight, -1 / embed_dim, 1 / embed_dim)
        with torch.no_grad():
            self.embedding.weight[pad_token_id].zero_()

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        mask = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        bags = [input_ids.masked_fill(~mask, self.pad)]
        hashed = input_ids
        for n in range(2, self.ngrams + 1):
            # Polynomial hash (mod buckets) of the n tokens ending at each position, into rows after the vocabulary.
            hashed = (hashed[:, :-1] * 1_000_003 + input_ids[:, n - 1 :]).remainder(self.buckets)
            valid = mask[:, n - 1 :] & mask[:, : mask.shape[1] - n + 1]
            bags.append((self.vocab_size + hashed).masked_fill(~valid, self.pad))
        return self.head(self.embedding(torch.cat(bags, dim=1)))


def fasttext(
    num_classes: int = 2, vocab_size: int = 30522, embed_dim: int = 64, ngrams: int = 2, buckets: int = 100_000,
    pad_token_id: int = 0,
) -> nn.Module:
    """fastText-style bag of token n-grams (``ngrams=2``: words and word pairs)."""
    return FastText(num_classes, vocab_size, embed_dim, ngrams, buckets, pad_token_id)


class TextCNN(nn.Module):
    """TextCNN (Kim, 2014): parallel 1-D convolutions of several widths, max-pooled over the unpadded tokens."""

    def __init__(
        self, num_classes: int, vocab_size: int, embed_dim: int, kernel_sizes: tuple[int, ...], channels: int,
        dropout: float, pad_token_id: int,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_token_id)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, channels, k, padding=k // 2) for k in kernel_sizes)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels * len(kernel_sizes), num_classes)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        x = self.embedding(input_ids).transpose(1, 2)  # (batch, embed, length)
        length = input_ids.shape[1]
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))[:, :, :length]
            if attention_mask is not None:
                h = h.masked_fill(~attention_mask.bool()[:, None, :], float("-inf"))
            pooled.append(h.amax(dim=2))
        return self.head(self.dropout(torch.cat(pooled, dim=1)))


def textcnn(
    num_classes: int = 2, vocab_size: int = 30522, embed_dim: int = 128, kernel_sizes: tuple[int, ...] = (3, 4, 5),
    channels: int = 100, dropout: float = 0.5, pad_token_id: int = 0,
) -> nn.Module:
    """TextCNN with windows of 3, 4 and 5 tokens."""
    return TextCNN(num_classes, vocab_size, embed_dim, tuple(kernel_sizes), channels, dropout, pad_token_id)


class BiGRU(nn.Module):
    """A bidirectional GRU over the unpadded tokens; the last states of both directions feed the classifier."""

    def __init__(
        self, num_classes: int, vocab_size: int, embed_dim: int, hidden_size: int, num_layers: int, dropout: float,
        pad_token_id: int,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_token_id)
        self.gru = nn.GRU(
            embed_dim, hidden_size, num_layers, batch_first=True, bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden_size, num_classes)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        if attention_mask is None:
            lengths = torch.full((input_ids.shape[0],), input_ids.shape[1], dtype=torch.int64)
        else:
            lengths = attention_mask.sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.dropout(self.embedding(input_ids)), lengths, batch_first=True, enforce_sorted=False
        )
        _, hidden = self.gru(packed)  # (layers * 2, batch, hidden)
        last = torch.cat([hidden[-2], hidden[-1]], dim=1)
        return self.head(self.dropout(last))


def bigru(
    num_classes: int = 2, vocab_size: int = 30522, embed_dim: int = 128, hidden_size: int = 128, num_layers: int = 1,
    dropout: float = 0.2, pad_token_id: int = 0,
) -> nn.Module:
    """A one-layer bidirectional GRU classifier."""
    return BiGRU(num_classes, vocab_size, embed_dim, hidden_size, num_layers, dropout, pad_token_id)
