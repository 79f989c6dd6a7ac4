"""The faces problem end to end: training steps, predict --compare / --gallery / --embeddings-out, samples."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from zoo import recipes
from zoo.cli import main
from zoo.errors import ConfigError
from zoo.task import load_task, run_predict
from zoo.vision.faces_models import FaceModel
from zoo.vision.face_losses import identity_head

TINY_FACES = [
    "data.args.num_identities=8",
    "data.args.images_per_identity=4",
    "data.args.num_val_identities=20",
    "data.args.val_images_per_identity=3",
    "data.args.pairs_per_fold=2",
    "data.batch_size=16",
    "data.eval_batch_size=32",
    "trainer.max_steps=2",
    "trainer.progress=false",
    "trainer.tensorboard=false",
    "trainer.threads=1",
]


class MeanColour(nn.Module):
    """A known embedding: the mean of each channel of the normalised image, so colours decide identity."""

    def forward(self, images):
        return images.mean(dim=(2, 3))


def colour_task_and_model():
    task = load_task(recipes.resolve("vision", problem="faces", overrides=TINY_FACES))
    model = FaceModel(MeanColour(), identity_head("softmax", 2, 3)).eval()
    info = {"image_size": 8, "mean": [0.5] * 3, "std": [0.5] * 3, "align": "none", "crop_fraction": 1.0,
            "threshold": 0.9, "num_identities": 2}
    return task, model, info


def write(path, colour):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (20, 20), colour).save(path)
    return str(path)


def test_compare_says_same_or_different_with_similarity_and_threshold(tmp_path):
    task, model, info = colour_task_and_model()
    red, red2, blue = (write(tmp_path / f"{n}.png", c) for n, c in
                       (("red", (250, 10, 10)), ("red2", (230, 30, 20)), ("blue", (10, 10, 250))))
    results = run_predict(task, model, [red, red2, blue], info, torch.device("cpu"), {"compare": True})
    assert [r["same"] for r in results] == [True, False] and results[0]["threshold"] == 0.9
    assert results[0]["similarity"] > 0.9 > results[1]["similarity"]
    assert "same person (similarity" in task.format_prediction(results[0])
    assert "different people" in task.format_prediction(results[1])
    stricter = run_predict(task, model, [red, red2], info, torch.device("cpu"), {"compare": True, "threshold": 1.0})
    assert stricter[0]["same"] is False
    with pytest.raises(ConfigError, match="needs two images"):
        run_predict(task, model, [red], info, torch.device("cpu"), {"compare": True})


def test_gallery_names_the_closest_people_and_unknowns(tmp_path):
    task, model, info = colour_task_and_model()
    write(tmp_path / "gallery" / "alice" / "a.png", (250, 10, 10))
    write(tmp_path / "gallery" / "alice" / "b.png", (240, 20, 10))
    write(tmp_path / "gallery" / "bob.png", (10, 10, 250))
    probes = [write(tmp_path / "p1.png", (235, 25, 25)), write(tmp_path / "p2.png", (10, 250, 10))]
    results = run_predict(task, model, probes, info, torch.device("cpu"),
                          {"gallery": str(tmp_path / "gallery"), "top_k": 2})
    assert results[0]["match"] == "alice" and [t["identity"] for t in results[0]["top"]] == ["alice", "bob"]
    assert results[1]["match"] is None  # green resembles nobody above the threshold
    assert "unknown" in task.format_prediction(results[1])


def test_embeddings_of_a_folder_are_written_as_npy_and_safetensors(tmp_path):
    from safetensors.torch import load_file
    from safetensors import safe_open

    task, model, info = colour_task_and_model()
    write(tmp_path / "faces" / "x" / "1.png", (200, 0, 0))
    write(tmp_path / "faces" / "2.png", (0, 0, 200))
    out = tmp_path / "e.npy"
    rows = run_predict(task, model, [str(tmp_path / "faces")], info, torch.device("cpu"), {"embeddings_out": str(out)})
    array = np.load(out)
    assert array.shape == (2, 3) and np.allclose(np.linalg.norm(array, axis=1), 1, atol=1e-5)
    listed = out.with_name("e.npy.txt").read_text().splitlines()
    assert listed == [r["input"] for r in rows] and listed[0].endswith("2.png")
    st = tmp_path / "e.safetensors"
    run_predict(task, model, [str(tmp_path / "faces")], info, torch.device("cpu"), {"embeddings_out": str(st)})
    assert np.allclose(load_file(str(st))["embeddings"].numpy(), array)
    with safe_open(str(st), "pt") as f:
        assert json.loads(f.metadata()["paths"]) == listed
    with pytest.raises(ConfigError, match=".npy or .safetensors"):
        run_predict(task, model, [str(tmp_path / "faces")], info, torch.device("cpu"), {"embeddings_out": "e.csv"})


def test_train_steps_give_finite_losses_for_every_loss():
    for loss in ("arcface", "cosface", "softmax"):
        task = load_task(recipes.resolve("vision", problem="faces",
                                         overrides=[*TINY_FACES, f"model.args.loss={loss}", "model.args.margin=null"]))
        data = task.build_data(["train", "val"])
        model = task.build_model(data.info)
        images, labels, _ = data.train_batch_transform(data.train.tensors, _NoRandom(len(data.train)))
        out = task.train_step(model, (images, labels, None))
        assert torch.isfinite(out.loss) and out.size == len(labels)
        out.loss.backward()


class _NoRandom:
    def __init__(self, n):
        self.n = n

    def uniform(self, stream):
        return torch.full((self.n,), 0.7)

    def integers(self, stream, high):
        return torch.zeros(self.n, dtype=torch.long)


def test_train_then_compare_gallery_and_samples_through_the_cli(tmp_path, capsys):
    def zoo(*args):
        capsys.readouterr()
        assert main(list(args)) == 0
        return capsys.readouterr().out

    run = tmp_path / "run"
    zoo("train", "--task", "vision", "--problem", "faces", "--output", str(run), *TINY_FACES)
    meta = json.loads(next((run / "checkpoints").glob("step-*/meta.json")).read_text())
    threshold = meta["info"]["threshold"]
    assert meta["metrics"]["val/threshold"] == pytest.approx(threshold)
    samples_dir = tmp_path / "samples"
    zoo("samples", "--task", "vision", "--problem", "faces", "--output", str(samples_dir), *TINY_FACES[:5])
    references = json.loads((samples_dir / "references.json").read_text())
    pictures = sorted(samples_dir.glob("*.png"))
    assert len(pictures) == 8 and all(references[p.name] for p in pictures)
    assert references[pictures[0].name] == references[pictures[1].name]  # two images of each person
    compared = zoo("predict", "--checkpoint", str(run), str(pictures[0]), str(pictures[1]), "--compare")
    assert f"threshold {threshold:.3f}" in compared and ("same person" in compared or "different" in compared)
    found = zoo("predict", "--checkpoint", str(run), "--gallery", str(samples_dir / "gallery"), str(pictures[0]),
                "--json")
    top = json.loads(found.splitlines()[0])["top"]
    assert len(top) == 3 and {t["identity"] for t in top} <= set(references.values())
    from zoo.export import export

    done = export(run, "torchscript", tmp_path / "faces.pt")  # images -> embeddings, the loss head left out
    assert done.max_abs_diff < 1e-4 and "embeddings" in done.signature


def test_train_on_identity_folders_then_evaluate_on_lfw(tmp_path):
    import zoo
    from tests.vision.test_faces_data import write_lfw

    for p in range(24):
        (tmp_path / "people" / f"p{p:02d}").mkdir(parents=True)
        for n in range(3):
            Image.new("RGB", (40, 40), (p * 10, n * 80, 200 - p * 8)).save(tmp_path / "people" / f"p{p:02d}" / f"{n}.png")
    result = zoo.train(task="vision", problem="faces", dataset="face_folder", output=tmp_path / "run", overrides=[
        f"data.args.root={tmp_path / 'people'}", "data.args.val_fraction=0.9", "data.args.pairs_per_fold=1",
        "data.batch_size=4", "trainer.max_steps=1", "trainer.progress=false", "trainer.tensorboard=false",
        "trainer.threads=1"])
    assert 0 <= result.best["val/verification_accuracy"] <= 1
    write_lfw(tmp_path / "lfw_root")
    scores = zoo.evaluate(result.run_dir, dataset="lfw", overrides=[f"data.args.root={tmp_path / 'lfw_root'}"])
    assert set(scores) >= {"val/verification_accuracy", "val/roc_auc", "val/tar_at_far_1e-3", "val/threshold"}
