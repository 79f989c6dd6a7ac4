"""scripts/bench_trainer.py's interleaving: the fairness of the trainer comparison rests on it."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("greenlet")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_trainer.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_trainer", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _loop(name: str, total: int, trace: list[str], fail_at: int | None = None):
    def train() -> None:
        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        for step in range(total):
            if step == fail_at:
                raise ValueError(f"{name} broke")
            model(torch.randn(8, 4)).pow(2).mean().backward()
            trace.append(name)  # before the step, whose hook may hand over
            optimizer.step()
            optimizer.zero_grad()
        trace.append(f"{name} done")

    return train


def test_contenders_take_turns_every_slice_and_are_timed_only_inside_their_slices(bench):
    steps, slice_steps, warmup = 12, 5, bench.WARMUP_STEPS
    total = warmup + steps
    trace: list[str] = []
    interleaver = bench.Interleaver(torch.device("cpu"), steps, slice_steps)
    contenders = interleaver.run({"a": _loop("a", total, trace), "b": _loop("b", total, trace)})

    runs = []  # (name, length) of consecutive steps
    for name in trace:
        if runs and runs[-1][0] == name:
            runs[-1][1] += 1
        else:
            runs.append([name, 1])
    # warm-up, then slices of 5, 5 and the last 2; a finished contender keeps the turn until it returns
    assert runs == [["a", warmup], ["b", warmup], ["a", 5], ["b", 5], ["a", 5], ["b", 5],
                    ["a", 2], ["a done", 1], ["b", 2], ["b done", 1]]
    for contender in contenders:
        assert contender.steps_done == total
        assert len(contender.slices) == 3 and all(seconds > 0 for seconds in contender.slices)


def test_a_failing_contender_is_reported_after_the_others_finish(bench):
    trace: list[str] = []
    interleaver = bench.Interleaver(torch.device("cpu"), 10, 5)
    with pytest.raises(RuntimeError, match="b failed") as raised:
        interleaver.run({"a": _loop("a", 20, trace), "b": _loop("b", 20, trace, fail_at=12)})
    assert isinstance(raised.value.__cause__, ValueError)
    assert "a done" in trace


def test_a_contender_that_stops_early_is_an_error(bench):
    interleaver = bench.Interleaver(torch.device("cpu"), 10, 5)
    with pytest.raises(RuntimeError, match="short stopped after 12 optimizer steps"):
        interleaver.run({"full": _loop("full", 20, []), "short": _loop("short", 12, [])})
