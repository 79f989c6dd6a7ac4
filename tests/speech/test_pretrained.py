"""torchaudio's ASR pipelines in the catalog: entries from their own metadata, and a file in their layout loaded into
``wav2vec2_ctc`` through a local mirror, checked as weights since torchaudio publishes no hash."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F
import torchaudio

import zoo
from zoo import registry
from zoo.errors import CatalogError, HashMismatchError, HeadReinitializedWarning
from zoo.hub import cache, catalog
from zoo.upstream import on_meta, shapes
from zoo.speech import upstream

BUNDLE = "HUBERT_ASR_LARGE"  # normalises its waveform; layer-norm extractor, pre-norm transformer
SMALL = {"extractor_conv_layer_config": [(32, 10, 5), (32, 3, 2), (32, 2, 2)], "encoder_embed_dim": 32,
         "encoder_pos_conv_kernel": 16, "encoder_pos_conv_groups": 4, "encoder_num_layers": 2, "encoder_num_heads": 2,
         "encoder_ff_interm_features": 64}


pytestmark = pytest.mark.usefixtures("zoo_home")


def test_every_asr_pipeline_has_an_entry_read_from_its_metadata():
    bundles = upstream.asr_bundles()
    entries = {e.tag: e for e in catalog.list_checkpoints("speech", "wav2vec2_ctc")}
    assert set(entries) == {name.lower() for name in bundles}
    version = torchaudio.__version__.split("+")[0]
    for name, bundle in bundles.items():
        entry = entries[name.lower()]
        assert entry.sources == (upstream.url(bundle),) and entry.file_name == upstream.url(bundle).rsplit("/")[-1]
        assert entry.verify == "weights" and not entry.sha256 and not entry.sha256_prefix and not entry.size
        assert entry.builder_args == json.loads(json.dumps(upstream.builder_args(bundle)))
        assert entry.labels == tuple(upstream.file_labels(bundle)) and entry.head == ("aux.",)
        assert entry.preprocessing == {"sample_rate": 16_000, "channels": 1,
                                       "normalize_waveform": bundle._normalize_waveform}
        assert entry.license.startswith("CC BY-NC 4.0, see https://" if "VOXPOPULI" in name else "MIT License, see ")
        assert entry.recipe.startswith("https://github.com/") and entry.metrics == ()
        assert entry.library == f"torchaudio {version} (torchaudio.pipelines.{name})"
        assert "fine-tuned for ASR" in entry.description and "publishes no hash" in entry.description
        assert entry.params > 90_000_000 and entry.hash_check.startswith("no published hash")
    assert catalog.resolve_pretrained("speech", "wav2vec2_ctc", True).tag == "wav2vec2_asr_base_960h"


def test_a_pipeline_whose_docstring_names_no_licence_stops_the_generator():
    bundle = dataclasses.replace(upstream.asr_bundles()[BUNDLE])
    bundle.__doc__ = "HuBERT model, fine-tuned for ASR."
    with pytest.raises(CatalogError, match="no longer says 'under <licence> and redistributed'"):
        upstream.asr_entry(BUNDLE, bundle)


def test_the_catalog_builder_arguments_build_torchaudios_architecture():
    bundles = upstream.asr_bundles()
    model = registry.get_model_entry("speech", "wav2vec2_ctc")
    seen = set()
    for entry in catalog.list_checkpoints("speech", "wav2vec2_ctc"):
        key = json.dumps(entry.builder_args, sort_keys=True)
        if key not in seen:  # pipelines sharing an architecture are checked once
            seen.add(key)
            ours = on_meta(lambda: model.build(**entry.builder_args))  # noqa: B023 - called at once
            assert shapes(ours) == shapes(upstream.reference_model(bundles[entry.tag.upper()])), entry.name


@pytest.fixture
def mirrored(tmp_path, monkeypatch):
    """The pipeline's entry, generated from its metadata at a small width, and torchaudio's model of that width
    (random weights) saved as the upstream file in a mirror laid out like the cache."""
    from torchaudio.models import wav2vec2_model

    bundle = upstream.asr_bundles()[BUNDLE]
    small = dataclasses.replace(bundle, _params={**bundle._params, **SMALL})
    small.__doc__ = bundle.__doc__
    entry = catalog.entry_from_json(upstream.asr_entry(BUNDLE, small))
    entry = dataclasses.replace(entry, sources=(str(tmp_path / "absent"),))  # never the real 1.2 GB file
    torch.manual_seed(0)
    reference = wav2vec2_model(**{**small._params, "aux_num_out": len(upstream.file_labels(bundle))}).eval()
    file = tmp_path / "mirror" / entry.relpath
    file.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), file)
    catalog.write_catalog(tmp_path / "catalog.json", [entry])
    monkeypatch.setenv("ZOO_CATALOG", str(tmp_path / "catalog.json"))  # replaces the full-size entry
    monkeypatch.setenv("ZOO_MIRROR", str(tmp_path / "mirror"))
    return entry, reference, file


def test_a_pipeline_file_loads_through_the_catalog_with_its_labels(mirrored):
    entry, reference, file = mirrored
    model = zoo.build_model("speech", "wav2vec2_ctc", pretrained=BUNDLE.lower()).eval()
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    wave = torch.randn(1, 8_000)
    ours, _ = model(wave)
    theirs, _ = reference(F.layer_norm(wave, wave.shape))  # torchaudio's pipeline normalises outside the model
    assert torch.allclose(ours, theirs, atol=1e-5)
    labels = catalog.get_checkpoint(entry.name).labels
    assert labels == tuple(upstream.file_labels(upstream.asr_bundles()[BUNDLE])) and len(labels) == ours.shape[-1]
    assert labels[:5] == ("-", "<pad>", "</s>", "<unk>", "|")
    record = cache.read_record(cache.path_for(entry))
    assert record["pinned"] and record["source"] == str(file) and record["sha256"] == cache.sha256_file(file)
    with pytest.warns(HeadReinitializedWarning, match=r"aux\.weight.*outputs in the checkpoint and 12"):
        tuned = zoo.build_model("speech", "wav2vec2_ctc", pretrained=BUNDLE.lower(), vocab_size=12)
    assert torch.equal(tuned.encoder.transformer.layers[1].attention.k_proj.weight,
                       reference.encoder.transformer.layers[1].attention.k_proj.weight)


def test_a_truncated_pipeline_file_is_refused_and_not_cached(mirrored):
    entry, _, file = mirrored
    file.write_bytes(file.read_bytes()[:-1000])
    with pytest.raises(HashMismatchError, match="does not load as pth weights"):
        zoo.build_model("speech", "wav2vec2_ctc", pretrained=BUNDLE.lower())
    assert not cache.path_for(entry).exists() and not cache.is_cached(entry)
