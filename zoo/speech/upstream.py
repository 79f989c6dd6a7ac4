"""torchaudio's wav2vec 2.0 and HuBERT ASR pipelines as catalog entries of ``wav2vec2_ctc``.

    python scripts/build_catalog.py      # regenerates zoo/hub/builtin_catalog.json, these entries included

Everything is read from the pipelines' own metadata (``_params``, ``_labels``, ``_remove_aux_axis``,
``_normalize_waveform``, ``_sample_rate``, ``_path`` and the docstring's summary, licence and source) and checked
on the meta device: the zoo model built with :func:`builder_args` has exactly the keys and shapes of the model
torchaudio builds from the same parameters. The CTC head is sized as in the published file, which keeps the rows of
fairseq's unused symbols that torchaudio strips after downloading (``<pad>``, ``</s>``, ``<unk>``, and one more in
some VoxPopuli files); :func:`file_labels` names every row.

torchaudio publishes no hash of these files (``torch.hub`` fetches them unchecked), so the entries say
``verify: weights``: a download is kept only if it loads as weights without running code, and its sha256 is pinned
in the cache record at that first download (see docs/checkpoints.md).
"""

from __future__ import annotations

import re
from typing import Any

from zoo.errors import CatalogError

_FAIRSEQ_SYMBOLS = {1: "<pad>", 2: "</s>", 3: "<unk>"}  # fairseq's Dictionary; 0 (<s>) serves as the CTC blank
_BASE_URL = "https://download.pytorch.org/torchaudio/models/"
# pretrained=True: the base model fine-tuned on all 960 h of LibriSpeech, the pipeline torchaudio's ASR tutorial uses.
DEFAULT_BUNDLE = "WAV2VEC2_ASR_BASE_960H"
_LICENSE = re.compile(r"\bunder (?P<license>.+?) and redistributed")
_LINK = r"`{} <(?P<url>[^>]+)>`__"


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


def reference_model(bundle: Any) -> Any:
    """torchaudio's model of the pipeline with the head of the published file, on the meta device."""
    from torchaudio.models import wav2vec2_model

    from zoo.upstream import on_meta

    return on_meta(lambda: wav2vec2_model(**{**bundle._params, "aux_num_out": len(file_labels(bundle))}))


def fits(bundle: Any) -> bool:
    """Whether the zoo model and torchaudio's agree on every state-dict key and shape (checked on the meta device)."""
    from zoo.upstream import on_meta, shapes
    from zoo.speech.models import wav2vec2_ctc

    ours = on_meta(lambda: wav2vec2_ctc(**builder_args(bundle)))
    return shapes(ours) == shapes(reference_model(bundle))


def torchaudio_asr(models: set[str]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Catalog entries (and no shared label sets) for every ASR pipeline that fits ``wav2vec2_ctc``."""
    if "wav2vec2_ctc" not in models:
        return [], {}
    return [asr_entry(name, bundle) for name, bundle in asr_bundles().items() if fits(bundle)], {}


def asr_entry(name: str, bundle: Any) -> dict[str, Any]:
    """The catalog entry ``speech/wav2vec2_ctc.<name in lower case>`` of one pipeline, from its own metadata."""
    import torchaudio

    doc = _describe(name, bundle.__doc__ or "")
    address = url(bundle)
    return {
        "name": f"speech/wav2vec2_ctc.{name.lower()}",
        "file_name": address.rsplit("/", 1)[-1],
        "sources": [address],
        "format": "pth",
        "verify": "weights",
        "builder_args": builder_args(bundle),
        "head": ["aux."],
        "params": sum(p.numel() for p in reference_model(bundle).parameters()),
        "preprocessing": {"sample_rate": bundle.sample_rate, "channels": 1,
                          "normalize_waveform": bool(bundle._normalize_waveform)},
        "labels": file_labels(bundle),
        "license": doc["license"],
        "recipe": doc["source"],
        "library": f"torchaudio {torchaudio.__version__.split('+')[0]} (torchaudio.pipelines.{name})",
        **({"default": True} if name == DEFAULT_BUNDLE else {}),
        "description": doc["summary"] + " Upstream publishes no hash of this file (torch.hub fetches it unchecked): "
        "zoo keeps a download only if it loads as weights without running code, and pins its sha256 at the first "
        "download.",
    }


def _describe(name: str, docstring: str) -> dict[str, str]:
    """Summary, licence (with its link) and source of a pipeline, read from torchaudio's docstring."""
    clean = re.sub(r"\s*:cite:`[^`]*`", "", docstring).replace("*", "")  # reST citations and emphasis
    text = " ".join(clean.split())
    licence = _LICENSE.search(text)
    link, source = re.search(_LINK.format("License"), text), re.search(_LINK.format("Source"), text)
    if licence is None or link is None or source is None:
        raise CatalogError(
            f"torchaudio.pipelines.{name}: its docstring no longer says 'under <licence> and redistributed' with "
            "License and Source links; read it and adapt zoo/speech/upstream.py before regenerating the catalog"
        )
    return {"summary": " ".join(clean.split("\n\n")[0].split()), "license": f"{licence['license']}, see {link['url']}",
            "source": source["url"]}
