"""Every recommender: declared size, consistent scoring of pairs and of the whole catalogue, item vectors."""

import pytest
import torch

from zoo import recipes, registry
from zoo.errors import ConfigError
from zoo.recommendation import models
from zoo.task import load_task

MODELS = registry.list_models("recommendation")


def _built(name, **data_args):
    config = recipes.resolve("recommendation", model=name)
    config.data.args.update(data_args)
    task = load_task(config)
    data = task.build_data(["train"])
    torch.manual_seed(0)
    return task.build_model(data.info).eval(), data


@pytest.mark.parametrize("entry", MODELS, ids=[m.name for m in MODELS])
def test_declared_parameter_count_matches_the_default_recipe(entry):
    model, _ = _built(entry.name)
    assert models.count_parameters(model) == entry.params


@pytest.mark.parametrize("entry", MODELS, ids=[m.name for m in MODELS])
def test_scoring_all_items_agrees_with_scoring_pairs(entry):
    model, data = _built(entry.name, num_users=60, num_items=40, mean_activity=8)
    users = torch.tensor([0, 7, 59])
    with torch.no_grad():
        everything = model.score_all(users)
        items = torch.arange(40).expand(3, -1)
        pairs = model(users, items)
        flat = model(users.repeat_interleave(40), items.reshape(-1)).view(3, 40)
    assert everything.shape == (3, 40)
    torch.testing.assert_close(everything, pairs, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pairs, flat, rtol=1e-5, atol=1e-5)
    assert model.tables.seen_items.numel() == data.info["num_train"]  # the checkpoint keeps what users saw


@pytest.mark.parametrize("name", ["mf", "neumf", "two_tower", "dlrm"])
def test_item_vectors_for_similar_items(name):
    model, data = _built(name, num_users=60, num_items=40, mean_activity=8)
    with torch.no_grad():
        assert model.item_vectors().shape[0] == 40


def test_popularity_ranks_by_training_counts():
    model, data = _built("popularity", num_users=60, num_items=40, mean_activity=8)
    counts = model.tables.item_count
    with torch.no_grad():
        scores = model.score_all(torch.tensor([0]))[0]
    more_popular = counts[:, None] > counts[None, :]
    assert more_popular.any() and (scores[:, None] > scores[None, :])[more_popular].all()
    with pytest.raises(ConfigError, match="no item vectors"):
        model.item_vectors()


def test_builders_stand_alone_and_tables_check_shapes():
    model = models.mf(num_users=5, num_items=4, dim=3)
    assert model(torch.tensor([0, 4]), torch.tensor([1, 3])).shape == (2,)
    with pytest.raises(ValueError, match="item_count"):
        model.tables.fill({"item_count": torch.zeros(7)})
    with pytest.raises(ConfigError, match="dense features"):
        models.dlrm(num_users=5, num_items=4)
    spec = {"interactions": 3, "user_dense": 1, "item_dense": 1, "user_sparse": [4], "item_bag": [6, 2]}
    dlrm = models.dlrm(num_users=5, num_items=4, tables=spec)
    assert dlrm(torch.tensor([0, 1]), torch.tensor([[1, 2], [3, 0]])).shape == (2, 2)


def test_penalty_counts_only_the_rows_a_batch_uses():
    model = models.mf(num_users=3, num_items=3, dim=2)
    with torch.no_grad():
        for table in (model.user, model.item, model.user_bias, model.item_bias):
            table.weight.zero_()
        model.user.weight[1] = torch.tensor([3.0, 4.0])
        model.item.weight[2] = torch.tensor([1.0, 0.0])
    assert float(model.penalty(torch.tensor([1, 0]), torch.tensor([2, 2])).detach()) == pytest.approx((25 + 1 + 1) / 2)
