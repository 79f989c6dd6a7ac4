"""Count every registered model's parameters by building it, and write them where ``zoo list`` reads them.

    python scripts/count_params.py            # rewrite zoo/model_params.json
    python scripts/count_params.py --check    # exit 1 when a count differs from the file

A model is counted as its recipe builds it on its problem's default dataset (the class count and input channels
come from that data); tests/test_models.py checks the same counts.
A model that builds only from weights it is given (``model.pretrained``, e.g. NLP's ``pretrained``) has the size of
those weights and is not counted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def count_all() -> dict[str, int]:
    sys.path.insert(0, str(REPO))
    from zoo import api, registry
    from zoo.errors import ConfigError
    from zoo.pretrained import reads_own_weights

    counts = {}
    for entry in registry.list_models():
        try:
            _, _, model = api.build_for_recipe(entry.task, entry.name)
        except ConfigError:
            if reads_own_weights(registry.load_object(entry.builder)):
                continue  # it builds only from the weights it is given (model.pretrained): their size is its size
            raise
        counts[f"{entry.task}/{entry.name}"] = sum(p.numel() for p in model.parameters())
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with zoo/model_params.json instead of writing")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from zoo.registry import PARAMS_FILE

    counts = count_all()
    if args.check:
        saved = json.loads(PARAMS_FILE.read_text()) if PARAMS_FILE.is_file() else {}
        differ = sorted(k for k in counts.keys() | saved.keys() if counts.get(k) != saved.get(k))
        print(f"{PARAMS_FILE}: " + (f"differs for {', '.join(differ)}" if differ else "up to date"))
        return 1 if differ else 0
    PARAMS_FILE.write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(counts)} counts to {PARAMS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
