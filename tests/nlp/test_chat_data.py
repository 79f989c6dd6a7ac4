"""Chat data: every file format parsed from files written here in its upstream shape, and the embedded world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zoo.errors import ConfigError
from zoo.nlp import dialogues, world

GREETING = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi, how can I help?"}]
WEATHER = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Will it rain?"},
    {"role": "assistant", "content": "Probably."},
    {"role": "user", "content": "When?"},
    {"role": "assistant", "content": "After lunch."},
]

# The layout of chatterbot-corpus 1.3.3 (chatterbot_corpus/data/english/greetings.yml), abridged.
CHATTERBOT_YAML = """categories:
- greetings
conversations:
- - Hello
  - Hi
- - Hi, How is it going?
  - Good
- - How are you doing?
  - I am doing well, how about you?
  - I am also good.
  - That's good to hear.
"""


def test_jsonl_messages_in_the_openai_shape(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"messages": m}) + "\n" for m in (GREETING, WEATHER)) + "\n")
    assert dialogues.read_file(path) == [GREETING, WEATHER]


def test_sharegpt_roles_are_mapped(tmp_path: Path) -> None:
    record = {"id": "x1", "conversations": [{"from": "system", "value": "You are terse."},
                                            {"from": "human", "value": "Will it rain?"},
                                            {"from": "gpt", "value": "Probably."}]}
    path = tmp_path / "sharegpt.json"
    path.write_text(json.dumps([record]))
    assert dialogues.read_file(path) == [WEATHER[:3]]


def test_plain_text_blocks_alternate_user_and_assistant(tmp_path: Path) -> None:
    path = tmp_path / "chats.txt"
    path.write_text("Hello\nHi, how can I help?\n\n\nWill it rain?\nProbably.\nWhen?\nAfter lunch.\n")
    assert dialogues.read_file(path) == [GREETING, WEATHER[1:]]


def test_chatterbot_corpus_yaml_file_and_directory(tmp_path: Path) -> None:
    folder = tmp_path / "english"
    folder.mkdir()
    (folder / "greetings.yml").write_text(CHATTERBOT_YAML)
    (folder / "ai.yml").write_text("categories:\n- AI\nconversations:\n- - What is AI?\n  - A field of study.\n")
    expected = [
        [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"}],
        [{"role": "user", "content": "Hi, How is it going?"}, {"role": "assistant", "content": "Good"}],
        [{"role": "user", "content": "How are you doing?"},
         {"role": "assistant", "content": "I am doing well, how about you?"},
         {"role": "user", "content": "I am also good."}, {"role": "assistant", "content": "That's good to hear."}],
    ]
    assert dialogues.read_file(folder / "greetings.yml") == expected
    train = dialogues.chatterbot("train", root=str(folder), val_fraction=0.25).conversations
    val = dialogues.chatterbot("val", root=str(folder), val_fraction=0.25).conversations
    assert len(train) == 3 and len(val) == 1
    assert sorted(map(str, train + val)) == sorted(map(str, [[{"role": "user", "content": "What is AI?"},
                                                              {"role": "assistant", "content": "A field of study."}],
                                                             *expected]))


def test_malformed_chatterbot_conversations_are_skipped_with_a_warning(tmp_path: Path, caplog) -> None:
    # As in chatterbot-corpus 1.3.3 english/trivia.yml: a question and its answer fused into one string.
    (tmp_path / "trivia.yml").write_text("conversations:\n- - Who?\n  - Pandora\n- In a game?\n  - '22'\n")
    assert dialogues.read_file(tmp_path / "trivia.yml") == [
        [{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "Pandora"}]]
    assert "skipped 1 malformed conversation(s)" in caplog.text


def test_chat_files_finds_train_and_val_in_root(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text(json.dumps({"messages": GREETING}) + "\n")
    (tmp_path / "dev.jsonl").write_text(json.dumps({"messages": WEATHER}) + "\n")
    assert dialogues.chat_files("train", root=str(tmp_path)).conversations == [GREETING]
    assert dialogues.chat_files("val", root=str(tmp_path)).conversations == [WEATHER]


def test_hub_dataset_from_the_datasets_cache(tmp_path: Path) -> None:
    import datasets

    from tests.nlp.conftest import build_hub_cache

    features = datasets.Features({"messages": [{"role": datasets.Value("string"),
                                                "content": datasets.Value("string")}]})
    build_hub_cache(tmp_path / "cache", "someone/chats", "default",
                    {"train": {"messages": [GREETING, WEATHER]}, "test": {"messages": [GREETING]}}, features)
    split = dialogues.chat_hub("train", root=str(tmp_path / "cache"), repo="someone/chats")
    assert split.conversations == [GREETING, WEATHER]
    assert dialogues.chat_hub("val", root=str(tmp_path / "cache"), repo="someone/chats").conversations == [GREETING]


@pytest.mark.parametrize(("name", "text", "message"), [
    ("bad.jsonl", json.dumps({"messages": [{"role": "narrator", "content": "Once"}]}),
     r"bad.jsonl:1, message 0: unknown role 'narrator'; roles are system, user, assistant"),
    ("bad.json", json.dumps([{"conversations": [{"from": "robot", "value": "Beep"}]}]),
     r"bad.json, record 0, turn 0: unknown role 'robot'"),
    ("bad.yml", "conversations:\n- - only one line\n", r"bad.yml: no conversation is a list of two or more lines"),
])
def test_an_unknown_role_or_shape_is_one_line_naming_the_record(tmp_path: Path, name, text, message) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message) as error:
        dialogues.read_file(tmp_path / name)
    assert "\n" not in str(error.value)


def test_world_validation_is_held_out_and_deterministic() -> None:
    train = world.dialogues("train", 500, num_train=500)
    val = world.dialogues("val", 100, num_train=500)
    assert val == world.dialogues("val", 100, num_train=500)
    assert not {json.dumps(v) for v in val} & {json.dumps(t) for t in train}
    converted = [int(m["content"].split(" are in ")[1].split()[0])
                 for d in train + val for m in d if " are in " in m["content"]]
    train_numbers = {int(m["content"].split(" are in ")[1].split()[0])
                     for d in train for m in d if " are in " in m["content"]}
    assert converted and not any(world.held_out(n) for n in train_numbers)
    assert all(m["role"] == ("user", "assistant")[i % 2] for d in val for i, m in enumerate(d))


def test_world_answers_are_right() -> None:
    import random

    rng = random.Random(3)
    for _ in range(200):
        messages = world.dialogue(rng, "train", turns=6)
        description = messages[0]["content"].split(" from left to right.")[0].removeprefix("There are ")
        groups = [g.split() for g in description.replace(" and ", ", ").rstrip(",").split(", ")]
        counts = {g[2].rstrip("s"): int(g[0]) for g in groups}
        colours = {g[2].rstrip("s"): g[1] for g in groups}
        order = [g[2].rstrip("s") for g in groups]
        for question, answer in zip(messages[0::2], messages[1::2]):
            q, a = question["content"].split("right. ")[-1], answer["content"]
            words = q.rstrip("?").split()
            if " and " in q:
                assert a == f"The {words[2]} and {words[4]} number {counts[words[2].rstrip('s')] + counts[words[4].rstrip('s')]}."
            elif " are in " in q:
                assert a.startswith(words[5]) and set(a[len(words[5]):]) == {"0"}
            elif q.startswith("How many"):
                assert a == f"The {words[2]} number {counts[words[2].rstrip('s')]}."
            elif "colour" in q:
                assert a == f"The {words[-1]} are {colours[words[-1].rstrip('s')]}."
            else:
                place = {"left": 0, "middle": 1, "right": 2}[words[-1]]
                assert a == f"{' '.join(words[2:]).capitalize()} are the {order[place]}s."
