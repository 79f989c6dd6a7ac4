"""The embedded translation pair: English sentences and their translations into a generated language.

    python -m zoo.train --task nlp --problem translation        # learns this pair from scratch in minutes

The target language has its own vocabulary (stems made of syllables, no English word in it), and its grammar is
unlike English, so that a word-for-word substitution scores far below a model that has learned to translate:

- Word order is subject, place, object, verb (verb-final); adjectives follow their noun; English prepositions
  are postpositions after a noun in the locative case.
- Nouns inflect: stem + plural (``-ri`` for animate nouns, ``-mo`` for inanimate ones) + definite ``-na`` (for
  "the"; "a" and "some" add nothing) + case (accusative ``-ka`` on the object, locative ``-te`` on a place).
- Adjectives agree with their noun in class and number (``-o``, ``-oi``, ``-u``, ``-ui``).
- Verbs inflect for tense (past ``-ev``, future ``-ul``) and agree with the subject in person and number (``-m``,
  ``-s``, ``-t``, ``-mu``, ``-tu``); negation is the prefix ``no``. English "does not", "did", "will" have no word.

>>> sources, targets = pairs("val")
>>> sources[1], targets[1]
('Some bakers do not push some tall trees near the field.', 'Gotoleri vusizunate zan pusimoka puliui nogapitu.')

Sentences are drawn from a seeded generator; validation sentences never occur in the training split.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SOURCE_LANG, TARGET_LANG = "en", "toy"
NUM_TRAIN, NUM_VAL = 20_000, 500

# English lemma -> (singular, plural); animate nouns can be subjects of every verb.
ANIMATE = {
    "dog": "dogs", "cat": "cats", "bird": "birds", "horse": "horses", "child": "children", "farmer": "farmers",
    "teacher": "teachers", "doctor": "doctors", "king": "kings", "girl": "girls", "boy": "boys", "fox": "foxes",
    "wolf": "wolves", "friend": "friends", "sister": "sisters", "baker": "bakers",
}
THINGS = {
    "ball": "balls", "book": "books", "apple": "apples", "house": "houses", "tree": "trees", "stone": "stones",
    "letter": "letters", "cup": "cups", "door": "doors", "boat": "boats", "window": "windows", "song": "songs",
    "key": "keys", "table": "tables", "basket": "baskets", "box": "boxes",
}
PLACES = ["garden", "forest", "city", "kitchen", "market", "school", "village", "field", "river", "bridge"]
ADJECTIVES = ["big", "small", "red", "old", "young", "happy", "green", "black", "white", "quiet", "tall", "heavy"]
# lemma -> (third person singular present, past)
TRANSITIVE = {
    "see": ("sees", "saw"), "find": ("finds", "found"), "take": ("takes", "took"), "carry": ("carries", "carried"),
    "like": ("likes", "liked"), "want": ("wants", "wanted"), "open": ("opens", "opened"), "buy": ("buys", "bought"),
    "hold": ("holds", "held"), "bring": ("brings", "brought"), "paint": ("paints", "painted"),
    "follow": ("follows", "followed"), "watch": ("watches", "watched"), "call": ("calls", "called"),
    "help": ("helps", "helped"), "push": ("pushes", "pushed"),
}
INTRANSITIVE = {
    "sleep": ("sleeps", "slept"), "run": ("runs", "ran"), "sing": ("sings", "sang"), "wait": ("waits", "waited"),
    "laugh": ("laughs", "laughed"), "sit": ("sits", "sat"), "dance": ("dances", "danced"), "work": ("works", "worked"),
}
PREPOSITIONS = ["in", "near", "behind", "under"]
# pronoun -> (person, plural)
PRONOUNS = {"I": (1, False), "you": (2, False), "he": (3, False), "she": (3, False), "we": (1, True), "they": (3, True)}

PLURAL = {"animate": "ri", "thing": "mo"}
DEFINITE = "na"
CASE = {"nom": "", "acc": "ka", "loc": "te"}
AGREEMENT = {("animate", False): "o", ("animate", True): "oi", ("thing", False): "u", ("thing", True): "ui"}
TENSE = {"present": "", "past": "ev", "future": "ul"}
PERSON = {(1, False): "m", (2, False): "s", (3, False): "t", (1, True): "mu", (3, True): "tu"}
NEGATION = "no"
_ONSETS = "b d g k l m p r s t v z".split()
_VOWELS = "a e i o u".split()


@dataclass
class Noun:
    lemma: str
    kind: str  # "animate" or "thing"
    plural: bool
    article: str  # "the", "a", "some" or "" (plural without article)
    adjectives: tuple[str, ...]


class ToyPair:
    """The two grammars and the shared lexicon; ``seed`` chooses the target stems (0 in every recipe)."""

    def __init__(self, seed: int = 0):
        rng = random.Random(f"toy-lexicon-{seed}")
        lemmas = [*ANIMATE, *THINGS, *PLACES, *ADJECTIVES, *TRANSITIVE, *INTRANSITIVE]
        syllables = [o + v for o in _ONSETS for v in _VOWELS]
        stems: set[str] = set()
        self.stem: dict[str, str] = {}
        for lemma in dict.fromkeys(lemmas):
            while True:
                stem = "".join(rng.choice(syllables) for _ in range(rng.choice((2, 2, 3))))
                if stem not in stems:
                    break
            stems.add(stem)
            self.stem[lemma] = stem
        words = [o + v + o2 for o in _ONSETS for v in _VOWELS for o2 in ("", "l", "n")]
        rng.shuffle(words)
        free = iter(w for w in words if w not in stems and len(w) >= 2)
        self.pronoun = {p: next(free) for p in PRONOUNS}
        self.postposition = {p: next(free) for p in PREPOSITIONS}

    # -- generation ---------------------------------------------------------------------------------------------
    def noun(self, rng: random.Random, kind: str, allow_plural: bool = True) -> Noun:
        table = ANIMATE if kind == "animate" else THINGS
        plural = allow_plural and rng.random() < 0.4
        article = rng.choice(("the", "some", "")) if plural else rng.choice(("the", "the", "a"))
        count = rng.choices((0, 1, 2), (0.45, 0.4, 0.15))[0]
        adjectives = tuple(rng.sample(ADJECTIVES, count))
        return Noun(rng.choice(list(table)), kind, plural, article, adjectives)

    def sentence(self, rng: random.Random) -> dict:
        """A random clause as its parts, which :meth:`english` and :meth:`toy` both render."""
        subject: Noun | str = rng.choice(list(PRONOUNS)) if rng.random() < 0.25 else self.noun(rng, "animate")
        transitive = rng.random() < 0.7
        verb = rng.choice(list(TRANSITIVE if transitive else INTRANSITIVE))
        obj = self.noun(rng, rng.choice(("animate", "thing", "thing"))) if transitive else None
        place = None
        if rng.random() < 0.35:
            place = (rng.choice(PREPOSITIONS), Noun(rng.choice(PLACES), "thing", False, "the", ()))
        return {"subject": subject, "verb": verb, "object": obj, "place": place,
                "tense": rng.choice(list(TENSE)), "negated": rng.random() < 0.25}

    def translate(self, parts: dict) -> tuple[str, str]:
        return self.english(parts), self.toy(parts)

    # -- English ------------------------------------------------------------------------------------------------
    @staticmethod
    def _english_noun(noun: Noun) -> str:
        table = ANIMATE if noun.kind == "animate" else THINGS
        word = table.get(noun.lemma, noun.lemma + "s") if noun.plural else noun.lemma
        article = noun.article
        if article == "a" and (noun.adjectives[0] if noun.adjectives else noun.lemma)[0] in "aeiou":
            article = "an"
        return " ".join(w for w in (article, *noun.adjectives, word) if w)

    def english(self, parts: dict) -> str:
        subject, verb, tense, negated = parts["subject"], parts["verb"], parts["tense"], parts["negated"]
        person, plural = PRONOUNS[subject] if isinstance(subject, str) else (3, subject.plural)
        third_singular = person == 3 and not plural
        forms = TRANSITIVE.get(verb) or INTRANSITIVE[verb]
        if tense == "future":
            words = ["will", "not", verb] if negated else ["will", verb]
        elif tense == "past":
            words = ["did", "not", verb] if negated else [forms[1]]
        elif negated:
            words = ["does" if third_singular else "do", "not", verb]
        else:
            words = [forms[0] if third_singular else verb]
        text = [subject if isinstance(subject, str) else self._english_noun(subject), *words]
        if parts["object"] is not None:
            text.append(self._english_noun(parts["object"]))
        if parts["place"] is not None:
            text += [parts["place"][0], self._english_noun(parts["place"][1])]
        sentence = " ".join(text)
        return sentence[0].upper() + sentence[1:] + "."

    # -- the generated language ---------------------------------------------------------------------------------
    def _toy_noun(self, noun: Noun, case: str) -> str:
        word = self.stem[noun.lemma] + (PLURAL[noun.kind] if noun.plural else "")
        word += (DEFINITE if noun.article == "the" else "") + CASE[case]
        agreement = AGREEMENT[noun.kind, noun.plural]
        return " ".join([word, *(self.stem[a] + agreement for a in noun.adjectives)])

    def toy(self, parts: dict) -> str:
        subject, verb = parts["subject"], parts["verb"]
        if isinstance(subject, str):
            words = [self.pronoun[subject]]
            person, plural = PRONOUNS[subject]
        else:
            words = [self._toy_noun(subject, "nom")]
            person, plural = 3, subject.plural
        if parts["place"] is not None:
            preposition, place = parts["place"]
            words += [self._toy_noun(place, "loc"), self.postposition[preposition]]
        if parts["object"] is not None:
            words.append(self._toy_noun(parts["object"], "acc"))
        words.append((NEGATION if parts["negated"] else "") + self.stem[verb] + TENSE[parts["tense"]]
                     + PERSON[person, plural])
        sentence = " ".join(words)
        return sentence[0].upper() + sentence[1:] + "."


def pairs(split: str, num_train: int = NUM_TRAIN, num_val: int = NUM_VAL, seed: int = 0) -> tuple[list[str], list[str]]:
    """English sentences and their translations for ``split`` (``val`` and ``test`` are the same held-out set)."""
    pair = ToyPair(0)
    held_out = _draw(pair, random.Random(f"toy-val-{seed}"), num_val, set())
    if split in ("val", "test"):
        chosen = held_out
    else:
        chosen = _draw(pair, random.Random(f"toy-train-{seed}"), num_train, {source for source, _ in held_out})
    return [s for s, _ in chosen], [t for _, t in chosen]


def _draw(pair: ToyPair, rng: random.Random, count: int, exclude: set[str]) -> list[tuple[str, str]]:
    seen, out = set(exclude), []
    for _ in range(50 * count + 100):
        if len(out) >= count:
            break
        source, target = pair.translate(pair.sentence(rng))
        if source not in seen:
            seen.add(source)
            out.append((source, target))
    return out
