"""The example notebook runs end to end on the embedded data, so it cannot rot."""

import ast

import pytest

from tests.conftest import REPO

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "examples").glob("*.ipynb")))
def test_notebook_runs_end_to_end(name, tmp_path):
    notebook = nbformat.read(REPO / "examples" / name, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 5  # the curves, the confusion matrix and the sample predictions are shown
    text = "\n".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "TrainResult(vision/small_cnn on shapes" in text and "'val/top1'" in text
    best = next(o for cell in notebook.cells if "result.best" == cell.source.strip() for o in cell.outputs)
    assert ast.literal_eval(best["data"]["text/plain"])["val/top1"] > 0.3  # it learned: ten classes, chance is 0.1
