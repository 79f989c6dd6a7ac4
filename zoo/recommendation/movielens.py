"""MovieLens in its upstream formats (GroupLens releases), and a generic interactions file for your own data.

=================  =====================================================  ======================================
dataset            files (in ``root``)                                     format
=================  =====================================================  ======================================
ml100k             u.data, u.item, u.user                                 tab / pipe separated, latin-1 titles
ml1m               ratings.dat, movies.dat [, users.dat]                  ``::`` separated, latin-1 titles
ml_latest_small    ratings.csv, movies.csv                                CSV with a header, UTF-8
ml25m              ratings.csv, movies.csv                                as ml_latest_small
interactions       one CSV/TSV/Parquet file, column names configurable
=================  =====================================================  ======================================

The ml1m reader also reads ml-10m (no users.dat); the CSV reader also reads ml-20m, ml-32m and ml-latest. Titles,
genres, release years and (where the release has them) user age, gender and occupation become side features.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.paths import data_dir, download_hint
from zoo.recommendation.interactions import Features, Interactions, RecSplit, check_split, from_raw, split_mask

URL = "https://files.grouplens.org/datasets/movielens/{folder}.zip"
GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
_YEAR = re.compile(r"\((\d{4})\)\s*$")

# dataset name -> (upstream folder, required files, reader)
_RELEASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ml100k": ("ml-100k", ("u.data", "u.item", "u.user")),
    "ml1m": ("ml-1m", ("ratings.dat", "movies.dat")),
    "ml_latest_small": ("ml-latest-small", ("ratings.csv", "movies.csv")),
    "ml25m": ("ml-25m", ("ratings.csv", "movies.csv")),
}


def _pandas():
    import pandas

    return pandas


# -- readers of each release -------------------------------------------------------------------------------------


def read_ml100k(folder: Path) -> Interactions:
    pd = _pandas()
    ratings = _ratings(folder / "u.data", "\t", ["user", "item", "rating", "timestamp"])
    columns = ["item", "title", "release", "video_release", "url", *GENRES_100K]
    movies = pd.read_csv(folder / "u.item", sep="|", header=None, names=columns, encoding="latin-1")
    users = pd.read_csv(folder / "u.user", sep="|", header=None, names=["user", "age", "gender", "occupation", "zip"])
    log, user_raw, item_raw = _log(ratings, movies)
    movies = movies.set_index(movies["item"].astype(str)).reindex(item_raw)
    genres = [[g for g in GENRES_100K if row[g] == 1] for _, row in movies.iterrows()]
    years = movies["release"].astype(str).str.extract(r"(\d{4})\s*$")[0].astype(float).to_numpy()
    users = users.set_index(users["user"].astype(str)).reindex(user_raw)
    log.features = _features(
        log.num_users, genres, list(GENRES_100K), years,
        user_dense={"age": users["age"].to_numpy(float)},
        user_sparse={"gender": users["gender"].to_numpy(), "occupation": users["occupation"].to_numpy()},
    )
    return log


def read_ml1m(folder: Path) -> Interactions:
    ratings = _ratings(folder / "ratings.dat", "::", ["user", "item", "rating", "timestamp"])
    movies = _read_double_colon(folder / "movies.dat", ["item", "title", "genres"])
    log, user_raw, item_raw = _log(ratings, movies)
    movies = movies.set_index(movies["item"].astype(str)).reindex(item_raw)
    user_sparse = {}
    if (folder / "users.dat").is_file():
        users = _read_double_colon(folder / "users.dat", ["user", "gender", "age", "occupation", "zip"])
        users = users.set_index(users["user"].astype(str)).reindex(user_raw)
        user_sparse = {name: users[name].to_numpy() for name in ("gender", "age", "occupation")}
    genres, vocabulary = _split_genres(movies["genres"])
    log.features = _features(log.num_users, genres, vocabulary, _years(movies["title"]), user_sparse=user_sparse)
    return log


def read_ml_csv(folder: Path) -> Interactions:
    pd = _pandas()
    ratings = _ratings(folder / "ratings.csv", ",", None)
    movies = pd.read_csv(folder / "movies.csv", encoding="utf-8").rename(columns={"movieId": "item"})
    log, _, item_raw = _log(ratings, movies)
    movies = movies.set_index(movies["item"].astype(str)).reindex(item_raw)
    genres, vocabulary = _split_genres(movies["genres"], missing="(no genres listed)")
    log.features = _features(log.num_users, genres, vocabulary, _years(movies["title"]))
    return log


def _read_double_colon(path: Path, names: list[str]):
    """``::``-separated latin-1 text, read with pandas' C parser by mapping ``::`` to a tab first."""
    import io

    text = path.read_bytes().decode("latin-1").replace("::", "\t")
    return _pandas().read_csv(io.StringIO(text), sep="\t", header=None, names=names, quoting=3)


def _ratings(path: Path, sep: str, names: list[str] | None) -> tuple[dict[str, np.ndarray], list[str]]:
    """A release's ratings file, its malformed lines counted (and skipped, or the file refused: zoo.recommendation.rows);
    ``names``: a file without a header (u.data, ratings.dat), else the CSV releases' userId, movieId, rating, timestamp."""
    import io

    from zoo.recommendation import rows

    if sep == "::":  # mapped to a tab first, so that pandas' C parser reads it
        source: Any = io.StringIO(path.read_bytes().decode("latin-1").replace("::", "\t"))
        sep, options = "\t", {"quoting": 3}
    else:
        source, options = path, {}
    user, item = ("user", "item") if names else ("userId", "movieId")
    try:
        return rows.load(source, path.name, sep, names, user, item, "rating", "timestamp", numeric_ids=True,
                         rating_range=(0.5, 5.0), **options)
    except KeyError as missing:
        raise ConfigError(f"{path} has no column {missing.args[0]!r}; the ratings file of a MovieLens release has "
                          f"{user}, {item}, rating and timestamp") from None


def _log(ratings: tuple[dict[str, np.ndarray], list[str]], movies) -> tuple[Interactions, np.ndarray, np.ndarray]:
    from zoo.recommendation.rows import describe

    columns, skipped = ratings
    titles = dict(zip(movies["item"].astype(str), movies["title"].fillna("").astype(str)))
    log, user_raw, item_raw = from_raw(columns["user"], columns["item"], columns["rating"].astype(np.float32),
                                       columns["timestamp"], titles)
    log.skipped = describe(skipped, skipped[0].split(":")[0] if skipped else "")
    return log, user_raw, item_raw


def _split_genres(column, missing: str = "") -> tuple[list[list[str]], list[str]]:
    genres = [[g for g in str(v).split("|") if g and g != missing] if isinstance(v, str) else [] for v in column]
    return genres, sorted({g for row in genres for g in row})


def _years(titles) -> np.ndarray:
    return np.array([float(m.group(1)) if (m := _YEAR.search(str(t))) else np.nan for t in titles])


def _standardise(values: np.ndarray) -> torch.Tensor:
    values = np.asarray(values, dtype=np.float64)
    filled = np.where(np.isfinite(values), values, np.nanmean(values) if np.isfinite(values).any() else 0.0)
    std = filled.std()
    return torch.from_numpy((filled - filled.mean()) / (std if std > 0 else 1.0)).float()


def _categories(values: np.ndarray) -> tuple[torch.Tensor, int]:
    """Category indices, with missing values (users absent from the user file) as one more category."""
    strings = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values])
    unique, inverse = np.unique(strings, return_inverse=True)
    return torch.from_numpy(inverse.astype(np.int64)), len(unique)


def _features(
    num_users: int,
    genres: list[list[str]],
    vocabulary: list[str],
    years: np.ndarray,
    user_dense: dict[str, np.ndarray] | None = None,
    user_sparse: dict[str, np.ndarray] | None = None,
) -> Features:
    user_dense, user_sparse = user_dense or {}, user_sparse or {}
    num_items = len(genres)
    index = {g: i for i, g in enumerate(vocabulary)}
    width = max((len(row) for row in genres), default=0)
    bags = torch.full((num_items, width), len(vocabulary), dtype=torch.int64)
    for i, row in enumerate(genres):
        bags[i, : len(row)] = torch.tensor([index[g] for g in row], dtype=torch.int64)
    sparse = [_categories(v) for v in user_sparse.values()]
    return Features(
        user_dense=torch.stack([_standardise(v) for v in user_dense.values()], 1) if user_dense
        else torch.zeros(num_users, 0),
        item_dense=_standardise(years)[:, None],
        user_sparse=torch.stack([s for s, _ in sparse], 1) if sparse else torch.zeros(num_users, 0, dtype=torch.int64),
        item_sparse=torch.zeros(num_items, 0, dtype=torch.int64),
        item_bags=bags,
        user_cardinalities=[c for _, c in sparse],
        bag_cardinality=len(vocabulary),
        names={"user_dense": list(user_dense), "item_dense": ["year"], "user_sparse": list(user_sparse),
               "item_sparse": [], "item_bags": ["genres"]},
    )


_OPTIONAL = {"ml1m": ("users.dat",)}
_READERS = {"ml100k": read_ml100k, "ml1m": read_ml1m, "ml_latest_small": read_ml_csv, "ml25m": read_ml_csv}


# -- finding and downloading the files ----------------------------------------------------------------------------


def locate(name: str, root: str | None, download: bool) -> Path:
    """The folder holding ``name``'s files; missing files are downloaded when asked, else explained."""
    upstream, required = _RELEASES[name]
    folder = Path(root).expanduser() if root is not None else data_dir() / upstream
    missing = [f for f in required if not (folder / f).is_file()]
    if missing and download:
        _download(URL.format(folder=upstream), upstream, folder)
        missing = [f for f in required if not (folder / f).is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"{name} files not found: {folder} must hold {', '.join(required)} (missing: {', '.join(missing)}). "
            f"Download {URL.format(folder=upstream)} and unzip it so that its {upstream}/ folder is {folder} "
            f"(or set data.args.root to where it is){download_hint(download)}"
        )
    return folder


def _download(url: str, upstream: str, folder: Path) -> None:
    from zoo.hub.safety import safe_extract

    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{upstream}.") as tmp:
        archive = Path(tmp) / f"{upstream}.zip"
        try:
            with urllib.request.urlopen(url, timeout=60) as response, archive.open("wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as error:
            message = f"downloading {url} failed ({error}); download it by hand into {folder}"
            raise DatasetNotFoundError(message) from error
        safe_extract(archive, Path(tmp) / "x", "zip")
        inner = Path(tmp) / "x" / upstream
        source = inner if inner.is_dir() else Path(tmp) / "x"
        folder.mkdir(parents=True, exist_ok=True)
        for path in source.iterdir():
            target = folder / path.name
            if not target.exists():
                shutil.move(str(path), target)


def stamp(*paths: Path) -> tuple[tuple[int, int], ...]:
    """Size and modification time of files, so cached reads of a file that changed are not reused."""
    return tuple((p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else (-1, -1) for p in paths)


@lru_cache(maxsize=4)
def _read(name: str, folder: str, min_rating: float | None, version: tuple = ()) -> Interactions:
    log = _READERS[name](Path(folder))
    if min_rating is not None:
        keep = log.ratings >= min_rating
        if not bool(keep.any()):
            raise ConfigError(f"no interaction of {name} has a rating >= {min_rating}")
        log.users, log.items, log.ratings, log.timestamps = (t[keep] for t in (log.users, log.items, log.ratings,
                                                                             log.timestamps))
    return log


@lru_cache(maxsize=8)
def _mask(name: str, folder: str, min_rating: float | None, version: tuple, split_by: str, val_fraction: float,
          seed: int) -> torch.Tensor:
    return split_mask(_read(name, folder, min_rating, version), split_by, val_fraction, seed)


def _movielens(name: str, split: str, root: str | None, download: bool, split_by: str, val_fraction: float,
               seed: int, min_rating: float | None) -> RecSplit:
    check_split(split, name)
    folder = locate(name, root, download)
    version = stamp(*(folder / f for f in (*_RELEASES[name][1], *_OPTIONAL.get(name, ()))))
    log = _read(name, str(folder), min_rating, version)
    if name == "ml100k" and split_by in OFFICIAL_SPLITS:
        files = (folder / f"{split_by}.base", folder / f"{split_by}.test")
        mask = _official_mask(str(folder), min_rating, version + stamp(*files), split_by)
    else:
        mask = _mask(name, str(folder), min_rating, version, split_by, float(val_fraction), seed)
    return RecSplit(log, mask, split, name)


# ml-100k's own splits: u1-u5 (five disjoint 20% test sets, for 5-fold cross-validation) and ua/ub (ten ratings
# of every user in the test set), each a .base and a .test file of u.data's rows.
OFFICIAL_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


@lru_cache(maxsize=8)
def _official_mask(folder: str, min_rating: float | None, version: tuple, name: str) -> torch.Tensor:
    """True for the rows of ``name.test``; every row of the log must be in exactly one of ``.base`` and ``.test``."""
    log = _read("ml100k", folder, min_rating, version[:-2])
    parts = {}
    for kind in ("base", "test"):
        path = Path(folder) / f"{name}.{kind}"
        if not path.is_file():
            raise DatasetNotFoundError(f"{path} not found: ml-100k's split {name} is {name}.base and {name}.test "
                                       f"beside u.data (both are in ml-100k.zip)")
        rows = _pandas().read_csv(path, sep="\t", header=None, names=["user", "item", "rating", "timestamp"])
        parts[kind] = set(zip(rows["user"].astype(str), rows["item"].astype(str), rows["timestamp"].astype(int)))
    keys = list(zip(log.user_map.decode(log.users), log.item_map.decode(log.items), log.timestamps.tolist()))
    mask = torch.tensor([key in parts["test"] for key in keys], dtype=torch.bool)
    unplaced = [key for key, held in zip(keys, mask.tolist()) if not held and key not in parts["base"]]
    if unplaced or not bool(mask.any()):
        raise ConfigError(f"{name}.base and {name}.test in {folder} do not split u.data ({len(unplaced)} rows of "
                          f"u.data in neither, e.g. {unplaced[:1]}); they must come from the same ml-100k release")
    return mask


def ml100k(split: str, root: str | None = None, download: bool = False, split_by: str = "random",
           val_fraction: float = 0.2, seed: int = 0, min_rating: float | None = None) -> RecSplit:
    """MovieLens 100K: 100,000 ratings (1-5) by 943 users of 1,682 movies, with user demographics.

    ``split_by=u1`` ... ``u5``, ``ua`` or ``ub`` trains on the release's ``u1.base`` and evaluates on ``u1.test``
    (exactly those rows); otherwise ``random``, ``leave_last_out`` or ``temporal`` as for every log."""
    if split_by not in OFFICIAL_SPLITS and split_by not in ("random", "leave_last_out", "temporal"):
        raise ConfigError(f"unknown split_by {split_by!r} for ml100k; choose one of random, leave_last_out, "
                          f"temporal, or the release's own splits {', '.join(OFFICIAL_SPLITS)}")
    return _movielens("ml100k", split, root, download, split_by, val_fraction, seed, min_rating)


def ml1m(split: str, root: str | None = None, download: bool = False, split_by: str = "random",
         val_fraction: float = 0.2, seed: int = 0, min_rating: float | None = None) -> RecSplit:
    """MovieLens 1M: 1,000,209 ratings by 6,040 users of 3,706 movies, with user demographics."""
    return _movielens("ml1m", split, root, download, split_by, val_fraction, seed, min_rating)


def ml_latest_small(split: str, root: str | None = None, download: bool = False, split_by: str = "random",
                    val_fraction: float = 0.2, seed: int = 0, min_rating: float | None = None) -> RecSplit:
    """MovieLens latest-small: about 100,000 half-star ratings by 610 users of 9,700 movies."""
    return _movielens("ml_latest_small", split, root, download, split_by, val_fraction, seed, min_rating)


def ml25m(split: str, root: str | None = None, download: bool = False, split_by: str = "random",
          val_fraction: float = 0.2, seed: int = 0, min_rating: float | None = None) -> RecSplit:
    """MovieLens 25M: 25,000,095 half-star ratings by 162,541 users of 59,047 movies."""
    return _movielens("ml25m", split, root, download, split_by, val_fraction, seed, min_rating)
