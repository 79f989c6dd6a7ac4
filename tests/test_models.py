"""Generated from the registry: every model builds, runs forward and backward through its task on CPU."""

import pytest
import torch

from zoo import recipes, registry
from zoo.data import SeededDataset
from zoo.task import load_task

MODELS = [
    pytest.param(
        m.task, m.name, id=f"{m.task}/{m.name}",
        marks=[pytest.mark.skip(reason="downloads its weights; its task's tests use a local checkpoint")]
        if m.downloads_weights else [],
    )
    for m in registry.list_models()
]


@pytest.mark.parametrize(("task", "name"), MODELS)
def test_forward_backward_on_the_embedded_dataset(task, name):
    entry = registry.get_task(task)
    config = recipes.resolve(task, model=name, dataset=entry.default_dataset)
    task_impl = load_task(config)
    data = task_impl.build_data(["train"])
    torch.manual_seed(0)
    model = task_impl.build_model(data.info)
    dataset = SeededDataset(data.train, data.train_transform)
    collate = data.collate or torch.utils.data.default_collate
    batch = collate([dataset[i] for i in range(4)])
    out = task_impl.train_step(model, batch)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss) and out.size == 4
    out.loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
