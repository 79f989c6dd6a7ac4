"""Causal language models for the chat problem: transformers ``LlamaForCausalLM`` from config, or pretrained.

    >>> model = llama_tiny(vocab_size=512, max_length=256)                   # from scratch, for two CPU cores
    >>> model = causal_lm("HuggingFaceTB/SmolLM2-135M-Instruct")             # a hub id (its cache when offline)
    >>> model = causal_lm("/tmp/smollm/SmolLM2-135M-Instruct.Q4_1.gguf")    # a GGUF file (pip install 'zoo[gguf]')

The models are transformers' own, unwrapped: ``generate``, ``save_pretrained`` and the KV cache work as in the
library. A GGUF file is read with ``from_pretrained(folder, gguf_file=name)``, which de-quantises its weights into
float32. A zoo checkpoint of a fine-tuned pretrained model saves the model's transformers config in its ``info``
(``hf_config``), so it is rebuilt from that and zoo's weights, without the original files.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from zoo.errors import CheckpointError, ConfigError

# Layers, hidden size, attention heads, key-value heads, MLP size.
LLAMA_SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "tiny": (3, 128, 4, 4, 384),
    "small": (12, 768, 12, 4, 2048),
}


class PrecedingTokenEmbedding(nn.Module):
    """A token's embedding plus, for each of the ``preceding`` positions before it, an embedding of the token there
    (from a table of its own per offset; the padding token before a sequence's start).

    A lookup in a conversation ("The cubes are ..." finding "2 blue cubes" in the first turn) matches a word with an
    earlier copy of it and reads the words next to that copy. A transformer has to learn heads that move each
    token's neighbours into its position before any lookup can form; with the neighbours in the input, as a short
    causal convolution gives them (H3, Hyena, Canon layers), the lookup is learned in a fraction of the steps.
    """

    def __init__(self, token: nn.Embedding, preceding: int, std: float, pad_token_id: int):
        super().__init__()
        self.token, self.pad_token_id = token, pad_token_id
        self.preceding = nn.ModuleList(nn.Embedding(token.num_embeddings, token.embedding_dim) for _ in range(preceding))
        for table in self.preceding:
            nn.init.normal_(table.weight, 0.0, std)

    @property
    def weight(self) -> Tensor:
        return self.token.weight

    @property
    def num_embeddings(self) -> int:
        return self.token.num_embeddings

    @property
    def embedding_dim(self) -> int:
        return self.token.embedding_dim

    def forward(self, input_ids: Tensor) -> Tensor:
        out = self.token(input_ids)
        for offset, table in enumerate(self.preceding, start=1):
            before = input_ids.new_full((input_ids.shape[0], min(offset, input_ids.shape[1])), self.pad_token_id)
            out = out + table(torch.cat([before, input_ids[:, :-offset]], dim=1))
        return out


@functools.cache
def _preceding_token_llama() -> type:
    """``LlamaForCausalLM`` whose embedding is a :class:`PrecedingTokenEmbedding` (built on first use, as importing
    transformers is slow)."""
    from transformers import LlamaForCausalLM

    class PrecedingTokenLlamaForCausalLM(LlamaForCausalLM):
        """Generates as Llama does; each cached step embeds its new tokens with the ones before them, which a cached
        step no longer passes to the model."""

        def prepare_inputs_for_generation(self, input_ids: Tensor, *args: Any, **kwargs: Any) -> dict[str, Any]:
            inputs = super().prepare_inputs_for_generation(input_ids, *args, **kwargs)
            new = inputs.get("input_ids")
            if new is not None:
                embedding = self.model.embed_tokens
                window = input_ids[:, -(new.shape[1] + len(embedding.preceding)):]
                inputs["inputs_embeds"] = embedding(window)[:, -new.shape[1]:]
                inputs["input_ids"] = None
            return inputs

    return PrecedingTokenLlamaForCausalLM


def _llama(
    size: str, vocab_size: int, max_length: int, pad_token_id: int, eos_token_id: int | list[int] | None,
    dropout: float, init_std: float, tie_embeddings: bool = True, embedding_std: float | None = None,
    preceding_tokens: int = 0,
) -> nn.Module:
    if preceding_tokens < 0:
        raise ConfigError(f"model.args.preceding_tokens must be 0 or more, got {preceding_tokens}")
    if preceding_tokens and tie_embeddings:
        raise ConfigError("model.args.preceding_tokens needs untied embeddings: set model.args.tie_embeddings=false "
                          "or model.args.preceding_tokens=0")
    from transformers import LlamaConfig, LlamaForCausalLM

    layers, hidden, heads, kv_heads, intermediate = LLAMA_SIZES[size]
    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        num_key_value_heads=kv_heads, intermediate_size=intermediate, max_position_embeddings=max_length,
        attention_dropout=dropout, tie_word_embeddings=tie_embeddings, pad_token_id=pad_token_id, bos_token_id=None,
        eos_token_id=eos_token_id, initializer_range=init_std,
    )
    model = (_preceding_token_llama() if preceding_tokens else LlamaForCausalLM)(config)
    if embedding_std is not None:
        with torch.no_grad():
            model.get_input_embeddings().weight.normal_(0.0, embedding_std)
    if preceding_tokens:
        model.model.embed_tokens = PrecedingTokenEmbedding(
            model.model.embed_tokens, preceding_tokens, embedding_std or init_std, pad_token_id)
    return model


def llama_tiny(
    vocab_size: int = 512, max_length: int = 256, pad_token_id: int = 0, eos_token_id: int | list[int] | None = 2,
    dropout: float = 0.0, init_std: float = 0.088, tie_embeddings: bool = False, embedding_std: float = 1.0,
    preceding_tokens: int = 2,
) -> nn.Module:
    """A 3-layer Llama (hidden 128, 4 heads, RoPE, SwiGLU), randomly initialised: trains on two CPU cores in minutes.

    Each position also reads the ``preceding_tokens`` tokens before it (:class:`PrecedingTokenEmbedding`; 0 gives
    the plain Llama). On the world dialogues, greedy answers after 1,500 steps: 0.89 exact with 2, 0.62 without.

    Token embeddings start at unit variance (``embedding_std``) and apart from the output layer
    (``tie_embeddings=False``): each token's identity then stays large in the residual stream beside what the layers
    add, so a later layer's attention can match a token with an earlier copy of it, which every lookup in a
    conversation needs. On a recall of three key-value pairs (``scripts/bench_chat_init.py``, batches of 8) this start
    is exact within 200 steps at lr 0.0005 and 0.001; tied embeddings at std 0.088 need 700 steps at lr 0.0005 and
    stay at chance for 1,000 at lr 0.001. The other weights start at ``init_std`` = 1/sqrt(128), not transformers'
    0.02 (sized for widths near 768), at which this narrow model's attention scores start near zero.
    """
    return _llama("tiny", vocab_size, max_length, pad_token_id, eos_token_id, dropout, init_std, tie_embeddings,
                  embedding_std, preceding_tokens)


def llama_small(
    vocab_size: int = 32_000, max_length: int = 2048, pad_token_id: int = 0, eos_token_id: int | list[int] | None = 2,
    dropout: float = 0.0, init_std: float = 0.02, tie_embeddings: bool = True, preceding_tokens: int = 0,
) -> nn.Module:
    """A 12-layer Llama (hidden 768, 12 heads sharing 4 key-value heads), randomly initialised: for GPUs. The plain
    Llama by default; ``preceding_tokens`` (with ``tie_embeddings=False``) as in :func:`llama_tiny`."""
    return _llama("small", vocab_size, max_length, pad_token_id, eos_token_id, dropout, init_std, tie_embeddings,
                  None, preceding_tokens)


def locate(pretrained: str) -> tuple[str, dict[str, Any]]:
    """Where ``from_pretrained`` reads ``pretrained`` from, and how: a GGUF file as its folder and ``gguf_file``, a
    directory (or a catalog entry, fetched) with ``local_files_only``, anything else as a hub id."""
    from zoo.pretrained import local_path

    if not pretrained:
        raise ConfigError("model 'causal_lm' fine-tunes a pretrained model: set model.pretrained to a local "
                          "directory, a GGUF file or a Hugging Face hub id")
    path = Path(pretrained).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise CheckpointError(f"model.pretrained={pretrained}: no such GGUF file")
        import importlib.util

        if importlib.util.find_spec("gguf") is None:
            raise ConfigError(f"reading {path.name} needs the gguf package: pip install 'zoo[gguf]' (gguf, accelerate)")
        return str(path.parent), {"gguf_file": path.name, "local_files_only": True}
    resolved = local_path("nlp", "causal_lm", pretrained)  # a catalog snapshot fetched, a path, or a hub id
    if Path(resolved).expanduser().is_dir():
        return str(Path(resolved).expanduser()), {"local_files_only": True}
    return resolved, {}


def _unreadable(pretrained: str, what: str, error: Exception) -> str:
    if Path(pretrained).expanduser().exists():
        return f"cannot read the {what} of {pretrained}: {error}"
    return (f"cannot load the {what} of {pretrained!r}: {error}. It is neither a local directory or GGUF file nor "
            "in the Hugging Face cache; with no network, download it where there is one (huggingface-cli download "
            f"{pretrained} --local-dir DIR), copy DIR here and pass model.pretrained=DIR")


def pretrained_tokenizer(pretrained: str) -> Any:
    """The pretrained model's own fast tokenizer (a GGUF file holds one too)."""
    from transformers import AutoTokenizer

    where, kwargs = locate(pretrained)
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, use_fast=True, **kwargs)
    except (OSError, ValueError) as error:
        raise CheckpointError(_unreadable(pretrained, "tokenizer", error)) from error
    if not getattr(tokenizer, "is_fast", False) or not hasattr(tokenizer, "backend_tokenizer"):
        raise CheckpointError(f"{pretrained} has no fast tokenizer (tokenizer.json), which zoo stores with its "
                              "checkpoints; convert it with AutoTokenizer(..., use_fast=True).save_pretrained(DIR)")
    return tokenizer


def pretrained_config(pretrained: str) -> dict[str, Any]:
    """The model's transformers config as plain JSON, without the GGUF quantisation note (weights load as float32)."""
    from transformers import AutoConfig

    where, kwargs = locate(pretrained)
    try:
        config = AutoConfig.from_pretrained(where, **kwargs)
    except (OSError, ValueError) as error:
        raise CheckpointError(_unreadable(pretrained, "config", error)) from error
    if getattr(config, "is_encoder_decoder", False):
        raise ConfigError(f"{pretrained} is an encoder-decoder model ({config.model_type}); the chat problem needs a "
                          "decoder-only causal language model")
    data = config.to_dict()
    data.pop("quantization_config", None)
    return data


def causal_lm(
    pretrained: str = "", vocab_size: int | None = None, hf_config: dict[str, Any] | None = None
) -> nn.Module:
    """Any ``AutoModelForCausalLM``: ``model.pretrained`` names a local directory, a GGUF file, a hub id or a zoo
    catalog entry. ``vocab_size`` above the model's grows its embeddings (tokens the chat template added);
    ``hf_config`` builds the architecture alone, for zoo's own checkpoint weights to fill."""
    from transformers import AutoConfig, AutoModelForCausalLM

    if hf_config is not None:
        data = {k: v for k, v in hf_config.items() if k != "quantization_config"}
        return AutoModelForCausalLM.from_config(AutoConfig.for_model(**data), dtype=torch.float32)
    where, kwargs = locate(pretrained)
    try:
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **kwargs)
    except (OSError, ValueError) as error:
        raise CheckpointError(_unreadable(pretrained, "model", error)) from error
    if vocab_size is not None and vocab_size > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(vocab_size)
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config  # de-quantised on reading: zoo trains and saves float32
    return model
