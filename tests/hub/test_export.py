"""zoo export for every task: the file it writes, called as a deployment would call it (inputs built here, at another
batch size and length than traced), gives what the checkpoint's PyTorch model gives when its task calls it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import zoo.api
from zoo.errors import ExportError
from zoo.export import export, export_spec
from zoo.nlp.padded_gru import PaddedGRU

QUIET = ["trainer.max_steps=2", "trainer.progress=false", "trainer.tensorboard=false", "trainer.log_every=1",
         "data.batch_size=8", "data.eval_batch_size=8"]


def _images(channels: int, *sides: int) -> Callable[[dict], tuple[Tensor, ...]]:
    return lambda info: (torch.randn(3, channels, *sides),)


def _texts(info: dict) -> tuple[Tensor, Tensor]:
    """Three texts of 9, 5 and 2 tokens padded to 9: a length that was not traced."""
    lengths = torch.tensor([9, 5, 2])
    mask = (torch.arange(9)[None, :] < lengths[:, None]).long()
    ids = torch.randint(5, info["vocab_size"], (3, 9)).masked_fill(mask == 0, info["pad_token_id"])
    return ids, mask


def _waves(samples: int) -> Callable[[dict], tuple[Tensor, Tensor]]:
    def make(info: dict) -> tuple[Tensor, Tensor]:
        lengths = torch.tensor([samples, samples * 2 // 3, samples // 2])
        valid = torch.arange(samples)[None, :] < lengths[:, None]
        return 0.1 * torch.randn(3, samples) * valid, lengths
    return make


def _user_items(info: dict) -> tuple[Tensor, Tensor]:
    return torch.tensor([0, 7, 3]), torch.randint(0, info["num_items"], (3, 5))


def _logits(model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
    return model(input_ids=ids, attention_mask=mask).logits


@dataclass
class Case:
    task: str
    model: str
    overrides: list[str]
    inputs: Callable[[dict[str, Any]], tuple[Tensor, ...]]  # a batch of 3 (traced: 2), another length where dynamic
    call: Callable[..., Any] = lambda model, *inputs: model(*inputs)  # the model as its task calls it
    onnx: bool = True  # False where the ONNX path is another case's (plain CNNs) or refused (the CRNN, tested below)


CASES = {
    "medical-classifier": Case("medical", "resnet18", ["data.args.num_train=16", "data.args.num_val=8",
                                                       "data.args.image_size=32"], _images(1, 32, 32), onnx=False),
    "medical-unet": Case("medical", "unet", ["data.args.num_train=16", "data.args.num_val=4", "data.args.image_size=32",
                                             "model.args.channels=[4,8]", "task_args.patch_size=[32]"],
                         _images(1, 32, 32)),
    "nlp-bert": Case("nlp", "bert_tiny", ["data.args.num_train=64", "data.args.num_val=16", "task_args.max_length=24",
                                          "task_args.vocab_size=300"], _texts, _logits),
    "nlp-bigru": Case("nlp", "bigru", ["data.args.num_train=64", "data.args.num_val=16", "task_args.max_length=24",
                                       "task_args.vocab_size=300", "model.args.embed_dim=16",
                                       "model.args.hidden_size=8"], _texts),
    "speech-keywords": Case("speech", "waveform_cnn", ["data.args.num_train=16", "data.args.num_val=8",
                                                       "model.args.width=8"], _waves(12_800)),
    "speech-crnn": Case("speech", "crnn_ctc", ["data.args.num_train=8", "data.args.num_val=4", "model.args.hidden=16",
                                               "model.args.layers=2"], _waves(9_600), onnx=False),
    "speech-conformer": Case("speech", "conformer_ctc", ["data.args.num_train=8", "data.args.num_val=4",
                                                         "model.args.dim=16", "model.args.layers=1",
                                                         "model.args.heads=2", "model.args.ffn_dim=32",
                                                         "model.args.kernel=3"], _waves(9_600)),
    "recommendation": Case("recommendation", "two_tower", ["data.args.num_users=60", "data.args.num_items=40",
                                                           "data.args.mean_activity=8"], _user_items),
    "driving-segmenter": Case("driving", "lraspp_mobilenet_v3", ["data.args.num_train=4", "data.args.num_val=2",
                                                                 "data.args.height=64", "data.args.width=96",
                                                                 "model.args.width_mult=0.25"],
                              _images(3, 64, 96), lambda model, x: model(x)["out"], onnx=False),
}


# What `zoo export` prints for a few cases: names, shapes with their dynamic axes named, dtypes.
SIGNATURES = {
    "nlp-bert": r"input_ids \(batch, sequence\) int64, attention_mask \(batch, sequence\) int64 "
                r"-> logits \(batch, 2\) float32",
    "speech-crnn": r"waves \(batch, samples\) float32, lengths \(batch,\) int64 "
                   r"-> logits \(batch, frames, \d+\) float32, frames \(batch,\) int64",
    "recommendation": r"users \(batch,\) int64, items \(batch, candidates\) int64 "
                      r"-> scores \(batch, candidates\) float32",
    "medical-unet": r"images \(batch, 1, 32, 32\) float32 -> logits \(batch, \d+, 32, 32\) float32",
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Callable[[str], Path]:
    """The run of a case, trained for two steps the first time a test asks for it."""
    runs: dict[str, Path] = {}

    def run_of(key: str) -> Path:
        if key not in runs:
            case = CASES[key]
            run = tmp_path_factory.mktemp("export") / key
            zoo.api.train(case.task, model=case.model, output=run, overrides=[*QUIET, *case.overrides])
            runs[key] = run
        return runs[key]

    return run_of


def _expected(run: Path, case: Case) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    """Inputs built as a user would, and the outputs of the checkpoint's model called as its task calls it."""
    loaded = zoo.api.load(run, device="cpu")
    torch.manual_seed(1)
    inputs = case.inputs(loaded.meta["info"])
    with torch.no_grad():
        outputs = case.call(loaded.model, *inputs)
    return inputs, outputs if isinstance(outputs, tuple) else (outputs,)


def _assert_close(actual: Any, expected: tuple[Tensor, ...]) -> None:
    actual = actual if isinstance(actual, (tuple, list)) else (actual,)
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        got = torch.as_tensor(got)
        assert got.shape == want.shape
        torch.testing.assert_close(got.to(want.dtype), want, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("key", CASES)
@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit is deprecated, still deployed
def test_torchscript_export_reproduces_the_model_on_other_sizes(key, checkpoint, tmp_path):
    case, run = CASES[key], checkpoint(key)
    done = export(run, "torchscript", tmp_path / "model.pt")
    assert done.checked_with == "torch.jit.load" and done.max_abs_diff < 1e-4
    assert re.fullmatch(SIGNATURES.get(key, ".*"), done.signature), done.signature
    inputs, expected = _expected(run, case)
    with torch.no_grad():
        _assert_close(torch.jit.load(str(done.path))(*inputs), expected)


@pytest.mark.parametrize("key", [key for key, case in CASES.items() if case.onnx])
def test_onnx_export_reproduces_the_model_on_other_sizes(key, checkpoint, tmp_path):
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")
    case, run = CASES[key], checkpoint(key)
    done = export(run, "onnx", tmp_path / "model.onnx")
    assert done.checked_with.startswith("onnxruntime") and done.max_abs_diff < 1e-4
    inputs, expected = _expected(run, case)
    session = onnxruntime.InferenceSession(str(done.path), providers=["CPUExecutionProvider"])
    feeds = {i.name: dict(zip(done.inputs, inputs))[i.name].numpy() for i in session.get_inputs()}
    _assert_close(session.run(None, feeds), expected)


def test_onnx_export_of_the_crnn_is_refused_in_one_line_naming_torchscript(checkpoint, tmp_path):
    with pytest.raises(ExportError, match="crnn_ctc cannot be exported to ONNX") as error:
        export(checkpoint("speech-crnn"), "onnx", tmp_path / "model.onnx")
    assert "use --format torchscript" in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "model.onnx").exists()


def test_a_driving_detector_has_a_one_line_error_naming_what_to_export_instead():
    from zoo.problems.detection.detectors import fcos_mobilenet_v3

    with pytest.raises(ExportError) as error:
        export_spec("driving", fcos_mobilenet_v3(num_classes=3), "fcos_mobilenet_v3", {})
    message = str(error.value)
    assert "fcos_mobilenet_v3" in message and "lraspp_mobilenet_v3" in message and "\n" not in message


@pytest.mark.parametrize(("layers", "bidirectional"), [(1, True), (2, True), (2, False)])
def test_padded_gru_matches_packed_sequences(layers, bidirectional):
    torch.manual_seed(0)
    gru = nn.GRU(5, 7, layers, batch_first=True, bidirectional=bidirectional).eval()
    x, lengths = torch.randn(4, 9, 5), torch.tensor([9, 3, 1, 6])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected, expected_hidden = gru(packed)
    expected, _ = nn.utils.rnn.pad_packed_sequence(expected, batch_first=True)
    outputs, hidden = PaddedGRU(gru)(x, lengths)
    torch.testing.assert_close(outputs, expected)
    torch.testing.assert_close(hidden, expected_hidden)
    assert {id(p) for p in PaddedGRU(gru).parameters()} == {id(p) for p in gru.parameters()}  # shared, not copied


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_a_catalog_name_exports_at_its_preprocessing_size(site, monkeypatch, tmp_path):
    from tests.hub.conftest import NAME

    monkeypatch.setenv("ZOO_CATALOG", str(site / "catalog.json"))
    monkeypatch.chdir(tmp_path)
    done = export(NAME, "torchscript")
    assert done.path == Path("small_cnn.tiny.pt") and done.max_abs_diff < 1e-4
    assert done.signature == "images (batch, 3, 32, 32) float32 -> logits (batch, 10) float32"
