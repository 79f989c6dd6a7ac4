"""The video problem end to end on a few embedded clips: train, evaluate (clips averaged), predict, samples, export."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import zoo.api
from zoo import recipes
from zoo.hub.catalog import list_checkpoints
from zoo.task import load_task
from zoo.vision.video_sampling import ClipSpec, EvalClips, Frames
from zoo.vision.video_task import video_probabilities

TINY = ["data.args.num_train=24", "data.args.num_val=8", "model.args.width=4", "data.batch_size=8",
        "data.eval_batch_size=8", "trainer.max_steps=2", "trainer.progress=false", "trainer.tensorboard=false",
        "trainer.log_every=1", "task_args.frames=4", "task_args.eval_clips=2"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "run"
    zoo.api.train("vision", problem="video", output=path, overrides=TINY)
    return path


class FirstFrameMean(nn.Module):
    """Logits that depend on where a clip starts: class 0's logit is the mean of its first frame."""

    def forward(self, clips):
        first = clips[:, :, 0].mean(dim=(1, 2, 3))
        return torch.stack([first, torch.zeros_like(first)], dim=1)


def test_evaluation_averages_the_softmax_of_uniform_clips():
    frames = torch.arange(16, dtype=torch.uint8).mul(16).view(16, 1, 1, 1).expand(16, 8, 8, 3).contiguous()
    spec = ClipSpec(frames=4, stride=2, clips=3, size=8, mean=(0, 0, 0), std=(1, 1, 1))
    clips, _ = EvalClips(spec)((Frames(frames, 8.0), 0))
    starts = [0, 4.5, 9]  # span 7 of 16 frames: first, middle and last possible start
    firsts = torch.tensor([round(s) * 16 / 255 for s in starts])
    expected = torch.stack([firsts, torch.zeros(3)], 1).softmax(-1).mean(0)
    got = video_probabilities(FirstFrameMean(), clips[None])
    torch.testing.assert_close(got[0], expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(got[0], FirstFrameMean()(clips[1:2]).softmax(-1)[0])  # not the middle clip alone


def test_train_evaluate_predict_and_samples(run, tmp_path):
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 2 and 0 <= summary["final"]["val/top1"] <= 1
    metrics = zoo.api.evaluate(run)
    assert metrics["val/top1"] == pytest.approx(summary["final"]["val/top1"], abs=1e-6)
    written = zoo.write_samples("vision", tmp_path / "samples", problem="video", count=3,
                                overrides=["data.args.num_val=8"])
    assert [p.suffix for p in written] == [".mp4"] * 3
    references = json.loads((tmp_path / "samples" / "references.json").read_text())
    predictions = zoo.api.predict(run, [str(p) for p in written], per_clip=True, clips=4, top_k=8)
    assert len(predictions) == len(written) == len(references)
    for prediction in predictions:
        assert prediction["clips"] == 4 and len(prediction["per_clip"]) == 4 and len(prediction["top"]) == 8
        for ranked in prediction["top"]:  # the video's probability of a class is the mean of its clips'
            clips = [next(t["prob"] for t in c["top"] if t["label"] == ranked["label"]) for c in prediction["per_clip"]]
            assert ranked["prob"] == pytest.approx(sum(clips) / 4, abs=2e-4)
    text = load_task(zoo.api.load(run).config).format_prediction(predictions[0])
    assert "4 clips averaged" in text and text.count("\n") == 4


def test_report_draws_frame_strips(run, tmp_path):
    pytest.importorskip("matplotlib")
    _, figures = zoo.api.evaluate_with_report(run, report=tmp_path / "report")
    assert {f.name for f in figures} == {"confusion_matrix.png", "samples.png"}


def test_onnx_export_of_the_small_model_matches_pytorch(run, tmp_path):
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")
    from zoo.export import export

    done = export(run, "onnx", tmp_path / "model.onnx")
    assert done.checked_with.startswith("onnxruntime") and done.max_abs_diff < 1e-4
    loaded = zoo.api.load(run, device="cpu")
    clips = torch.randn(3, 3, 4, 32, 32)
    with torch.no_grad():
        expected = loaded.model(clips)
    session = onnxruntime.InferenceSession(str(done.path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: clips.numpy()})
    torch.testing.assert_close(torch.from_numpy(got), expected, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name", ["r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s", "swin3d_t"])
def test_torchvision_video_models_train_a_step_at_the_embedded_clip_size(name):
    config = recipes.resolve("vision", model=name, dataset="motions",
                             overrides=["model.pretrained=", "data.args.num_train=8", "data.args.num_val=8",
                                        "task_args.frames=8", "task_args.size=0", "task_args.resize=0"])
    task = load_task(config)
    data = task.build_data(["train"])
    model = task.build_model(data.info)
    clips = torch.stack([data.train_transform(data.train[i])[0] for i in range(2)])
    out = task.train_step(model, (clips, torch.tensor([0, 1])))
    out.loss.backward()
    assert torch.isfinite(out.loss)


def test_kinetics_catalog_entries_carry_torchvision_metadata():
    entries = {e.model: e for e in list_checkpoints("vision") if e.labels and len(e.labels) == 400}
    assert set(entries) == {"r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v2_s", "swin3d_t"}
    for entry in entries.values():
        pre = entry.preprocessing
        assert pre["frames"] >= 14 and pre["image_size"] in (112, 224) and len(pre["mean"]) == 3
        assert {m.metric for m in entry.metrics} == {"top1", "top5"} and all(0.5 < m.value < 1 for m in entry.metrics)
        assert entry.builder_args["num_classes"] == 400 and entry.head and entry.sha256_prefix in entry.file_name
    assert entries["r2plus1d_18"].preprocessing["frame_rate"] == 15 and entries["mvit_v2_s"].builder_args["frames"] == 16
