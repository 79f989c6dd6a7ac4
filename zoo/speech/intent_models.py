"""Spoken intent models: waveforms ``(batch, samples)`` and lengths in, one block of logits per slot out.

Every model returns the slots' logits side by side, ``(batch, sum of slot sizes)`` in the order of the checkpoint's
``info["slots"]``, so that training, prediction and export see one tensor; :func:`split_logits` cuts it per slot.

* :func:`intent_crnn`: the keyword models' log-mel front end, strided 1-D convolutions, a bidirectional GRU and a
  head per slot that pools the frames with its own attention (end to end, trained from scratch).
* :func:`wav2vec2_intent`: torchaudio's wav2vec 2.0 / HuBERT encoder (built small, or with the weights of a catalog
  entry such as ``speech/wav2vec2_ctc.hubert_asr_large`` through ``model.pretrained``) under the same heads.
* :func:`asr_intent` (in :mod:`zoo.speech.two_stage`): zoo's speech-to-text model, then a text classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torchaudio.models import wav2vec2_model

from zoo.errors import ConfigError
from zoo.speech.features import Frontend
from zoo.speech.models import SMALL_EXTRACTOR, _normalise, _Subsample


def split_logits(logits: Tensor, sizes: Sequence[int]) -> list[Tensor]:
    """The concatenated slot logits cut into one ``(batch, size)`` block per slot."""
    return list(torch.split(logits, list(sizes), dim=-1))


class SlotHeads(nn.Module):
    """Per slot, attention pooling over the valid frames and a linear classifier: "kitchen" decides the location
    wherever it is said, "off" the action."""

    def __init__(self, dim: int, slot_sizes: Sequence[int], dropout: float):
        super().__init__()
        self.sizes = [int(n) for n in slot_sizes]
        self.attention = nn.Linear(dim, len(self.sizes))
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleList(nn.Linear(dim, n) for n in self.sizes)

    def forward(self, x: Tensor, frames: Tensor | None) -> Tensor:
        scores = self.attention(x).float()  # (B, T, slots)
        if frames is not None:
            valid = torch.arange(x.shape[1], device=x.device)[None, :] < frames[:, None]
            scores = scores.masked_fill(~valid[:, :, None], float("-inf"))
        weights = scores.softmax(dim=1).to(x.dtype)
        pooled = torch.einsum("bts,btd->bsd", weights, x)
        return torch.cat([head(self.dropout(pooled[:, i])) for i, head in enumerate(self.heads)], dim=-1)


class IntentCRNN(nn.Module):
    """Front end, two stride-2 convolutions (40 ms frames), a bidirectional GRU and :class:`SlotHeads`."""

    def __init__(self, slot_sizes: Sequence[int], features: dict[str, Any] | None, width: int, hidden: int,
                 layers: int, dropout: float):
        super().__init__()
        self.frontend = Frontend(features)
        self.subsample = _Subsample(self.frontend.size, width)
        self.rnn = nn.GRU(width, hidden, layers, batch_first=True, bidirectional=True,
                          dropout=dropout if layers > 1 else 0.0)
        self.heads = SlotHeads(2 * hidden, slot_sizes, dropout)

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> Tensor:
        x, frames = self.frontend(waves, lengths)
        x, frames = self.subsample(x, frames)
        packed = nn.utils.rnn.pack_padded_sequence(x, frames.cpu(), batch_first=True, enforce_sorted=False)
        x, _ = self.rnn(packed)
        x, _ = nn.utils.rnn.pad_packed_sequence(x, batch_first=True)
        return self.heads(x, frames)


def intent_crnn(slot_sizes: Sequence[int], features: dict[str, Any] | None = None, width: int = 64,
                hidden: int = 64, layers: int = 1, dropout: float = 0.1) -> nn.Module:
    """End-to-end spoken intent on log-mels: conv subsampling, a GRU, an attention-pooled head per slot."""
    return IntentCRNN(slot_sizes, features, width, hidden, layers, dropout)


class Wav2Vec2Intent(nn.Module):
    """torchaudio's wav2vec 2.0 feature extractor and transformer encoder (the state-dict keys of its pipelines,
    without the CTC head), then :class:`SlotHeads` over the encoder's frames."""

    def __init__(self, encoder: nn.Module, dim: int, slot_sizes: Sequence[int], dropout: float,
                 normalize_waveform: bool, freeze_extractor: bool):
        super().__init__()
        self.feature_extractor, self.encoder = encoder.feature_extractor, encoder.encoder
        self.heads = SlotHeads(dim, slot_sizes, dropout)
        self.normalize_waveform = normalize_waveform
        if freeze_extractor:  # as in wav2vec 2.0 fine-tuning: the convolutions keep their pretrained filters
            self.feature_extractor.requires_grad_(False)

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> Tensor:
        if self.normalize_waveform:
            waves = _normalise(waves, lengths)
        x, frames = self.feature_extractor(waves, lengths)
        x = self.encoder(x, frames)
        return self.heads(x, frames)


def wav2vec2_intent(
    slot_sizes: Sequence[int],
    pretrained: str = "",
    extractor_mode: str = "layer_norm",
    extractor_conv_layer_config: Sequence[Sequence[int]] = SMALL_EXTRACTOR,
    extractor_conv_bias: bool = False,
    encoder_embed_dim: int = 96,
    encoder_projection_dropout: float = 0.1,
    encoder_pos_conv_kernel: int = 64,
    encoder_pos_conv_groups: int = 8,
    encoder_num_layers: int = 2,
    encoder_num_heads: int = 4,
    encoder_attention_dropout: float = 0.1,
    encoder_ff_interm_features: int = 192,
    encoder_ff_interm_dropout: float = 0.0,
    encoder_dropout: float = 0.1,
    encoder_layer_norm_first: bool = False,
    encoder_layer_drop: float = 0.0,
    normalize_waveform: bool = False,
    freeze_extractor: bool = True,
    dropout: float = 0.1,
) -> nn.Module:
    """wav2vec 2.0 / HuBERT encoder with a head per slot.

    ``pretrained`` names the encoder's weights: a catalog entry of torchaudio's pipelines (``hubert_asr_large``,
    ``speech/wav2vec2_ctc.wav2vec2_asr_base_960h``; see ``zoo checkpoints speech``), whose architecture replaces the
    arguments here, or a zoo ``wav2vec2_ctc`` run or checkpoint directory. Without it the encoder is built small
    from these arguments and trained from scratch.
    """
    args = dict(
        extractor_mode=extractor_mode, extractor_conv_layer_config=extractor_conv_layer_config,
        extractor_conv_bias=extractor_conv_bias, encoder_embed_dim=encoder_embed_dim,
        encoder_projection_dropout=encoder_projection_dropout, encoder_pos_conv_kernel=encoder_pos_conv_kernel,
        encoder_pos_conv_groups=encoder_pos_conv_groups, encoder_num_layers=encoder_num_layers,
        encoder_num_heads=encoder_num_heads, encoder_attention_dropout=encoder_attention_dropout,
        encoder_ff_interm_features=encoder_ff_interm_features, encoder_ff_interm_dropout=encoder_ff_interm_dropout,
        encoder_dropout=encoder_dropout, encoder_layer_norm_first=encoder_layer_norm_first,
        encoder_layer_drop=encoder_layer_drop,
    )
    state = None
    if pretrained:
        params, state, normalize_waveform = _pretrained_encoder(pretrained)
        args.update(params)
    args["extractor_conv_layer_config"] = [tuple(layer) for layer in args["extractor_conv_layer_config"]]
    encoder = wav2vec2_model(**args, aux_num_out=None)
    if state is not None:
        encoder.load_state_dict(state)
    return Wav2Vec2Intent(encoder, args["encoder_embed_dim"], slot_sizes, dropout, normalize_waveform,
                          freeze_extractor)


_ARCHITECTURE = ("extractor_mode", "extractor_conv_layer_config", "extractor_conv_bias", "encoder_embed_dim",
                 "encoder_projection_dropout", "encoder_pos_conv_kernel", "encoder_pos_conv_groups",
                 "encoder_num_layers", "encoder_num_heads", "encoder_attention_dropout", "encoder_ff_interm_features",
                 "encoder_ff_interm_dropout", "encoder_dropout", "encoder_layer_norm_first", "encoder_layer_drop")


def _pretrained_encoder(pretrained: str) -> tuple[dict[str, Any], dict[str, Tensor], bool]:
    """Architecture, encoder weights (CTC head left out) and waveform normalisation of ``pretrained``."""
    path = Path(pretrained).expanduser()
    if path.exists():
        from zoo import checkpoint as ckpt
        from zoo.speech.models import wav2vec2_ctc

        found = ckpt.resolve(path)
        config = ckpt.read_meta(found)["config"]
        if config["model"]["name"] != "wav2vec2_ctc":
            raise ConfigError(f"model.pretrained={pretrained} is a {config['model']['name']} run; the encoder of "
                              "wav2vec2_intent starts from a wav2vec2_ctc run or a catalog entry")
        info = ckpt.read_meta(found)["info"]
        model = wav2vec2_ctc(vocab_size=len(info["vocab"]), **config["model"]["args"])
        ckpt.load_weights(found, model, ckpt.read_meta(found).get("inference_weights", "model"))
        params = {k: v for k, v in config["model"]["args"].items() if k in _ARCHITECTURE}
        state = {k: v for k, v in model.state_dict().items() if not k.startswith("aux.")}
        return params, state, bool(config["model"]["args"].get("normalize_waveform", False))
    from zoo.hub.catalog import resolve_pretrained
    from zoo.hub.download import fetch
    from zoo.hub.safety import load_state_dict

    entry = resolve_pretrained("speech", "wav2vec2_ctc", pretrained)
    params = {k: v for k, v in entry.builder_args.items() if k in _ARCHITECTURE}
    state = load_state_dict(fetch(entry), entry.format)
    state = {k: v for k, v in state.items() if not any(k.startswith(prefix) for prefix in entry.head)}
    return params, state, bool(entry.builder_args.get("normalize_waveform", False))
