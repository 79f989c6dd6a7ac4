"""Input files a user names (predict's images and recordings, a dataset's files): a directory, a missing path, an
image PIL cannot decode and a decompression bomb each end in one line that names the file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zoo.errors import ZooError


def input_file(path: str | Path, kind: str = "image") -> Path:
    """``path`` when it is a file; a directory is told apart from a path that does not exist."""
    path = Path(path)
    if path.is_dir():
        raise ZooError(f"{kind} {str(path)!r} is a directory, not a file: pass the files in it (e.g. {path}/*)")
    if not path.is_file():
        raise ZooError(f"{kind} {str(path)!r} does not exist")
    return path


@contextlib.contextmanager
def open_image(path: str | Path) -> Iterator[Any]:
    """``PIL.Image.open`` of an input file, decoded inside the block: a truncated or foreign file, or one whose size
    passes PIL's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``), fails in one line naming it."""
    from PIL import Image

    file = input_file(path)
    try:
        with Image.open(file) as image:
            yield image
    except Image.DecompressionBombError as error:
        raise ZooError(f"{file} is refused: {error} Resize it, or raise PIL.Image.MAX_IMAGE_PIXELS if you trust "
                       "the file") from error
    except (OSError, ValueError, SyntaxError) as error:  # PIL raises SyntaxError for some broken headers
        raise ZooError(f"{file} is not a readable image: {error}") from error
