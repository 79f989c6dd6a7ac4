"""Turn two languages' gettext catalogues into a Moses-style parallel set that zoo's translation task reads.

    pip download --no-deps django -d /tmp/dj && unzip -q /tmp/dj/Django-*.whl -d /tmp/dj/x
    python scripts/po_to_parallel.py /tmp/dj/x/django --source-lang de --target-lang fr --out /tmp/po-de-fr
    python -m zoo.train --task nlp --problem translation --dataset moses data.args.root=/tmp/po-de-fr \
        data.args.source_lang=de data.args.target_lang=fr

Messages both catalogues translate (not fuzzy, not obsolete) are joined on their msgid and context; the singular
form of a plural message is used; ``--target`` alone (give one file) pairs the msgids, the programme's own language,
with its translations. A directory pairs every ``<source>/LC_MESSAGES/NAME.po`` under it with the target's
catalogue of the same name and place (all of Django's apps; ``--source-lang msgid`` for English). A seeded ``--val-fraction`` of the messages goes to ``dev.*``. Messages spanning several lines
are joined into one (Moses files hold one sentence a line). The dataset ``po_files`` reads the catalogues directly.
Needs polib (``pip install 'zoo[po]'``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.errors import ZooError  # noqa: E402
from zoo.nlp.parallel import _hold_out, po_pairs, po_tree_pairs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("catalogues", nargs="+", metavar="FILE.po",
                        help="source then target catalogue, one catalogue, or one directory of locales")
    parser.add_argument("--source-lang", required=True)
    parser.add_argument("--target-lang", required=True)
    parser.add_argument("--out", required=True, help="directory for train.SRC, train.TGT, dev.SRC, dev.TGT")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if len(args.catalogues) > 2:
        parser.error("give one catalogue (msgid -> msgstr) or two (source, target)")
    try:
        files = [Path(p) for p in args.catalogues]
        if len(files) == 1 and files[0].is_dir():
            pairs = po_tree_pairs(files[0], args.source_lang, args.target_lang)
        else:
            pairs = po_pairs(files[0], files[1] if len(files) == 2 else None)
        pairs = [(" ".join(s.split()), " ".join(t.split())) for s, t in pairs]
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for split, name in (("train", "train"), ("val", "dev")):
            chosen = _hold_out(pairs, split, args.val_fraction, args.seed)
            for index, lang in ((0, args.source_lang), (1, args.target_lang)):
                (out / f"{name}.{lang}").write_text("".join(p[index] + "\n" for p in chosen), encoding="utf-8")
            print(f"{out / name}.{{{args.source_lang},{args.target_lang}}}: {len(chosen)} pairs")
    except ZooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
