"""Encoder-decoder translation models from transformers: Marian transformers built from config, or any pretrained
sequence-to-sequence checkpoint (Helsinki-NLP opus-mt, T5, ...).

    python -m zoo.train --task nlp --problem translation                                  # marian_tiny, CPU minutes
    python -m zoo.train --task nlp --model marian_base trainer.device=cuda trainer.precision=bf16
    python -m zoo.train --task nlp --model seq2seq_lm model.pretrained=path/to/opus-mt-en-de ...

Models built from config share one embedding table between encoder, decoder and output (a joint vocabulary), use
Marian's sinusoidal positions (``max_length`` only bounds the sentences) and start decoding from the padding token,
as Marian does. Generation is transformers' own ``generate`` (greedy or beam search, with its KV cache).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.errors import CheckpointError, ConfigError

SIZES = {  # d_model, layers (each side), heads, feed-forward width
    "tiny": (128, 2, 4, 512),
    "small": (256, 3, 4, 1024),
    "base": (512, 6, 8, 2048),
}


def _marian(size: str, vocab_size: int, max_length: int, pad_token_id: int, eos_token_id: int,
            dropout: float) -> nn.Module:
    from transformers import MarianConfig, MarianMTModel

    d_model, layers, heads, ffn = SIZES[size]
    config = MarianConfig(
        vocab_size=vocab_size, decoder_vocab_size=vocab_size, d_model=d_model, encoder_layers=layers,
        decoder_layers=layers, encoder_attention_heads=heads, decoder_attention_heads=heads,
        encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, max_position_embeddings=max_length, dropout=dropout,
        attention_dropout=0.0, activation_dropout=0.0, activation_function="gelu", scale_embedding=True,
        pad_token_id=pad_token_id, eos_token_id=eos_token_id, decoder_start_token_id=pad_token_id,
        forced_eos_token_id=eos_token_id, share_encoder_decoder_embeddings=True, tie_word_embeddings=True,
    )
    return MarianMTModel(config)


def marian_tiny(vocab_size: int = 4000, max_length: int = 64, pad_token_id: int = 0, eos_token_id: int = 1,
                dropout: float = 0.1) -> nn.Module:
    """A Marian transformer with 2 + 2 layers of width 128: trains on two CPU cores in minutes."""
    return _marian("tiny", vocab_size, max_length, pad_token_id, eos_token_id, dropout)


def marian_small(vocab_size: int = 8000, max_length: int = 128, pad_token_id: int = 0, eos_token_id: int = 1,
                 dropout: float = 0.1) -> nn.Module:
    """A Marian transformer with 3 + 3 layers of width 256."""
    return _marian("small", vocab_size, max_length, pad_token_id, eos_token_id, dropout)


def marian_base(vocab_size: int = 32000, max_length: int = 256, pad_token_id: int = 0, eos_token_id: int = 1,
                dropout: float = 0.1) -> nn.Module:
    """Transformer-base (6 + 6 layers of width 512, as opus-mt models), for GPUs."""
    return _marian("base", vocab_size, max_length, pad_token_id, eos_token_id, dropout)


def is_local(pretrained: str) -> bool:
    return Path(pretrained).expanduser().is_dir()


def seq2seq_lm(pretrained: str = "", hf_config: dict[str, Any] | None = None) -> nn.Module:
    """Any ``AutoModelForSeq2SeqLM`` checkpoint: a local directory (read with no hub call), a hub id such as
    ``Helsinki-NLP/opus-mt-en-de``, or a zoo catalog name; fine-tuned with its own tokenizer.

    ``hf_config`` (its transformers config as a dict) builds the architecture without reading ``pretrained``; zoo
    passes it when it loads its own checkpoint of a fine-tuned model, whose weights then replace the random ones.
    """
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    if hf_config is not None:
        return AutoModelForSeq2SeqLM.from_config(AutoConfig.for_model(**hf_config))
    if not pretrained:
        raise ConfigError("model 'seq2seq_lm' fine-tunes a pretrained translation model: set model.pretrained to a "
                          "local directory (config, weights, tokenizer), a hub id such as Helsinki-NLP/opus-mt-en-de "
                          "or a zoo catalog name")
    path = pretrained  # zoo hands over a local path: a catalog name is fetched first (zoo.pretrained.local_path)
    local = is_local(path)
    try:
        return AutoModelForSeq2SeqLM.from_pretrained(
            str(Path(path).expanduser()) if local else path, local_files_only=local, dtype=torch.float32
        )
    except (OSError, ValueError) as error:
        from zoo.nlp.tokenization import unreadable_message

        raise CheckpointError(unreadable_message(path, "model", error)) from error


def pretrained_config(pretrained: str) -> dict[str, Any]:
    """The transformers config of a pretrained checkpoint (a directory or hub id), as plain JSON (saved in the info of zoo's checkpoints)."""
    from transformers import AutoConfig

    path = pretrained
    local = is_local(path)
    try:
        config = AutoConfig.from_pretrained(str(Path(path).expanduser()) if local else path, local_files_only=local)
    except (OSError, ValueError) as error:
        from zoo.nlp.tokenization import unreadable_message

        raise CheckpointError(unreadable_message(path, "config", error)) from error
    if not getattr(config, "is_encoder_decoder", False):
        raise ConfigError(f"{pretrained} is a {config.model_type} model, not an encoder-decoder: translation needs a "
                          "sequence-to-sequence checkpoint (Marian, T5, BART, ...)")
    return config.to_dict()


def generate(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, num_beams: int,
             max_new_tokens: int) -> torch.Tensor:
    """Output ids (decoder start token first) of transformers' ``generate``: greedy for one beam, else beam search,
    with its KV cache; the one place translation calls it."""
    model = getattr(model, "module", model)  # DDP
    return model.generate(
        input_ids=input_ids, attention_mask=attention_mask, num_beams=num_beams, max_new_tokens=max_new_tokens,
        do_sample=False, early_stopping=num_beams > 1,
    )
