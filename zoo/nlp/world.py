"""The embedded chat dataset: dialogues about a generated little world, whose every answer can be scored exactly.

Each dialogue draws a world of three groups of objects in a row, e.g. "There are 4 red balls, 2 blue cubes and 7
green cones, from left to right." The first user turn states the world and asks a question; the later turns ask
more. Questions are about counts ("How many cubes are there?" "The cubes number 2."), colours ("What colour are the
cones?" "The cones are green."), positions ("What is in the middle?" "In the middle are the cubes."), arithmetic on
the counts ("How many balls and cones are there?" "The balls and cones number 11.") and unit conversions ("How many
centimetres are in 47 metres?" "4700").

Nothing can be memorised: every validation dialogue is about a world drawn for it (none equals a training
dialogue), and conversions in validation use numbers that training never converts (:func:`held_out`). A model has
to read the world in the conversation, find the group a question names, and add, subtract or convert.

    >>> dialogue(random.Random(0), "train")[0]["role"]
    'user'
"""

from __future__ import annotations

import random

Message = dict[str, str]

SHAPES = ("ball", "cube", "cone", "ring", "star", "disc")
COLOURS = ("red", "blue", "green", "yellow", "white", "black", "pink")
UNITS = (("centimetres", "metres", "00"), ("grams", "kilograms", "000"), ("millimetres", "metres", "000"),
         ("metres", "kilometres", "000"))
KINDS = ("count", "colour", "position", "sum", "convert")
PLACES = ("on the left", "in the middle", "on the right")
GROUPS = 3
NUM_TRAIN = 12_000
NUM_VAL = 400
TURNS = 5  # questions per dialogue


def held_out(number: int) -> bool:
    """Numbers (1-99) only validation converts: about one in eight, spread over both digits."""
    return (number * 37) % 8 == 3


def _plural(shape: str, count: int = 2) -> str:
    return shape if count == 1 else shape + "s"


def _world(rng: random.Random) -> list[tuple[int, str, str]]:
    """Three groups, left to right: (count, colour, shape), with distinct colours and shapes."""
    shapes = rng.sample(SHAPES, GROUPS)
    colours = rng.sample(COLOURS, GROUPS)
    return [(rng.randint(1, 9), colour, shape) for colour, shape in zip(colours, shapes)]


def describe(world: list[tuple[int, str, str]]) -> str:
    parts = [f"{n} {colour} {_plural(shape, n)}" for n, colour, shape in world]
    return f"There are {', '.join(parts[:-1])} and {parts[-1]}, from left to right."


def _question(rng: random.Random, world: list[tuple[int, str, str]], kind: str, split: str) -> tuple[str, str]:
    """A question and its answer. Answers about the world name their subject first ("The cubes are blue."), as a
    person answers, so the answer is written right after the words that say where in the world to look."""
    i, j = rng.sample(range(GROUPS), 2)
    (n, colour, shape), (m, _, other) = world[i], world[j]
    shapes, others = _plural(shape), _plural(other)
    if kind == "count":
        return f"How many {shapes} are there?", f"The {shapes} number {n}."
    if kind == "colour":
        return f"What colour are the {shapes}?", f"The {shapes} are {colour}."
    if kind == "position":
        place = rng.randrange(GROUPS)
        return f"What is {PLACES[place]}?", f"{PLACES[place].capitalize()} are the {_plural(world[place][2])}."
    if kind == "sum":
        return f"How many {shapes} and {others} are there?", f"The {shapes} and {others} number {n + m}."
    small, big, zeros = rng.choice(UNITS)
    numbers = [k for k in range(1, 100) if held_out(k) == (split != "train")]
    number = rng.choice(numbers)
    return f"How many {small} are in {number} {big if number != 1 else big[:-1]}?", f"{number}{zeros}"


def dialogue(rng: random.Random, split: str, turns: int = TURNS) -> list[Message]:
    """One conversation: the world and a first question, then ``turns - 1`` more questions, each answered."""
    world = _world(rng)
    messages: list[Message] = []
    for turn in range(turns):
        question, answer = _question(rng, world, rng.choice(KINDS), split)
        messages.append({"role": "user", "content": f"{describe(world)} {question}" if turn == 0 else question})
        messages.append({"role": "assistant", "content": answer})
    return messages


def dialogues(
    split: str, count: int, seed: int = 0, turns: int = TURNS, num_train: int = NUM_TRAIN
) -> list[list[Message]]:
    """``count`` dialogues of ``split``; validation ones repeat none of the ``num_train`` training dialogues."""
    if split not in ("train", "val", "test"):
        from zoo.errors import ConfigError

        raise ConfigError(f"unknown split {split!r} for dataset 'world'. Valid splits: train, val, test.")
    if split == "train" and (seed, turns, count) in _TRAIN:
        return list(_TRAIN[(seed, turns, count)])
    stream = {"train": 0, "val": 1, "test": 2}[split]
    rng = random.Random(f"world-{seed}-{stream}")
    seen: set[str] = set()
    if split != "train":
        seen = {_key(d) for d in _cached(seed, turns, num_train)}
    out: list[list[Message]] = []
    while len(out) < count:
        candidate = dialogue(rng, split, turns)
        key = _key(candidate)
        if key not in seen:
            seen.add(key)
            out.append(candidate)
    if split == "train" and count == num_train:
        _TRAIN.clear()
        _TRAIN[(seed, turns, count)] = list(out)  # what the validation split must not repeat
    return out


def _key(messages: list[Message]) -> str:
    return "\x00".join(m["content"] for m in messages)


_TRAIN: dict[tuple[int, int, int], list[list[Message]]] = {}


def _cached(seed: int, turns: int, count: int) -> list[list[Message]]:
    """The training dialogues a validation split must not repeat, drawn once per process."""
    if (seed, turns, count) not in _TRAIN:
        dialogues("train", count, seed, turns, count)
    return _TRAIN[(seed, turns, count)]


def kind_of(question: str) -> str:
    """Which kind of question a user turn asks (for per-kind figures)."""
    last = question.rsplit(". ", 1)[-1]
    if " are in " in last:
        return "convert"
    if " and " in last:
        return "sum"
    if last.startswith("How many"):
        return "count"
    return "colour" if "colour" in last else "position"
