"""The speech task: which problem a run is, batches, augmentation, and errors that name the fix."""

from __future__ import annotations

import pytest
import torch

from zoo import recipes
from zoo.data import SeededDataset
from zoo.errors import ConfigError
from zoo.speech.task import Collate, SpeechTask, TimeShift
from zoo.task import load_task

SMALL = ["data.args.num_train=48", "data.args.num_val=24"]


def _task(*overrides: str, model: str | None = None, dataset: str | None = None) -> SpeechTask:
    return load_task(recipes.resolve("speech", model=model, dataset=dataset, overrides=[*SMALL, *overrides]))


def test_the_model_decides_the_problem() -> None:
    keywords, ctc = _task(), _task(model="crnn_ctc")
    assert (keywords.problem, keywords.monitor, keywords.monitor_mode) == ("keywords", "accuracy", "max")
    assert (ctc.problem, ctc.monitor, ctc.monitor_mode) == ("transcription", "cer", "min")
    assert recipes.resolve("speech", model="conformer_ctc").data.dataset == "utterances"


def test_a_keyword_model_on_transcripts_names_the_speech_to_text_models() -> None:
    with pytest.raises(ConfigError, match=r"choose a model for it \(crnn_ctc, conformer_ctc, wav2vec2_ctc"):
        _task(model="temporal_cnn", dataset="utterances")


def test_task_args_are_checked() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'task_args.noise_prob'"):
        _task("task_args.noise_probability=0.5")


def test_keyword_batches_and_model_sizes_come_from_the_data() -> None:
    task = _task()
    data = task.build_data(["train", "val"])
    assert data.info["classes"][-2:] == ["_unknown_", "_silence_"] and data.info["clip_samples"] == 16_000
    batch = data.collate([data.train[i] for i in range(5)])
    assert batch["waves"].shape == (5, 16_000) and batch["labels"].shape == (5,)
    model = task.build_model(data.info)
    assert model.head[-1].out_features == 12 and model.frontend.config.n_mels == 40
    out = task.train_step(model, batch)
    assert out.size == 5 and torch.isfinite(out.loss)


def test_speech_to_text_on_keyword_clips_spells_the_words() -> None:
    task = _task(model="crnn_ctc", dataset="keywords")
    data = task.build_data(["train"])
    vocab = data.info["vocab"]
    assert vocab[0] == "<blank>" and set("yesnoupdwlftrig") <= set(vocab)
    items = [data.train[i] for i in range(8)]
    batch = data.collate(items)
    assert batch["texts"] == [item[2] for item in items]
    silent = [i for i, item in enumerate(items) if item[2] == ""]
    assert all(int(batch["target_lengths"][i]) == 0 for i in silent)
    out = task.train_step(task.build_model(data.info), batch)
    assert torch.isfinite(out.loss) and out.size == 8


def test_collate_pads_utterances_and_encodes_transcripts() -> None:
    collate = Collate(["<blank>", " ", "g", "o", "p", "s", "t"])
    batch = collate([(torch.ones(5), -1, "Go"), (torch.ones(3), -1, "stop go")])
    assert batch["waves"].tolist()[1] == [1, 1, 1, 0, 0] and batch["lengths"].tolist() == [5, 3]
    assert batch["target_lengths"].tolist() == [2, 7] and batch["texts"] == ["go", "stop go"]
    assert batch["targets"][0, :2].tolist() == [2, 3]


def test_background_noise_is_mixed_at_the_asked_snr() -> None:
    task = _task("task_args.noise_prob=1.0", "task_args.noise_snr_db=[10,10]")
    task.build_data(["train"])
    waves = torch.randn(4, 16_000) * 0.1
    lengths = torch.tensor([16_000, 16_000, 8_000, 16_000])
    torch.manual_seed(0)
    noisy = task._add_noise(waves, lengths)
    noise = noisy - waves
    valid = torch.arange(16_000)[None, :] < lengths[:, None]
    snr = 10 * torch.log10((waves * valid).square().sum(1) / noise.square().sum(1))
    assert torch.allclose(snr, torch.full((4,), 10.0), atol=1e-3)
    assert torch.all(noise[2, 8_000:] == 0)  # padding stays silent
    torch.manual_seed(0)
    assert torch.equal(task._add_noise(waves, lengths), noisy)
    assert torch.equal(_task()._add_noise(waves, lengths), waves)  # no dataset built: nothing to mix


def test_time_shift_is_seeded_per_item() -> None:
    clip = (torch.arange(16_000, dtype=torch.float32) + 1, 3, "yes")
    dataset = SeededDataset([clip] * 2, TimeShift(1_600), seed=0)
    first, again, other = dataset[(0, 0)][0], dataset[(0, 0)][0], dataset[(1, 0)][0]
    assert torch.equal(first, again) and not torch.equal(first, other)
    shift = int((first == 0).sum())
    assert 0 < shift <= 1_600 and dataset[(0, 0)][1:] == (3, "yes")


def test_a_resumed_run_repeats_the_augmentation_exactly(tmp_path) -> None:
    from safetensors.torch import load_file

    import zoo

    overrides = {"data.args.num_train": 64, "data.args.num_val": 16, "data.batch_size": 16,
                 "task_args.noise_prob": 1.0, "scheduler.name": "constant", "trainer.progress": False,
                 "trainer.tensorboard": False, "trainer.checkpoint_every": 2}
    straight = zoo.train(task="speech", output=tmp_path / "straight", overrides={**overrides, "trainer.max_steps": 6})
    zoo.train(task="speech", output=tmp_path / "resumed", overrides={**overrides, "trainer.max_steps": 3})
    resumed = zoo.train(task="speech", output=tmp_path / "resumed", resume=True, overrides={"trainer.max_steps": 6})
    expected = load_file(str(straight.run_dir / "checkpoints" / "last" / "model.safetensors"))
    actual = load_file(str(resumed.run_dir / "checkpoints" / "last" / "model.safetensors"))
    assert expected.keys() == actual.keys() and all(torch.equal(expected[k], actual[k]) for k in expected)


def test_sample_files_hold_the_clips_and_transcripts(tmp_path) -> None:
    import json

    from zoo.speech.audio import load_audio

    keywords = _task("data.args.num_val=240")
    paths = keywords.write_samples(tmp_path / "kws", 12)
    val = keywords.load_split("val")
    references = json.loads((tmp_path / "kws" / "references.json").read_text())
    assert len(set(references.values())) == 12 and {"_silence_", "_unknown_", "yes"} <= set(references.values())
    for path in paths[:3]:
        wave, label, _ = val.dataset[int(path.name.split("_")[0])]
        assert path.suffix == ".wav" and references[path.name] == val.classes[label]
        assert torch.allclose(load_audio(path, val.sample_rate), wave.float(), atol=1 / 16_000)
    ctc = _task(model="crnn_ctc")
    paths = ctc.write_samples(tmp_path / "asr", 2)
    references = json.loads((tmp_path / "asr" / "references.json").read_text())
    for path in paths:
        wave, _, text = ctc.load_split("val").dataset[int(path.name.split("_")[0])]
        assert path.suffix == ".flac" and references[path.name] == text and text
        assert torch.allclose(load_audio(path, 16_000), wave.float(), atol=1 / 16_000)
