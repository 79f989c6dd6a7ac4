"""``python -m zoo ...`` runs the same commands as the ``zoo`` console script."""

from zoo.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
