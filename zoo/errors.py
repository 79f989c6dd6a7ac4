"""Errors a user can act on: each names the problem and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def root_cause(error: BaseException) -> str:
    """``Type: message`` of the innermost exception that caused ``error``, on one line: a library's wrapper
    ("DatasetGenerationError: An error occurred...") hides the cause a user can act on."""
    seen = {id(error)}
    while (inner := error.__cause__ or error.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        error = inner
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class ZooError(Exception):
    """Base class for errors whose message is meant for the user, not a traceback."""


class UnknownNameError(ZooError, KeyError):
    """A task, model, dataset, recipe or option name that does not exist."""

    def __init__(self, kind: str, name: str, valid: Iterable[str], where: str = ""):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        close = difflib.get_close_matches(name, self.valid, n=3, cutoff=0.5)
        place = f" {where}" if where else ""
        message = f"unknown {kind} {name!r}{place}."
        if close:
            message += f" Did you mean {', '.join(repr(c) for c in close)}?"
        message += f" Valid {kind}s: {', '.join(self.valid) or '(none)'}."
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class ConfigError(ZooError, ValueError):
    """A recipe or command-line override that does not fit the schema."""


class DatasetNotFoundError(ZooError, FileNotFoundError):
    """Dataset files are absent and cannot be downloaded; the message says where they go."""


class NonFiniteLossError(ZooError, FloatingPointError):
    """Training produced a NaN or infinite loss."""


class CheckpointError(ZooError, ValueError):
    """A checkpoint is missing, incomplete or does not fit the model."""


class CatalogError(ZooError, ValueError):
    """A checkpoint catalog that cannot be read, or an entry that breaks its schema."""


class DownloadError(ZooError, OSError):
    """No source of a checkpoint could be downloaded; the message lists what each source answered."""


class OfflineError(DownloadError):
    """Offline (``ZOO_OFFLINE=1``) and the file is not in the cache; the message names the file and the mirror option."""


class HashMismatchError(DownloadError):
    """A downloaded file is not the one the catalog describes; nothing was kept in the cache."""


class UnsafeFileError(ZooError, ValueError):
    """A file would run code when loaded (a pickle payload) or an archive would write outside its folder."""


class WeightsMismatchError(CheckpointError):
    """Pretrained weights do not fit the model built; the message names the keys."""


class ExportError(ZooError, RuntimeError):
    """An exported model could not be written, or its outputs differ from PyTorch's."""


class HeadReinitializedWarning(UserWarning):
    """Pretrained weights were loaded except for a classifier head of another size, which starts from scratch."""


class MissingExtraError(ZooError, ImportError):
    """A feature needs an optional dependency that is not installed; the message gives the pip command."""

    def __init__(self, feature: str, extra: str, package: str):
        super().__init__(
            f"{feature} need {package}, which is not installed: pip install 'zoo[{extra}]' "
            f"(from a clone: pip install -e \".[{extra}]\")"
        )
