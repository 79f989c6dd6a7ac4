"""Regenerate the built-in checkpoint catalog from the installed libraries' own weights metadata.

    python scripts/build_catalog.py            # rewrite zoo/hub/builtin_catalog.json
    python scripts/build_catalog.py --check    # exit 1 if the file differs from what would be written now

What is generated and why is described in ``zoo/upstream.py``; tests/hub/test_catalog.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()

    from zoo.hub.catalog import BUILTIN
    from zoo.upstream import generate
    from zoo.io import atomic_write_text

    text = json.dumps(generate(), indent=1) + "\n"
    if args.check:
        same = BUILTIN.read_text() == text
        print(f"{BUILTIN}: {'up to date' if same else 'differs; run python scripts/build_catalog.py'}")
        return 0 if same else 1
    atomic_write_text(BUILTIN, text)
    entries = json.loads(text)["checkpoints"]
    print(f"wrote {BUILTIN}: {len(entries)} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
