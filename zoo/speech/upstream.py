"""torchaudio's wav2vec 2.0 and HuBERT ASR pipelines and ``wav2vec2_ctc``: which fit, built how, with what labels.

Everything is read from the pipelines' own metadata (``_params``, ``_labels``, ``_remove_aux_axis``,
``_normalize_waveform``, ``_path``) and checked on the meta device: the zoo model built with :func:`builder_args`
has exactly the keys and shapes of the model torchaudio builds from the same parameters. The CTC head is sized as
in the published file, which keeps the rows of fairseq's unused symbols that torchaudio strips after downloading
(``<pad>``, ``</s>``, ``<unk>``, and one more in some VoxPopuli files); :func:`file_labels` names every row.

These pipelines are not in the built-in checkpoint catalog: a catalog entry must carry the file's sha256 (or a
published prefix of it), and torchaudio publishes none for these files (``torch.hub`` fetches them unchecked).
"""

from __future__ import annotations

from typing import Any

_FAIRSEQ_SYMBOLS = {1: "<pad>", 2: "</s>", 3: "<unk>"}  # fairseq's Dictionary; 0 (<s>) serves as the CTC blank
_BASE_URL = "https://download.pytorch.org/torchaudio/models/"


def asr_bundles() -> dict[str, Any]:
    """torchaudio's CTC speech-recognition pipelines on the wav2vec 2.0 architecture, by name."""
    from torchaudio import pipelines

    return {
        name: bundle
        for name in sorted(dir(pipelines))
        if type(bundle := getattr(pipelines, name)) is pipelines.Wav2Vec2ASRBundle and bundle._model_type == "Wav2Vec2"
    }


def file_labels(bundle: Any) -> list[str]:
    """The label of every output row of the published weights, the blank ("-") first."""
    labels = list(bundle.get_labels())
    for row in sorted(bundle._remove_aux_axis):
        labels.insert(row, _FAIRSEQ_SYMBOLS.get(row, "<unused>"))
    return labels


def builder_args(bundle: Any) -> dict[str, Any]:
    """Arguments of ``zoo.speech.models.wav2vec2_ctc`` that rebuild the pipeline's architecture."""
    params = {k: v for k, v in bundle._params.items() if k != "aux_num_out"}
    params["extractor_conv_layer_config"] = [list(layer) for layer in params["extractor_conv_layer_config"]]
    return {**params, "vocab_size": len(file_labels(bundle)), "normalize_waveform": bool(bundle._normalize_waveform)}


def url(bundle: Any) -> str:
    return bundle._path if bundle._path.startswith("https://") else _BASE_URL + bundle._path


def fits(bundle: Any) -> bool:
    """Whether the zoo model and torchaudio's agree on every state-dict key and shape (checked on the meta device)."""
    from torchaudio.models import wav2vec2_model

    from zoo.hub.upstream import on_meta, shapes
    from zoo.speech.models import wav2vec2_ctc

    args = builder_args(bundle)
    ours = on_meta(lambda: wav2vec2_ctc(**args))
    reference = on_meta(lambda: wav2vec2_model(**{**bundle._params, "aux_num_out": args["vocab_size"]}))
    return shapes(ours) == shapes(reference)
