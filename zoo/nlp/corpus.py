"""Sentiment: a generated review corpus where the label depends on word order, not only on which words occur.

A review is a main sentence, sometimes with a neutral sentence before or after it. The main sentence is one
opinion clause, or two clauses of opposite sentiment joined by a contrast ("but", "although", "even though",
"however", "while", "yet"); the label is the sentiment of the clause that the contrast keeps. A clause puts an
adjective on an aspect of a film, restaurant, hotel, product or book, possibly intensified ("really", "utterly") and
possibly negated ("not", "never", "far from", "hardly"), while some negative-looking frames keep the
adjective's sentiment ("could not have been more", "nothing short of"). Neutral sentences and filler phrases
("to be fair", "at times") carry no sentiment, and every filler, intensifier and template is drawn independently
of the label.

So the same bag of words can carry either label: "the food was great, but the service was slow" and "the service
was slow, but the food was great" differ only in order. On the default splits a bag of words (fastText with
``ngrams=1``) reaches about 0.65 validation accuracy and fastText with bigrams about 0.68, while models that read
order do far better: TextCNN about 0.95, the default BERT-Tiny about 0.95 and a BiGRU 1.0 (docs/nlp.md).
"""

from __future__ import annotations

import random
from functools import lru_cache

from zoo.errors import ConfigError

CLASSES: tuple[str, ...] = ("negative", "positive")
NUM_TRAIN = 16_000
NUM_VAL = 2_000
SPLITS = ("train", "val", "test")
_STREAM = {"train": 0, "val": 1}

POSITIVE = (
    "good", "great", "excellent", "wonderful", "superb", "brilliant", "delightful", "charming", "lovely",
    "impressive", "fantastic", "enjoyable", "pleasant", "outstanding", "terrific", "solid", "fresh", "memorable",
    "clever", "gorgeous", "satisfying", "polished", "engaging", "remarkable", "flawless", "inspired", "stellar",
    "elegant", "thoughtful", "refreshing", "splendid", "marvelous", "first-rate", "top-notch", "likeable",
    "friendly", "cozy", "spotless", "delicious", "smooth", "fast",
)
NEGATIVE = (
    "bad", "awful", "terrible", "dull", "boring", "bland", "clumsy", "disappointing", "tedious", "weak", "poor",
    "sloppy", "forgettable", "annoying", "mediocre", "painful", "lifeless", "messy", "dreadful", "horrible", "lazy",
    "stale", "cheap", "flat", "shoddy", "tiresome", "pointless", "uninspired", "lousy", "dismal", "grating",
    "careless", "second-rate", "underwhelming", "frustrating", "slow", "rude", "noisy", "overpriced", "cramped",
    "greasy",
)
INTENSIFIERS = (
    "very", "really", "truly", "incredibly", "extremely", "quite", "rather", "so", "remarkably", "utterly",
    "genuinely", "fairly", "pretty", "thoroughly", "downright", "surprisingly", "somewhat", "consistently",
)
ASPECTS: dict[str, tuple[str, ...]] = {
    "film": (
        "the plot", "the acting", "the soundtrack", "the dialogue", "the cinematography", "the pacing", "the ending",
        "the cast", "the script", "the visuals", "the direction", "the characters", "the story", "the humor",
        "the editing", "the special effects", "the lead performance", "the final act", "the opening scene",
    ),
    "restaurant": (
        "the food", "the service", "the staff", "the dessert", "the wine list", "the menu", "the pasta",
        "the atmosphere", "the soup", "the steak", "the coffee", "the decor", "the portions", "the waiter",
    ),
    "hotel": (
        "the room", "the bed", "the breakfast", "the pool", "the location", "the front desk", "the view",
        "the bathroom", "the gym", "the lobby", "the check-in", "the housekeeping",
    ),
    "product": (
        "the battery", "the screen", "the camera", "the keyboard", "the build quality", "the sound", "the design",
        "the software", "the charger", "the packaging", "the price", "the setup", "the manual",
    ),
    "book": (
        "the writing", "the prose", "the characters", "the first chapter", "the twist", "the world building",
        "the narrator", "the pacing", "the translation", "the ending", "the premise",
    ),
}
PLURAL = frozenset({"the special effects", "the characters", "the visuals", "the portions"})
NEUTRAL: dict[str, tuple[str, ...]] = {
    "film": (
        "We watched it on a rainy Sunday.", "It runs just under two hours.", "My cousin picked this one.",
        "I went in knowing nothing about it.", "It is the third film by the director.", "The theater was half empty.",
        "It is set in a small town in the seventies.", "I saw it with my sister last weekend.",
    ),
    "restaurant": (
        "We went there for a birthday dinner.", "It is right next to the train station.",
        "We had a table by the window.",
        "I ordered the special of the day.", "We booked a table a week ahead.", "It opened last spring.",
    ),
    "hotel": (
        "We stayed three nights in March.", "It is a short walk from the beach.", "We arrived late in the evening.",
        "I booked it through a travel site.", "We were there for a conference.", "Parking is across the street.",
    ),
    "product": (
        "I bought it two months ago.", "It arrived on a Tuesday.", "I use it mostly for work.",
        "This replaced my old one.", "It comes in three colors.", "I got it on sale.",
    ),
    "book": (
        "I read it on a long flight.", "It is the second book in the series.", "A friend lent me her copy.",
        "I finished it in two evenings.", "It has about four hundred pages.", "Our book club picked it.",
    ),
}
FILLERS_BEFORE = ("honestly", "to be fair", "in my opinion", "frankly", "overall", "as expected", "if anything")
FILLERS_AFTER = ("at times", "for the most part", "in places", "from start to finish", "most of the time", "overall")

# Clause frames by kind: plain ones state the adjective's sentiment, negated ones turn it around, and "tricky" ones
# hold a negation word yet keep the adjective's sentiment. {np} is the aspect, {adj} the adjective, {int} an optional
# intensifier.
PLAIN = (
    "{np} was {int}{adj}",
    "{np} is {int}{adj}",
    "{np} felt {int}{adj}",
    "{np} seemed {int}{adj}",
    "I found {np} {int}{adj}",
    "{np} turned out {int}{adj}",
    "I have to say {np} was {int}{adj}",
)
NEGATED = (
    "{np} was not {int}{adj}",
    "{np} was never {adj}",
    "{np} wasn't {int}{adj}",
    "I did not find {np} {adj}",
    "{np} was far from {adj}",
    "{np} was hardly {adj}",
    "nobody would call {np} {adj}",
    "{np} did not feel {adj} at all",
)
TRICKY = (
    "{np} could not have been more {adj}",
    "{np} was nothing short of {adj}",
    "nobody could deny that {np} was {adj}",
    "{np} never failed to be {adj}",
)
# How often a clause is plain, negated or tricky.
FRAME_WEIGHTS = (0.7, 0.22, 0.08)
# Two clauses of opposite sentiment; {keep} decides the label, {drop} is conceded.
CONTRASTS: tuple[str, ...] = (
    "{drop}, but {keep}.",
    "{drop} but {keep}.",
    "Although {drop}, {keep}.",
    "{keep}, although {drop}.",
    "{keep}, even though {drop}.",
    "Even though {drop}, {keep}.",
    "{drop}. However, {keep}.",
    "While {drop}, {keep}.",
    "{drop}, yet {keep}.",
    "{drop}. Still, {keep}.",
)


def _clause(rng: random.Random, domain: str, positive: bool) -> str:
    frames = rng.choices((PLAIN, NEGATED, TRICKY), FRAME_WEIGHTS)[0]
    template = rng.choice(frames)
    adjectives = POSITIVE if positive != (frames is NEGATED) else NEGATIVE
    intensifier = rng.choice(INTENSIFIERS) + " " if rng.random() < 0.4 else ""
    aspect = rng.choice(ASPECTS[domain])
    text = template.format(np=aspect, adj=rng.choice(adjectives), int=intensifier)
    if aspect in PLURAL:
        for singular, plural in (("was", "were"), ("wasn't", "weren't"), ("is", "are")):
            text = text.replace(f"{aspect} {singular} ", f"{aspect} {plural} ")
    roll = rng.random()
    if roll < 0.1:
        text = f"{rng.choice(FILLERS_BEFORE)} {text}"
    elif roll < 0.25:
        text = f"{text} {rng.choice(FILLERS_AFTER)}"
    return text


def _capitalise(text: str) -> str:
    return text[0].upper() + text[1:]


def review(rng: random.Random, positive: bool) -> str:
    """One review whose sentiment is ``positive``."""
    domain = rng.choice(tuple(ASPECTS))
    if rng.random() < 0.55:
        main = _capitalise(_clause(rng, domain, positive)) + "."
    else:
        keep, drop = _clause(rng, domain, positive), _clause(rng, domain, not positive)
        template = rng.choice(CONTRASTS)
        main = template.format(keep=keep, drop=drop)
        main = ". ".join(_capitalise(part) for part in main.split(". "))
    parts = [main]
    roll = rng.random()
    if roll < 0.15:
        parts.insert(0, rng.choice(NEUTRAL[domain]))
    elif roll < 0.25:
        parts.append(rng.choice(NEUTRAL[domain]))
    return " ".join(parts)


def generate(num: int, seed: int) -> tuple[list[str], list[int]]:
    """``num`` reviews with balanced labels (0 negative, 1 positive), the same for the same ``seed``."""
    rng = random.Random(seed)
    labels = [i % 2 for i in range(num)]
    rng.shuffle(labels)
    return [review(rng, bool(label)) for label in labels], labels


@lru_cache(maxsize=8)
def split_texts(split: str, num_train: int, num_val: int, seed: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """One split; the validation reviews exclude any text that also occurs in the training split."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r} for dataset 'sentiment'. Valid splits: {', '.join(SPLITS)}.")
    split = "val" if split == "test" else split
    if num_train < 2 or num_val < 2:
        raise ConfigError(f"sentiment needs num_train and num_val of at least 2, got {num_train} and {num_val}")
    if split == "train":
        texts, labels = generate(num_train, seed * 1000 + _STREAM["train"])
        return tuple(texts), tuple(labels)
    seen = set(split_texts("train", num_train, num_val, seed)[0])
    rng_seed, kept_texts, kept_labels = seed * 1000 + _STREAM["val"], [], []
    while len(kept_texts) < num_val:
        texts, labels = generate(2 * num_val, rng_seed)
        for text, label in zip(texts, labels):
            if text not in seen and len(kept_texts) < num_val:
                seen.add(text)
                kept_texts.append(text)
                kept_labels.append(label)
        rng_seed += 7919
    return tuple(kept_texts), tuple(kept_labels)
