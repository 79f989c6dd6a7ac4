"""Writers of MovieLens files in the exact upstream formats, from a log of raw ids, for the parser tests."""

from __future__ import annotations

from pathlib import Path

GENRES_1M = ("Action", "Comedy", "Drama", "Sci-Fi", "Children's", "Film-Noir")


def sample_log(num_users: int = 6, num_items: int = 5) -> list[tuple[int, int, float, int]]:
    """(user, item, rating, timestamp) rows: every user rates a few items, ids not contiguous."""
    rows = []
    for u in range(num_users):
        for j in range(2 + u % 3):
            item = (u * 3 + j * 7) % num_items
            rows.append((10 + 5 * u, 100 + 2 * item, float(1 + (u + j) % 5), 880_000_000 + 1000 * u + 37 * j))
    return rows


def titles(num_items: int = 5) -> dict[int, str]:
    names = ["Toy Story (1995)", "Café Society (1997)", "Amélie (2001)", "Heat (1995)", "Señor Nobody (1999)"]
    return {100 + 2 * i: names[i % len(names)] for i in range(num_items)}


def write_ml100k(folder: Path, rows: list, names: dict[int, str], users: list[int] | None = None) -> Path:
    """u.data (tab), u.item (pipe, latin-1, 24 fields), u.user (pipe)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{int(r)}\t{t}\n" for u, i, r, t in rows))
    lines = []
    for k, (item, title) in enumerate(sorted(names.items())):
        flags = ["0"] * 19
        flags[1 + k % 18] = "1"
        flags[1 + (k + 3) % 18] = "1"
        release = f"01-Jan-{title[-5:-1]}"
        lines.append("|".join([str(item), title, release, "", f"http://us.imdb.com/M/title-exact?{item}", *flags]))
    (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    users = users if users is not None else sorted({u for u, *_ in rows})
    occupations = ["engineer", "writer", "student"]
    (folder / "u.user").write_text("".join(
        f"{u}|{20 + u % 40}|{'MF'[u % 2]}|{occupations[u % 3]}|{10000 + u:05d}\n" for u in users
    ))
    return folder


def write_ml1m(folder: Path, rows: list, names: dict[int, str], with_users: bool = True) -> Path:
    """ratings.dat, movies.dat (latin-1), users.dat: ``::`` separated."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text("".join(f"{u}::{i}::{int(r)}::{t}\n" for u, i, r, t in rows))
    movies = [f"{item}::{title}::{GENRES_1M[k % 6]}|{GENRES_1M[(k + 2) % 6]}"
              for k, (item, title) in enumerate(sorted(names.items()))]
    (folder / "movies.dat").write_bytes(("\n".join(movies) + "\n").encode("latin-1"))
    if with_users:
        ages = [1, 18, 25, 35, 45, 50, 56]
        (folder / "users.dat").write_text("".join(
            f"{u}::{'MF'[u % 2]}::{ages[u % 7]}::{u % 21}::{10000 + u}\n" for u in sorted({u for u, *_ in rows})
        ))
    return folder


def write_ml_csv(folder: Path, rows: list, names: dict[int, str]) -> Path:
    """ratings.csv and movies.csv as in ml-latest-small and ml-25m (header, quoted titles with commas)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "".join(
        f"{u},{i},{r - 0.5 if r > 1 else r:.1f},{t}\n" for u, i, r, t in rows
    ))
    lines = ["movieId,title,genres"]
    for k, (item, title) in enumerate(sorted(names.items())):
        quoted = f'"{title.replace(" (", ", The (", 1)}"' if k == 0 else title
        genres = "(no genres listed)" if k == 1 else f"{GENRES_1M[k % 6]}|{GENRES_1M[(k + 1) % 6]}"
        lines.append(f"{item},{quoted},{genres}")
    (folder / "movies.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
