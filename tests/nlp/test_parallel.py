"""Each translation data format read from files written here in its upstream shape, and the embedded pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zoo.errors import ConfigError
from zoo.nlp import parallel, toy_language

PAIRS = [("Guten Morgen.", "Good morning."), ("Wo ist der Bahnhof?", "Where is the station?"),
         ("Ich habe Hunger.", "I am hungry."), ("Das Buch ist rot.", "The book is red.")]


def test_tatoeba_tsv_is_read_in_the_recipe_direction(tmp_path: Path) -> None:
    path = tmp_path / "tatoeba-test-v2021-08-07.deu-eng.txt"
    path.write_text("".join(f"deu\teng\t{de}\t{en}\n" for de, en in PAIRS), encoding="utf-8")
    forward = parallel.tatoeba("val", train=str(path), val=str(path), source_lang="deu", target_lang="eng")
    assert list(zip(forward.sources, forward.targets)) == PAIRS
    backward = parallel.tatoeba("val", train=str(path), val=str(path), source_lang="eng", target_lang="deu")
    assert backward.sources == [en for _, en in PAIRS] and backward.targets == [de for de, _ in PAIRS]


def test_tatoeba_without_language_columns_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text("".join(f"{de}\t{en}\n" for de, en in PAIRS), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"train.tsv:1: .*4 tab-separated columns.*language columns are missing"):
        parallel.tatoeba("train", root=str(tmp_path), source_lang="deu", target_lang="eng")


def test_moses_files_pair_by_line_and_use_dev_for_validation(tmp_path: Path) -> None:
    (tmp_path / "train.de").write_text("".join(de + "\n" for de, _ in PAIRS[:3]), encoding="utf-8")
    (tmp_path / "train.en").write_text("".join(en + "\n" for _, en in PAIRS[:3]), encoding="utf-8")
    (tmp_path / "dev.de").write_text(PAIRS[3][0] + "\n", encoding="utf-8")
    (tmp_path / "dev.en").write_text(PAIRS[3][1] + "\n", encoding="utf-8")
    train = parallel.moses("train", root=str(tmp_path), source_lang="de", target_lang="en")
    val = parallel.moses("val", root=str(tmp_path), source_lang="de", target_lang="en")
    assert list(zip(train.sources, train.targets)) == PAIRS[:3]
    assert list(zip(val.sources, val.targets)) == PAIRS[3:]
    (tmp_path / "dev.en").write_text("one\ntwo\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="dev.de has 1 lines but .*dev.en has 2"):
        parallel.moses("val", root=str(tmp_path), source_lang="de", target_lang="en")


def test_tmx_units_by_xml_lang_with_regional_codes(tmp_path: Path) -> None:
    units = "".join(
        f'<tu><tuv xml:lang="de-DE"><seg>{de}</seg></tuv><tuv xml:lang="en-GB"><seg>{en}</seg></tuv></tu>'
        for de, en in PAIRS
    )
    path = tmp_path / "memory.tmx"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?><tmx version="1.4"><header srclang="de" '
                    f'datatype="plaintext" segtype="sentence" adminlang="en" o-tmf="none" creationtool="test" '
                    f'creationtoolversion="1"/><body>{units}</body></tmx>', encoding="utf-8")
    data = parallel.tmx("val", train=str(path), val=str(path), source_lang="de", target_lang="en")
    assert list(zip(data.sources, data.targets)) == PAIRS
    with pytest.raises(ConfigError, match="no translation unit with both 'fr' and 'en'"):
        parallel.tmx("val", train=str(path), val=str(path), source_lang="fr", target_lang="en")


def test_jsonl_columns_csv_columns_and_hf_translation_records(tmp_path: Path) -> None:
    records = tmp_path / "train.jsonl"
    records.write_text("".join(json.dumps({"translation": {"de": de, "en": en}}) + "\n" for de, en in PAIRS))
    columns = tmp_path / "pairs.csv"
    columns.write_text("de,en\n" + "".join(f'"{de}","{en}"\n' for de, en in PAIRS), encoding="utf-8")
    for path in (records, columns):
        data = parallel.parallel_files("val", train=str(path), val=str(path), source_lang="de", target_lang="en")
        assert list(zip(data.sources, data.targets)) == PAIRS
    with pytest.raises(ConfigError, match="has no column 'fr' for language 'fr'; its columns are de, en"):
        parallel.parallel_files("val", train=str(columns), val=str(columns), source_lang="fr", target_lang="en")
    with pytest.raises(ConfigError, match="row 0 has no 'fr' in its translation record"):
        parallel.parallel_files("val", train=str(records), val=str(records), source_lang="fr", target_lang="en")


def test_an_empty_sentence_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"de": "Hallo.", "en": ""}) + "\n" + json.dumps({"de": "Ja.", "en": "Yes."}) + "\n")
    with pytest.raises(ConfigError, match="pair 0 has an empty target sentence"):
        parallel.parallel_files("train", train=str(path), val=str(path), source_lang="de", target_lang="en")


PO_HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


def _po(path: Path, entries: list[tuple[str, str]], extra: str = "") -> Path:
    path.write_text(PO_HEADER + "".join(f'msgid "{i}"\nmsgstr "{s}"\n\n' for i, s in entries) + extra,
                    encoding="utf-8")
    return path


def test_po_catalogues_join_on_msgid_leaving_out_fuzzy_and_untranslated(tmp_path: Path) -> None:
    de = _po(tmp_path / "de.po", [("Save", "Speichern"), ("Delete", "Löschen"), ("Cancel", "")],
             '#, fuzzy\nmsgid "Close"\nmsgstr "Schließen"\n\n'
             'msgid "%(count)s item"\nmsgid_plural "%(count)s items"\nmsgstr[0] "%(count)s Eintrag"\n'
             'msgstr[1] "%(count)s Einträge"\n\n')
    fr = _po(tmp_path / "fr.po", [("Save", "Enregistrer"), ("Delete", "Supprimer"), ("Cancel", "Annuler"),
                                  ("Close", "Fermer"), ("%(count)s item", "%(count)s élément")])
    pairs = parallel.po_pairs(de, fr)
    assert pairs == [("%(count)s Eintrag", "%(count)s élément"), ("Löschen", "Supprimer"),
                     ("Speichern", "Enregistrer")]
    english = parallel.po_pairs(fr, None)
    assert ("Cancel", "Annuler") in english and len(english) == 5
    train = parallel.po_files("train", source=str(de), target=str(fr), val_fraction=0.34)
    val = parallel.po_files("val", source=str(de), target=str(fr), val_fraction=0.34)
    assert len(val.sources) == 1 and sorted(train.sources + val.sources) == sorted(s for s, _ in pairs)


def test_the_embedded_pair_is_deterministic_and_its_validation_sentences_are_held_out() -> None:
    train = parallel.toy_pair("train", num_train=400, num_val=50)
    val = parallel.toy_pair("val", num_train=400, num_val=50)
    assert train == parallel.toy_pair("train", num_train=400, num_val=50)
    assert len(train.sources) == 400 and len(val.sources) == 50 and not set(train.sources) & set(val.sources)
    assert (train.source_lang, train.target_lang) == ("en", "toy")


def test_the_generated_grammar_is_verb_final_with_case_agreement_and_inflection() -> None:
    pair = toy_language.ToyPair(0)
    stem = pair.stem
    parts = {"subject": toy_language.Noun("farmer", "animate", True, "the", ("old",)), "verb": "find",
             "object": toy_language.Noun("key", "thing", False, "a", ("red",)),
             "place": ("near", toy_language.Noun("river", "thing", False, "the", ())), "tense": "past",
             "negated": True}
    english, toy = pair.translate(parts)
    assert english == "The old farmers did not find a red key near the river."
    expected = (f"{stem['farmer']}rina {stem['old']}oi {stem['river']}nate {pair.postposition['near']} "
                f"{stem['key']}ka {stem['red']}u no{stem['find']}evtu.")
    assert toy == expected[0].upper() + expected[1:]


def test_a_locale_tree_pairs_catalogues_of_the_same_name_and_the_script_writes_moses_files(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    for app, entries in (("conf", [("Save", "Speichern", "Enregistrer")]),
                         ("contrib/admin", [("Delete", "Löschen", "Supprimer"), ("Log out", "Abmelden", "")])):
        for lang, column in (("de", 1), ("fr", 2)):
            folder = tmp_path / "django" / app / "locale" / lang / "LC_MESSAGES"
            folder.mkdir(parents=True)
            _po(folder / "django.po", [(e[0], e[column]) for e in entries])
    pairs = parallel.po_tree_pairs(tmp_path / "django", "de", "fr")
    assert sorted(pairs) == [("Löschen", "Supprimer"), ("Speichern", "Enregistrer")]
    assert sorted(parallel.po_tree_pairs(tmp_path / "django", "msgid", "de")) == [
        ("Delete", "Löschen"), ("Log out", "Abmelden"), ("Save", "Speichern")]
    out = tmp_path / "moses"
    subprocess.run([sys.executable, str(REPO / "scripts" / "po_to_parallel.py"), str(tmp_path / "django"),
                    "--source-lang", "msgid", "--target-lang", "de", "--out", str(out), "--val-fraction", "0.34"],
                   check=True, capture_output=True)
    train = parallel.moses("train", root=str(out), source_lang="msgid", target_lang="de")
    val = parallel.moses("val", root=str(out), source_lang="msgid", target_lang="de")
    assert len(train.sources) == 2 and len(val.sources) == 1
    assert sorted(zip(train.sources + val.sources, train.targets + val.targets)) == [
        ("Delete", "Löschen"), ("Log out", "Abmelden"), ("Save", "Speichern")]
