import pytest
import torch
from torch import nn

from zoo.config import OptimConfig
from zoo.errors import ConfigError
from zoo.optim import build_optimizer, fusable, with_own_kernel


def _train(model: nn.Module, config: OptimConfig, steps: int = 5) -> nn.Module:
    optimizer = build_optimizer(config, model)
    inputs = torch.randn(32, 6, generator=torch.Generator().manual_seed(1))
    for _ in range(steps):
        loss = model(inputs).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Linear(8, 2))


@pytest.mark.parametrize("name", ["adamw", "sgd"])
def test_the_fused_kernel_is_the_default_and_updates_as_the_plain_one(name):
    fused = build_optimizer(OptimConfig(name=name, weight_decay=0.1), _model())
    plain = build_optimizer(OptimConfig(name=name, weight_decay=0.1, fused=False), _model())
    assert fused.defaults["fused"] is True and not plain.defaults["fused"]
    a = _train(_model(), OptimConfig(name=name, lr=0.01, weight_decay=0.1))
    b = _train(_model(), OptimConfig(name=name, lr=0.01, weight_decay=0.1, fused=False))
    for x, y in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)


def test_parameters_without_a_fused_kernel_use_the_default_one():
    assert not fusable([])
    assert not fusable([nn.Parameter(torch.zeros(2, device="meta"))])
    assert not fusable([nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(2, device="meta"))])
    assert fusable([nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(2, dtype=torch.bfloat16))])


def test_asking_for_the_fused_kernel_where_it_cannot_run_names_the_fix():
    model = nn.Linear(2, 2, device="meta")
    with pytest.raises(ConfigError, match="optim.fused=null"):
        build_optimizer(OptimConfig(fused=True), model)
    assert not build_optimizer(OptimConfig(), model).defaults["fused"]


@pytest.mark.parametrize(("saved_fused", "now_fused"), [(True, False), (False, None), (None, True)])
def test_a_resumed_optimizer_keeps_the_kernel_it_was_built_with(saved_fused, now_fused):
    saved = _train(_model(), OptimConfig(fused=saved_fused))
    before = build_optimizer(OptimConfig(fused=saved_fused), saved)
    saved(torch.randn(4, 6)).sum().backward()
    before.step()
    optimizer = build_optimizer(OptimConfig(fused=now_fused), saved)
    optimizer.load_state_dict(with_own_kernel(optimizer, before.state_dict()))
    expected = optimizer.defaults["fused"]
    assert all(group["fused"] == expected for group in optimizer.param_groups)
    saved(torch.randn(4, 6)).sum().backward()
    optimizer.step()  # the restored state (its step counters) suits the kernel in use
    assert all(optimizer.state[p]["step"].item() == 2 for p in saved.parameters())


def test_sparse_embeddings_keep_the_default_kernel():
    model = nn.EmbeddingBag(10, 4, mode="sum", sparse=True)
    optimizer = build_optimizer(OptimConfig(name="sgd", lr=0.1, momentum=0.0), model)
    assert not optimizer.defaults["fused"]
    model(torch.tensor([[1, 2]])).sum().backward()
    optimizer.step()
    with pytest.raises(ConfigError, match="sparse embeddings"):
        build_optimizer(OptimConfig(name="sgd", fused=True), model)
