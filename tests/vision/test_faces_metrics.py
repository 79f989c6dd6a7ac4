"""Verification metrics and identity losses against values worked out by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from zoo.errors import ConfigError
from zoo.vision import verification as v
from zoo.vision.face_losses import identity_head


def test_best_threshold_tries_every_gap_and_never_splits_equal_similarities():
    similarity = torch.tensor([0.9, 0.5, 0.5, 0.1])
    same = torch.tensor([1, 1, 0, 0])
    # Accepting the top 1 (cut at 0.7) gets 3 of 4 right; cutting inside the two 0.5s is impossible; accepting the
    # top 3 (cut at 0.3) also gets 3 of 4: the higher threshold wins.
    assert v.best_threshold(similarity, same) == (pytest.approx(0.7), 0.75)
    assert v.best_threshold(torch.tensor([0.2, 0.1]), torch.tensor([0, 0])) == (pytest.approx(1.2), 1.0)


def test_ten_fold_protocol_chooses_each_threshold_on_the_other_nine_folds():
    # Folds 1-9: a matched pair at 0.9 and a mismatched one at 0.1. Fold 0's mismatched pair sits at 0.6.
    similarity, same, folds = [], [], []
    for fold in range(10):
        similarity += [0.9, 0.6 if fold == 0 else 0.1]
        same += [1, 0]
        folds += [fold, fold]
    accuracy, spread, thresholds = v.ten_fold_accuracy(torch.tensor(similarity), torch.tensor(same),
                                                       torch.tensor(folds))
    # Held out, fold 0 is scored at the threshold of folds 1-9, 0.5 (between 0.1 and 0.9): its 0.6 pair is wrongly
    # accepted, so fold 0 scores 1/2. Every other fold is scored at 0.75 (between 0.6 and 0.9) and scores 1.
    assert thresholds == [pytest.approx(0.5)] + [pytest.approx(0.75)] * 9
    assert accuracy == pytest.approx(0.95)
    assert spread == pytest.approx(math.sqrt((0.45**2 + 9 * 0.05**2) / 10))


def test_roc_auc_and_tar_at_far_by_hand():
    similarity = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.35, 0.5, 0.6])
    same = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    # FAR <= 1/4 lets the 0.4 mismatched pair through, so everything from 0.35 up is accepted: all 3 matched pairs.
    tar, threshold = v.tar_at_far(similarity, same, far_target=0.25)
    assert tar == pytest.approx(1.0) and threshold == pytest.approx(0.35)
    # FAR 0 must reject 0.4: accepting from 0.5 up takes 2 of the 3 matched pairs.
    tar, threshold = v.tar_at_far(similarity, same, far_target=0.0)
    assert tar == pytest.approx(2 / 3) and threshold == pytest.approx(0.5)
    pairs = torch.tensor([[i, i, int(s), i % 2] for i, s in enumerate(same.tolist())])
    embeddings = torch.stack([torch.tensor([s, math.sqrt(1 - s * s)]) for s in similarity.tolist()])
    pairs[:, 1] = len(similarity)  # every pair compares an item with the unit vector (1, 0): cosine = similarity
    scores = v.verification_scores(torch.cat([embeddings, torch.tensor([[1.0, 0.0]])]), torch.arange(8), pairs)
    assert scores["roc_auc"] == pytest.approx(11 / 12)  # 0.35 beats 3 of 4 mismatched pairs, 0.5 and 0.6 all


def test_identification_uses_the_first_image_of_each_identity_as_gallery():
    embeddings = F.normalize(torch.tensor([[1.0, 0], [0, 1.0], [0.9, 0.1], [0.8, 0.6], [0.2, 1.0]]), dim=1)
    labels = torch.tensor([0, 1, 0, 1, 1])
    # Probes 2 and 4 land next to their own gallery image; probe 3 (identity 1) is closer to identity 0's.
    assert v.identification_top1(embeddings, labels) == pytest.approx(2 / 3)
    assert v.identification_top1(embeddings[:2], labels[:2]) is None


def test_metric_result_does_not_depend_on_batching_and_records_the_threshold():
    torch.manual_seed(0)
    labels = torch.arange(40) // 2
    centres = F.normalize(torch.randn(20, 16), dim=1)
    embeddings = F.normalize(centres[labels] + 0.3 * torch.randn(40, 16), dim=1)
    from zoo.vision.faces_data import make_pairs

    pairs = make_pairs(labels, per_fold=1)
    record = {}
    whole = v.FaceVerification(pairs, record)
    whole.update(embeddings, labels, torch.arange(40))
    order = torch.randperm(40)
    shuffled = v.FaceVerification(pairs)
    for chunk in order.split(7):
        shuffled.update(embeddings[chunk], labels[chunk], chunk)
    a, b = whole.compute(), shuffled.compute()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert record["threshold"] == pytest.approx(float(a["threshold"]))
    assert 0.5 < float(a["verification_accuracy"]) <= 1 and 0 <= float(a["tar_at_far_1e-3"]) <= 1


def test_arcface_logits_match_the_formula():
    head = identity_head("arcface", num_identities=3, embedding_size=2, margin=0.5, scale=10.0)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]))  # identities along x, y and -x
    theta = 0.3
    x = torch.tensor([[2 * math.cos(theta), 2 * math.sin(theta)]])  # at angle 0.3 from identity 0, norm 2
    logits = head.logits(x, torch.tensor([0]))
    # s*cos(theta + m) for the true identity, s*cos(theta_j) for the others.
    expected = 10 * torch.tensor([[math.cos(theta + 0.5), math.cos(math.pi / 2 - theta), -math.cos(theta)]])
    assert torch.allclose(logits.double(), expected.double(), atol=1e-5)
    loss = head(x, torch.tensor([0]))
    assert float(loss.detach()) == pytest.approx(float(F.cross_entropy(expected, torch.tensor([0]))), rel=1e-5)


def test_cosface_subtracts_its_margin_from_the_true_cosine():
    head = identity_head("cosface", num_identities=2, embedding_size=2, scale=4.0)
    with torch.no_grad():
        head.weight.copy_(torch.eye(2))
    x = torch.tensor([[0.6, 0.8]])
    assert torch.allclose(head.logits(x, torch.tensor([1])), torch.tensor([[4 * 0.6, 4 * (0.8 - 0.35)]]))


def test_face_losses_reject_bad_settings():
    with pytest.raises(ConfigError, match="choose one of arcface, cosface, softmax"):
        identity_head("sphereface", 4, 8)
    with pytest.raises(ConfigError, match="out of range for arcface"):
        identity_head("arcface", 4, 8, margin=2.0)
    with pytest.raises(ConfigError, match="no meaning for loss 'softmax'"):
        identity_head("softmax", 4, 8, margin=0.3)


def test_a_partial_pass_scores_the_pairs_it_saw_and_leaves_undefined_metrics_nan():
    labels = torch.arange(40) // 2
    embeddings = F.normalize(torch.eye(40)[labels // 1] + 0.1, dim=1)
    from zoo.vision.faces_data import make_pairs

    pairs = make_pairs(labels, per_fold=1)
    record = {}
    metric = v.FaceVerification(pairs, record)
    metric.update(embeddings[:4], labels[:4], torch.arange(4))  # four images of two people
    scores = metric.compute()
    assert set(scores) == {"verification_accuracy", "verification_accuracy_std", "threshold", "roc_auc",
                           "tar_at_far_1e-3", "identification_top1"}
    assert math.isnan(float(scores["verification_accuracy"])) and "threshold" not in record
