"""How speech models are exported: padded waveforms and their lengths in, logits out.

    keywords:       waves (batch, samples) float32, lengths (batch,) int64 -> logits (batch, classes)
    speech-to-text: waves (batch, samples) float32, lengths (batch,) int64
                    -> logits (batch, frames, vocabulary), frames (batch,) int64
    intent:         waves (batch, samples) float32, lengths (batch,) int64 -> logits (batch, sum of slot sizes),
                    the slots side by side in the order of the checkpoint's info["slots"]

Batch and sample count are dynamic. Waveforms are at the checkpoint's sample rate, zero-padded to the longest, with
each one's length in samples (a clip of one size gives every row the full length); features are computed inside the
model. Keyword models were trained on clips of ``clip_samples`` and ``zoo predict`` pads or cuts to that; they run on
other lengths but their training held that one. Speech-to-text models give the CTC logits (blank first) and each
utterance's count of valid frames, both needed to decode a padded batch; the logits have the frames of the longest
utterance.

Two models are exported through modules computing the same numbers in a form the tracers keep dynamic: the
Conformer's padding mask is sized from its input rather than from the largest length (TorchScript would fix that),
and the raw-waveform CNN's 1-D max pools run as 2-D pools over a unit axis (``torch.export`` fixes the length of a
1-D max pool). The CRNN exports to TorchScript only: ``torch.export`` cannot trace its packed GRU, nor (in torch
2.14) a GRU over the padded frames, whose count comes from strided convolutions.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.export import BATCH, ExportSpec
from zoo import registry
from zoo.speech.models import CRNN, ConformerCTC

SAMPLES = "samples"


class ConformerExport(nn.Module):
    """:class:`ConformerCTC` with the padding mask sized from the frames tensor, not from ``lengths.max().item()``
    (what torchaudio's Conformer does, which tracing fixes to the traced batch's value); the same computation."""

    def __init__(self, model: ConformerCTC):
        super().__init__()
        self.model = model

    def forward(self, waves: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        m = self.model
        x, frames = m.frontend(waves, lengths)
        x, frames = m.subsample(x, frames)
        padding = torch.arange(x.shape[1], device=x.device)[None, :] >= frames[:, None]
        x = m.dropout(x).transpose(0, 1)
        for layer in m.encoder.conformer_layers:
            x = layer(x, padding)
        return m.out(x.transpose(0, 1)), frames


class MaxPool1dAs2d(nn.Module):
    """``pool`` (an ``nn.MaxPool1d``) computed by a 2-D max pool over an added unit axis: the same outputs."""

    def __init__(self, pool: nn.MaxPool1d):
        super().__init__()
        self.pool = pool

    def forward(self, x: Tensor) -> Tensor:
        p = self.pool
        pair = lambda v: (1, v if isinstance(v, int) else v[0])  # noqa: E731
        return F.max_pool2d(x.unsqueeze(2), pair(p.kernel_size), pair(p.stride), (0, pair(p.padding)[1]),
                            pair(p.dilation), p.ceil_mode).squeeze(2)


def export_spec(model: nn.Module, model_name: str, info: dict[str, Any]) -> ExportSpec:
    rate = int(info.get("sample_rate", 16_000))
    transcribes = registry.get_model_entry("speech", model_name).problem == "transcription"
    traced = int(info.get("clip_samples", rate)) if not transcribes else rate

    def sample(sizes: dict[str, int]) -> tuple[Tensor, Tensor]:
        """Noise at speech level, the first waveform of full length and the others shorter, zero-padded."""
        batch, samples = sizes[BATCH], sizes[SAMPLES]
        lengths = torch.randint(samples // 2, samples + 1, (batch,))
        lengths[0] = samples
        valid = torch.arange(samples)[None, :] < lengths[:, None]
        return 0.1 * torch.randn(batch, samples) * valid, lengths

    outputs = {"logits": {0: BATCH, 1: "frames"}, "frames": {0: BATCH}} if transcribes else {"logits": {0: BATCH}}
    return ExportSpec(
        module=_exportable(model),
        sample=sample,
        inputs={"waves": {0: BATCH, 1: SAMPLES}, "lengths": {0: BATCH}},
        outputs=outputs,
        axes={SAMPLES: (traced, traced * 3 // 4 + 1)},
        reference=model,
        unsupported=_unsupported(model, model_name),
    )


def _unsupported(model: nn.Module, model_name: str) -> dict[str, str]:
    from zoo.speech.intent_models import IntentCRNN
    from zoo.speech.two_stage import ASRIntent

    if isinstance(model, ASRIntent):
        reason = (f"{model_name} cannot be exported: its second stage reads the words the first decoded, in Python; "
                  "export the speech-to-text run instead")
        return {"onnx": reason, "torchscript": reason}
    if isinstance(model, (CRNN, IntentCRNN)):
        return {"onnx": f"{model_name} cannot be exported to ONNX: torch.export cannot trace its packed GRU, nor a "
                        "GRU over padded frames counted by strided convolutions; use --format torchscript"}
    return {}


def _exportable(model: nn.Module) -> nn.Module:
    if isinstance(model, ConformerCTC):
        return ConformerExport(model).eval()
    if any(isinstance(m, nn.MaxPool1d) for m in model.modules()):
        model = copy.deepcopy(model)  # the checkpoint's model stays as it is: it is the reference
        for name, pool in [(n, m) for n, m in model.named_modules() if isinstance(m, nn.MaxPool1d)]:
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, MaxPool1dAs2d(pool))
    return model
