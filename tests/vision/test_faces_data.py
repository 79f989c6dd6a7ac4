"""Face datasets: LFW's upstream files written here in their exact format, identity folders, generated people."""

import pytest
import torch
from PIL import Image

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.vision import faces_data, faces_synth
from zoo.vision.face_align import CenterCrop, build_aligner

PEOPLE = ["Ann_Lee", "Bo_Diaz", "Cy_Young", "Di_Ross"]


def write_lfw(root, folds=10, image_set="lfw"):
    """LFW in its upstream layout: ``lfw/<Name>/<Name>_000N.jpg``, a ten-fold ``pairs.txt`` (one matched and one
    mismatched pair per fold) and ``people.txt``. Returns the pairs as written."""
    for k, name in enumerate(PEOPLE):
        (root / image_set / name).mkdir(parents=True)
        for n in (1, 2, 3):
            Image.new("RGB", (250, 250), (40 * k, 20 * n, 100)).save(root / image_set / name / f"{name}_{n:04d}.jpg")
    lines, written = [f"{folds}\t1"], []
    for fold in range(folds):
        a, b = PEOPLE[fold % 4], PEOPLE[(fold + 1) % 4]
        lines.append(f"{a}\t1\t{2 + fold % 2}")
        lines.append(f"{a}\t3\t{b}\t{1 + fold % 3}")
        written += [(a, 1, a, 2 + fold % 2, 1, fold), (a, 3, b, 1 + fold % 3, 0, fold)]
    (root / "pairs.txt").write_text("\n".join(lines) + "\n")
    people = ["2", "2", f"{PEOPLE[0]}\t3", f"{PEOPLE[1]}\t3", "2", f"{PEOPLE[2]}\t3", f"{PEOPLE[3]}\t3"]
    (root / "people.txt").write_text("\n".join(people) + "\n")
    return written


def test_lfw_pairs_file_parses_to_its_folds_and_pairs(tmp_path):
    written = write_lfw(tmp_path)
    assert faces_data.read_lfw_pairs(tmp_path / "pairs.txt") == written
    assert faces_data.read_lfw_people(tmp_path / "people.txt") == [
        [("Ann_Lee", 3), ("Bo_Diaz", 3)], [("Cy_Young", 3), ("Di_Ross", 3)]]


def test_lfw_split_indexes_each_image_once_and_keeps_folds(tmp_path):
    written = write_lfw(tmp_path)
    split = faces_data.lfw("val", root=str(tmp_path), image_size=24)
    pairs = split.pairs
    assert pairs.shape == (20, 4) and pairs[:, 3].tolist() == [f for f in range(10) for _ in (0, 1)]
    assert pairs[:, 2].tolist() == [1, 0] * 10
    paths = split.dataset.paths
    assert len(paths) == len(set(paths))
    for (a, na, b, nb, _, _), (i, j, _, _) in zip(written, pairs.tolist()):
        assert paths[i].endswith(f"lfw/{a}/{a}_{na:04d}.jpg") and paths[j].endswith(f"lfw/{b}/{b}_{nb:04d}.jpg")
        assert split.identities[split.dataset.labels[j]] == b
    image, label, index = split.dataset[pairs[0, 0]]
    assert image.shape == (3, 24, 24) and image.dtype == torch.uint8 and index == int(pairs[0, 0])
    assert split.align == "center_crop" and split.crop_fraction == 0.5


def test_lfw_under_torchvisions_folder_and_funneled_sets(tmp_path):
    write_lfw(tmp_path / "lfw-py", image_set="lfw-deepfunneled")
    split = faces_data.lfw("test", root=str(tmp_path), image_set="lfw-deepfunneled")
    assert len(split.pairs) == 20


def test_lfw_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="pairs.txt"):
        faces_data.lfw("val", root=str(tmp_path))
    with pytest.raises(ConfigError, match="LFW is an evaluation set"):
        faces_data.lfw("train", root=str(tmp_path))
    write_lfw(tmp_path)
    (tmp_path / "lfw" / "Ann_Lee" / "Ann_Lee_0002.jpg").unlink()
    with pytest.raises(DatasetNotFoundError, match="not in .*Ann_Lee_0002.jpg"):
        faces_data.lfw("val", root=str(tmp_path))
    lines = (tmp_path / "pairs.txt").read_text().splitlines()
    (tmp_path / "pairs.txt").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DatasetNotFoundError, match="found 19 pair lines"):
        faces_data.lfw("val", root=str(tmp_path))
    (tmp_path / "pairs.txt").write_text("10\t1\n" + "Ann_Lee\t1\tx\n" * 20)
    with pytest.raises(DatasetNotFoundError, match="line 2: expected a matched"):
        faces_data.lfw("val", root=str(tmp_path))


def test_people_file_must_agree_with_pairs(tmp_path):
    write_lfw(tmp_path)
    (tmp_path / "people.txt").write_text("1\n1\nAnn_Lee\t1\n")
    with pytest.raises(DatasetNotFoundError, match="gives them 1 images"):
        faces_data.lfw("val", root=str(tmp_path))


def test_identity_folders_hold_out_whole_people(tmp_path):
    for p in range(30):
        (tmp_path / f"id{p:02d}").mkdir()
        for n in range(3):
            Image.new("RGB", (40, 40), (p * 8, n * 60, 0)).save(tmp_path / f"id{p:02d}" / f"{n}.png")
    train = faces_data.face_folder("train", root=str(tmp_path), val_fraction=0.7, pairs_per_fold=2)
    val = faces_data.face_folder("val", root=str(tmp_path), val_fraction=0.7, pairs_per_fold=2)
    assert set(train.identities).isdisjoint(val.identities)
    assert len(train.identities) + len(val.identities) == 30 and train.pairs is None
    assert len(train.dataset) == 3 * len(train.identities)
    assert val.pairs[:, 2].sum() > 0 and (val.pairs[:, 2] == 0).sum() > 0
    with pytest.raises(ConfigError, match="data.args.root"):
        faces_data.face_folder("train")


def test_pairs_keep_each_person_in_one_fold():
    labels = torch.arange(60) // 3  # 20 people, 3 images each
    pairs = faces_data.make_pairs(labels, per_fold=3, seed=1)
    fold_of = {}
    for a, b, same, fold in pairs.tolist():
        assert (labels[a] == labels[b]) == bool(same) and a != b
        for person in (int(labels[a]), int(labels[b])):
            assert fold_of.setdefault(person, fold) == fold
    assert len(pairs) == 10 * 2 * 3  # two people per fold: 3 matched pairs each, and as many mismatched
    with pytest.raises(ConfigError, match="too few identities"):
        faces_data.make_pairs(torch.arange(4), per_fold=3)


def test_generated_people_are_deterministic_and_evaluation_people_are_others():
    a = faces_data.synthetic_faces("train", num_identities=4, images_per_identity=3, image_size=32)
    b = faces_data.synthetic_faces("train", num_identities=4, images_per_identity=3, image_size=32)
    assert torch.equal(a.dataset.images, b.dataset.images) and a.dataset.images.shape == (12, 3, 32, 32)
    assert a.dataset.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    generator = torch.Generator()
    train_traits = faces_synth.identities(4, generator.manual_seed(2 * 0 + 0 + 104_729))
    val_traits = faces_synth.identities(4, generator.manual_seed(2 * 0 + 1 + 104_729))
    assert not torch.allclose(train_traits["eye_sep"], val_traits["eye_sep"])
    val = faces_data.synthetic_faces("val", num_val_identities=20, val_images_per_identity=2, pairs_per_fold=1)
    assert val.identities[0].startswith("unseen") and val.pairs.shape == (20, 4)
    # Two images of one person differ (pose, light, expression, noise).
    x = a.dataset.images.float().flatten(1)
    assert not torch.equal(x[0], x[1])


def test_center_crop_aligner_keeps_the_middle():
    image = torch.arange(100, dtype=torch.uint8).view(1, 10, 10)
    crop = CenterCrop(0.4)(image)
    assert crop.shape == (1, 4, 4) and int(crop[0, 0, 0]) == 33
    assert build_aligner("none")(image) is image
    with pytest.raises(ConfigError, match="unknown face aligner"):
        build_aligner("mtcnn")
