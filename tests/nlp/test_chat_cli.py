"""``zoo chat`` through a pipe, as a user's shell runs it: answers streamed one per line, /reset and /exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zoo
from tests.conftest import run_zoo
from tests.nlp.test_chat import TINY_CHAT


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("chat-cli") / "run"
    zoo.train(task="nlp", problem="chat", output=out, overrides={**TINY_CHAT, "trainer.max_steps": 2})
    return out


def test_chat_through_a_pipe_answers_each_line_and_keeps_the_conversation(run: Path) -> None:
    first = "There are 2 red balls, 3 blue cubes and 1 green cone, from left to right. How many cubes are there?"
    lines = [first, "What colour are the balls?", "", "/reset", first, "/nonsense", "/exit", "never read"]
    result = run_zoo("chat", "--checkpoint", str(run), "--max-new-tokens", "3", input="\n".join(lines) + "\n")
    answers = result.stdout.splitlines()
    assert len(answers) == 3  # one per question; /exit stops before the last line
    expected = zoo.predict(run, [first], max_new_tokens=3)[0]["answer"]
    assert answers[0].strip() == expected == answers[2].strip()  # streamed = batched; /reset forgot the turns
    errors = result.stderr.splitlines()
    assert any("the prompt is empty" in line for line in errors)
    assert any("unknown command /nonsense" in line for line in errors)
    assert "Traceback" not in result.stderr


def test_chat_sampling_options_and_a_seed_repeat_the_answer(run: Path) -> None:
    import io

    from zoo.nlp.chat import ChatPredictOptions
    from zoo.nlp.chat_loop import chat

    options = ChatPredictOptions(temperature=1.0, top_p=0.9, seed=3, max_new_tokens=5)
    outputs = []
    for _ in range(2):
        out = io.StringIO()
        chat(str(run), options, stdin=io.StringIO("How many grams are in 4 kilograms?\n"), stdout=out,
             stderr=io.StringIO())
        outputs.append(out.getvalue())
    assert outputs[0] and outputs[0] == outputs[1]


def test_predict_command_takes_generation_options(run: Path, capsys: pytest.CaptureFixture) -> None:
    from zoo.cli import main

    assert main(["predict", "--checkpoint", str(run), "--max-new-tokens", "2", "--json", "What is on the left?"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["input"] == "What is on the left?"
    assert main(["predict", "--checkpoint", str(run), ""]) == 2
    assert capsys.readouterr().err.strip().startswith("error: the prompt is empty")


def test_chat_refuses_a_checkpoint_of_another_problem(tmp_path: Path, tiny_nlp, capsys) -> None:
    from zoo.cli import main

    other = tmp_path / "classifier"
    zoo.train(task="nlp", output=other, overrides=[*tiny_nlp, "trainer.max_steps=1"])
    assert main(["chat", "--checkpoint", str(other)]) == 2
    assert "zoo chat needs a checkpoint of the chat problem" in capsys.readouterr().err
