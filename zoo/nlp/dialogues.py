"""Chat datasets: conversations as lists of ``{"role", "content"}`` messages, from the world generator or from files.

    python -m zoo.train --task nlp --problem chat                                  # the embedded world dialogues
    python -m zoo.train --task nlp --problem chat --dataset chat_files data.args.train=chats.jsonl
    python -m zoo.train --task nlp --problem chat --dataset chatterbot data.args.root=chatterbot_corpus/data/english
    python -m zoo.train --task nlp --problem chat --dataset chat_hub data.args.repo=HuggingFaceH4/no_robots

File formats, told apart by their suffix (or ``data.args.format``):

- ``.txt``: plain text; conversations are separated by blank lines, and their lines alternate user, assistant.
- ``.jsonl`` / ``.json``: one record per conversation holding ``messages`` (``role``/``content``: the OpenAI and
  ChatML shape) or ``conversations`` (ShareGPT: ``from``/``value``, with ``human``, ``gpt``, ... mapped to roles).
- ``.yml`` / ``.yaml``: chatterbot-corpus files: ``conversations`` is a list of lists of strings, alternating user
  and assistant; a directory is read file by file in name order.

Roles are ``system``, ``user`` and ``assistant``; a conversation with any other role is an error naming the file and
the record. Without a validation file a seeded ``val_fraction`` of the conversations is held out.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.nlp import world

Message = dict[str, str]
ROLES = ("system", "user", "assistant")
# ShareGPT's ``from`` values and the roles they stand for (FastChat's conversion and its common variants).
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "chatgpt": "assistant", "bard": "assistant",
                  "bing": "assistant", "assistant": "assistant", "model": "assistant", "system": "system"}
SUFFIXES = {".txt": "text", ".text": "text", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
            ".yml": "chatterbot", ".yaml": "chatterbot"}
_VAL_NAMES = ("val", "valid", "validation", "dev", "test")
log = logging.getLogger(__name__)


@dataclass
class ChatSplit:
    """One split: conversations, each a list of messages, every message a ``{"role", "content"}`` dict."""

    conversations: list[list[Message]]
    source: str

    def __post_init__(self) -> None:
        if not self.conversations:
            raise ConfigError(f"{self.source} holds no conversations")


def check_messages(messages: Any, where: str) -> list[Message]:
    """Messages as plain dicts with a known role and string content, or one line saying what is wrong where."""
    if not isinstance(messages, list) or not messages:
        raise ConfigError(f"{where}: a conversation must be a non-empty list of messages, got {messages!r:.80}")
    out = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ConfigError(f"{where}, message {index}: expected {{'role': ..., 'content': ...}}, got {message!r:.80}")
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise ConfigError(f"{where}, message {index}: unknown role {role!r}; roles are {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise ConfigError(f"{where}, message {index}: content must be text, got {content!r:.80}")
        out.append({"role": role, "content": content})
    return out


def alternating(turns: list[Any], where: str) -> list[Message]:
    """Lines or strings taken in turn as user and assistant messages (plain text, chatterbot-corpus)."""
    if len(turns) < 2 or not all(isinstance(t, str) for t in turns):
        raise ConfigError(f"{where}: a conversation needs at least two lines of text (a user turn, then an "
                          f"assistant turn), got {turns!r:.80}")
    return [{"role": ROLES[1 + i % 2], "content": str(t).strip()} for i, t in enumerate(turns)]


# --- the embedded world ------------------------------------------------------------------------------------------


def world_dialogues(
    split: str, root: str | None = None, download: bool = False, num_train: int = world.NUM_TRAIN,
    num_val: int = world.NUM_VAL, turns: int = world.TURNS, seed: int = 0,
) -> ChatSplit:
    """Generated dialogues about little worlds (see :mod:`zoo.nlp.world`); ``root`` and ``download`` are unused."""
    count = num_train if split == "train" else num_val
    if count < 1 or turns < 1:
        raise ConfigError(f"data.args.num_train, num_val and turns must be at least 1, got {num_train}, {num_val}, "
                          f"{turns}")
    return ChatSplit(world.dialogues(split, count, seed, turns, num_train), f"world ({split})")


# --- files --------------------------------------------------------------------------------------------------------


def read_file(path: Path, format: str | None = None) -> list[list[Message]]:  # noqa: A002 - the name users know
    """The conversations of one file (or of every ``.yml`` in a directory, for chatterbot-corpus)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".yml", ".yaml"))
        if not files:
            raise DatasetNotFoundError(f"{path} holds no .yml files (chatterbot-corpus); name a file instead")
        return [c for f in files for c in read_file(f, "chatterbot")]
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist: check data.args.train / data.args.val (and root)")
    kind = format or SUFFIXES.get(path.suffix.lower())
    readers = {"text": _read_text, "jsonl": _read_jsonl, "json": _read_json, "chatterbot": _read_chatterbot}
    if kind not in readers:
        raise ConfigError(f"cannot tell the format of {path}; name it with data.args.format="
                          f"{'|'.join(readers)} (known suffixes: {', '.join(SUFFIXES)})")
    return readers[kind](path)


def _read_text(path: Path) -> list[list[Message]]:
    blocks, block, start = [], [], 1
    for number, line in enumerate([*path.read_text(encoding="utf-8").splitlines(), ""], start=1):
        if line.strip():
            start = number if not block else start
            block.append(line)
        elif block:
            blocks.append(alternating(block, f"{path}:{start}"))
            block = []
    return blocks


def record_messages(record: Any, where: str) -> list[Message]:
    """The messages of one record: ``messages`` (role/content) or ShareGPT ``conversations`` (from/value)."""
    if isinstance(record, dict) and "messages" in record:
        return check_messages(record["messages"], where)
    if isinstance(record, dict) and "conversations" in record:
        turns = record["conversations"]
        if not isinstance(turns, list):
            raise ConfigError(f"{where}: 'conversations' must be a list of {{'from', 'value'}} turns")
        messages = []
        for index, turn in enumerate(turns):
            if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
                raise ConfigError(f"{where}, turn {index}: expected {{'from': ..., 'value': ...}}, got {turn!r:.80}")
            role = SHAREGPT_ROLES.get(str(turn["from"]).lower())
            if role is None:
                raise ConfigError(f"{where}, turn {index}: unknown role {turn['from']!r}; ShareGPT roles are "
                                  f"{', '.join(SHAREGPT_ROLES)}")
            messages.append({"role": role, "content": turn["value"]})
        return check_messages(messages, where)
    keys = sorted(record) if isinstance(record, dict) else type(record).__name__
    raise ConfigError(f"{where}: expected a record with 'messages' (role/content) or 'conversations' (ShareGPT "
                      f"from/value), got {keys}")


def _read_jsonl(path: Path) -> list[list[Message]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}:{number}: not JSON ({error.msg}); JSON Lines hold one record per line") from None
        out.append(record_messages(record, f"{path}:{number}"))
    return out


def _read_json(path: Path) -> list[list[Message]]:
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not JSON ({error.msg} at line {error.lineno}); for one record per line name it "
                          ".jsonl") from None
    if not isinstance(records, list):
        raise ConfigError(f"{path}: a .json file must hold a list of records, got {type(records).__name__}")
    return [record_messages(r, f"{path}, record {i}") for i, r in enumerate(records)]


def _read_chatterbot(path: Path) -> list[list[Message]]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise ConfigError(f"{path}: a chatterbot-corpus file has a 'conversations' list of lists of lines")
    good, bad = [], []
    for index, turns in enumerate(data["conversations"]):
        if isinstance(turns, list) and len(turns) >= 2 and all(isinstance(t, str) for t in turns):
            good.append(alternating(turns, f"{path}, conversation {index}"))
        else:
            bad.append(index)
    if bad:  # the corpus itself has a few (english/trivia.yml 13: a question and its answer fused into one string)
        log.warning("%s: skipped %d malformed conversation(s) (not a list of two or more lines): %s", path, len(bad),
                    ", ".join(map(str, bad[:10])))
    if not good:
        raise ConfigError(f"{path}: no conversation is a list of two or more lines (user, assistant, ...)")
    return good


def _hold_out(conversations: list[list[Message]], split: str, val_fraction: float, seed: int) -> list[list[Message]]:
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.args.val_fraction must be between 0 and 1, got {val_fraction}")
    order = list(range(len(conversations)))
    random.Random(seed).shuffle(order)
    held = set(order[: max(1, round(val_fraction * len(order)))])
    return [c for i, c in enumerate(conversations) if (i in held) == (split != "train")]


def _place(root: str | None, path: str) -> Path:
    p = Path(path).expanduser()
    return Path(root).expanduser() / p if root is not None and not p.is_absolute() else p


def chat_files(
    split: str, root: str | None = None, download: bool = False, train: str | None = None, val: str | None = None,
    format: str | None = None, val_fraction: float = 0.1, seed: int = 0,  # noqa: A002
) -> ChatSplit:
    """Your own conversations in a file (see the module's formats). Without ``train``, ``root`` is searched for
    ``train.<ext>`` and ``val|valid|validation|dev|test.<ext>``."""
    if split not in ("train", "val", "test"):
        raise ConfigError(f"unknown split {split!r} for dataset 'chat_files'. Valid splits: train, val, test.")
    if train is None:
        if root is None:
            raise ConfigError("dataset 'chat_files' needs data.args.train=PATH (.txt, .jsonl, .json or .yml), or "
                              "data.args.root=DIR holding train.<ext>")
        base = Path(root).expanduser()
        found = [base / f"train{s}" for s in SUFFIXES if (base / f"train{s}").is_file()]
        if not found:
            raise DatasetNotFoundError(f"no train file in {base}: expected train with one of {', '.join(SUFFIXES)}")
        train_path = found[0]
        if val is None:
            vals = [base / f"{n}{s}" for n in _VAL_NAMES for s in SUFFIXES if (base / f"{n}{s}").is_file()]
            val_path = vals[0] if vals else None
        else:
            val_path = _place(root, val)
    else:
        train_path, val_path = _place(root, train), _place(root, val) if val is not None else None
    if val_path is not None:
        path = train_path if split == "train" else val_path
        return ChatSplit(read_file(path, format), str(path))
    return ChatSplit(_hold_out(read_file(train_path, format), split, val_fraction, seed), f"{train_path} ({split})")


def chatterbot(
    split: str, root: str | None = None, download: bool = False, language: str = "english",
    val_fraction: float = 0.1, seed: int = 0,
) -> ChatSplit:
    """chatterbot-corpus dialogues of one language: ``root`` is its ``data/<language>`` directory (or a single
    .yml file), else the installed ``chatterbot_corpus`` package's; a seeded ``val_fraction`` is held out."""
    if root is None:
        import importlib.util

        spec = importlib.util.find_spec("chatterbot_corpus")
        if spec is None or not spec.submodule_search_locations:
            raise DatasetNotFoundError(
                "dataset 'chatterbot' needs data.args.root=DIR (chatterbot_corpus/data/english of the "
                "chatterbot-corpus wheel: pip download --no-deps chatterbot-corpus, then unzip it), or "
                "pip install --no-deps chatterbot-corpus"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / language
    else:
        path = Path(root).expanduser()
    conversations = read_file(path, "chatterbot")
    return ChatSplit(_hold_out(conversations, split, val_fraction, seed), f"{path} ({split})")


def chat_hub(
    split: str, root: str | None = None, download: bool = False, repo: str = "", config: str | None = None,
    train_split: str = "train", val_split: str = "test", column: str | None = None,
) -> ChatSplit:
    """A Hugging Face dataset of conversations, read by ``datasets`` from its cache (``root``, else
    ``HF_DATASETS_CACHE``; ``download=true`` fetches it first): a ``messages`` or ShareGPT ``conversations`` column
    (or ``column``)."""
    import datasets

    from zoo.nlp.datasets import _hub_offline

    if not repo:
        raise ConfigError("dataset 'chat_hub' needs data.args.repo=NAMESPACE/NAME (a hub dataset of conversations)")
    upstream = train_split if split == "train" else val_split
    cache = str(Path(root).expanduser()) if root is not None else None
    try:
        with _hub_offline(not download):
            table = datasets.load_dataset(repo, config, split=upstream, cache_dir=cache)
    except (ConnectionError, FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        where = cache or datasets.config.HF_DATASETS_CACHE
        raise DatasetNotFoundError(
            f"dataset {repo!r} split {upstream!r} is not in the datasets cache ({where}; {type(error).__name__}: "
            f"{error}); set data.args.download=true where there is a network, or copy that cache here"
        ) from error
    names = [column] if column else [c for c in ("messages", "conversations") if c in table.column_names]
    if not names or names[0] not in table.column_names:
        raise ConfigError(f"{repo} has no {column or 'messages or conversations'} column; its columns are "
                          f"{', '.join(table.column_names)}. Set data.args.column to the one holding conversations.")
    key = "conversations" if names[0] == "conversations" else "messages"
    rows = table[names[0]]
    return ChatSplit([record_messages({key: row}, f"{repo} {upstream} row {i}") for i, row in enumerate(rows)],
                     f"{repo} ({upstream})")
