"""Generated from the registry: every model, as its recipe builds it on its problem's default dataset, trains a step
(forward and backward), evaluates a batch, predicts on the input its task reads, exports where its problem exports,
and has the parameter count ``zoo list`` shows."""

from pathlib import Path

import pytest
import torch

from zoo import api, registry
from zoo.data import SeededDataset
from zoo.errors import ExportError
from zoo.task import run_predict

MODELS = [
    pytest.param(
        (m.task, m.name), id=f"{m.task}/{m.name}",
        marks=[pytest.mark.skip(reason="its recipe starts from downloaded weights; its task's tests use a local copy")]
        if m.downloads_weights else [],
    )
    for m in registry.list_models()
]


@pytest.fixture(scope="module", params=MODELS)
def case(request):
    """(task name, model name, task, data, model, batch), built once per model: pytest runs every check of one model
    before building the next."""
    task, name = request.param
    task_impl, data, model = api.build_for_recipe(task, name, splits=("train", "val"))
    dataset = SeededDataset(data.train, data.train_transform)
    collate = data.collate or torch.utils.data.default_collate
    return task, name, task_impl, data, model, collate([dataset[i] for i in range(4)])


def test_forward_backward_and_the_listed_parameter_count(case):
    task, name, task_impl, data, model, batch = case
    assert sum(p.numel() for p in model.parameters()) == registry.get_model_entry(task, name).params, \
        "run python scripts/count_params.py"
    model.train()
    out = task_impl.train_step(model, batch)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss) and out.size == 4
    out.loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    model.zero_grad(set_to_none=True)


def test_an_evaluation_step_fills_the_problem_metrics(case):
    task, name, task_impl, data, model, _ = case
    val = SeededDataset(data.val, data.eval_transform)
    collate = data.collate or torch.utils.data.default_collate
    metrics = task_impl.build_metrics(data.info)
    model.eval()
    with torch.no_grad():
        out = task_impl.eval_step(model, collate([val[i] for i in range(min(4, len(val)))]), metrics)
    assert torch.isfinite(torch.as_tensor(out.loss)) and out.size > 0
    computed = metrics.compute()
    problem = registry.get_problem_entry(task, registry.get_model_entry(task, name).problem)
    declared = {m for m in problem.metrics if "<" not in m and m != "loss"}
    assert declared <= set(computed) | {k.removeprefix("val/") for k in computed}, (declared, sorted(computed))


def test_predict_on_the_input_its_task_reads(case, tmp_path: Path, monkeypatch):
    task, name, task_impl, data, model, _ = case
    monkeypatch.chdir(tmp_path)  # predictions that write files write them here
    inputs = task_impl.predict_inputs(tmp_path / "inputs", data.info)
    model.eval()
    predictions = run_predict(task_impl, model, inputs, data.info, torch.device("cpu"))
    assert len(predictions) >= 1 and all(isinstance(p, dict) for p in predictions)
    assert all(task_impl.format_prediction(p) for p in predictions)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit is deprecated, still deployed
def test_export_round_trip_where_the_problem_exports(case, tmp_path: Path):
    from zoo.export import export_spec, write_and_check

    task, name, _, data, model, _ = case
    model.eval()
    try:
        spec = export_spec(task, model, name, data.info)
    except ExportError as error:
        assert "\n" not in str(error) and len(str(error)) > 20  # refused in one line that says what to do instead
        return
    supported = [fmt for fmt in ("torchscript", "onnx") if fmt not in spec.unsupported]
    if not supported:  # a model with Python between its stages: each format refused in one line
        assert all("\n" not in reason and len(reason) > 20 for reason in spec.unsupported.values())
        return
    fmt = supported[0]
    done = write_and_check(spec, fmt, tmp_path / "model.export")
    assert done.max_abs_diff is not None and done.max_abs_diff < 1e-3
