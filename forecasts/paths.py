"""Where files are: the project's data files, the files an importer reads, the folders and
files an export writes.  Each check is made here once, with a one-line error a user can act on
(:class:`~forecasts.errors.InvalidInput`), so no importer or exporter meets a raw ``OSError``."""

from __future__ import annotations

import os
from pathlib import Path

from forecasts.errors import InvalidInput

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def data_file(name: str) -> Path:
    """A file shipped in the project's ``data/`` folder, or a clear error if it is missing."""
    path = DATA_DIR / name
    if not path.exists():
        raise InvalidInput(f"data file {path} is missing; run from a full clone of the project")
    return path


def is_folder(path: str | os.PathLike[str], cannot: str = "use") -> bool:
    """Whether ``path`` is a folder; one the system cannot even look at (too long a name, a
    path through a file it may not read) is a one-line error, not an ``OSError``: "cannot
    <cannot> <path>: <reason>", so a caller names what it was about to do."""
    p = Path(path)
    try:
        return p.is_dir()
    except OSError as exc:
        raise InvalidInput(f"cannot {cannot} {p}: {exc.strerror or exc}") from None


def is_there(path: str | os.PathLike[str], cannot: str = "use") -> bool:
    """Whether ``path`` exists, with :func:`is_folder`'s one-line error."""
    p = Path(path)
    try:
        return p.exists()
    except OSError as exc:
        raise InvalidInput(f"cannot {cannot} {p}: {exc.strerror or exc}") from None


def source_file(path: str | os.PathLike[str]) -> Path:
    """The file an importer reads: it must exist, be a file and be readable."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InvalidInput(f"{p} is a folder; give the file to import")
        if not p.exists():
            raise InvalidInput(f"no file {p}")
        with p.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {p}: {exc.strerror or exc}") from None
    return p


def output_folder(path: str | os.PathLike[str]) -> Path:
    """A folder an export writes into, created if needed; a file in its place is refused."""
    folder = Path(path)
    try:
        if folder.exists() and not folder.is_dir():
            raise InvalidInput(f"{folder} exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
    return folder


def output_file(path: str | os.PathLike[str]) -> Path:
    """A file an export writes, its folder created if needed; a folder in its place is refused."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InvalidInput(f"{p} is a folder; give a file name to write")
    except OSError as exc:
        raise InvalidInput(f"cannot write {p}: {exc.strerror or exc}") from None
    output_folder(p.parent)
    return p
