"""Integrity of saved model folders: a SHA-256 of every file, written on save, checked on load.

``checksums.json`` lists each file of the folder and its hash. Loading refuses a folder whose
files are missing, truncated, changed or unlisted with one :class:`ModelFormatError` that names
the file and the fix; the parsers then turn any remaining defect (a field missing, a wrong type)
into the same error. This catches corruption and edits; it is not a signature (anyone who can
write the folder can recompute the hashes).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from synthscape.errors import ModelFormatError
from synthscape.io import sha256

CHECKSUMS = "checksums.json"
T = TypeVar("T")


@contextmanager
def writing(folder: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``folder`` to write a model into; on success add
    ``checksums.json``, give it the mode a ``mkdir`` would, and rename it into place (an
    existing ``folder`` is replaced). A failure leaves nothing behind."""
    import shutil
    import tempfile

    from synthscape.io import public_mode

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield tmp
        write_checksums(tmp)
        public_mode(tmp)  # mkdtemp makes 0700
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_checksums(folder: str | Path) -> Path:
    """Hash every file under ``folder`` (except the checksum file) into ``checksums.json``."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS)
    sums = {p.relative_to(folder).as_posix(): sha256(p) for p in files}
    out = folder / CHECKSUMS
    out.write_text(json.dumps({"sha256": sums}, indent=1, sort_keys=True) + "\n")
    return out


def verify_checksums(folder: str | Path, *, what: str = "saved model") -> None:
    """Raise :class:`ModelFormatError` unless every file matches ``checksums.json``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFormatError(f"{folder} is not a folder; pass the folder that save() wrote")
    listing = folder / CHECKSUMS
    if not listing.is_file():
        raise ModelFormatError(f"{listing} is missing: {folder} is not a complete {what} "
                               f"(save it again with this version of synthscape)")
    try:
        sums = json.loads(listing.read_text())["sha256"]
        if not isinstance(sums, dict):
            raise TypeError("not a mapping")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelFormatError(f"{listing} is not a valid checksum list ({exc}); save the "
                               f"model again") from None
    for name, digest in sorted(sums.items()):
        p = folder / name
        if not p.is_file():
            raise ModelFormatError(f"{p} is missing from the {what}; copy the whole folder "
                                   f"or save the model again")
        if sha256(p) != digest:
            raise ModelFormatError(f"{p} does not match its checksum in {CHECKSUMS}: the file "
                                   f"was changed or truncated after saving; restore it or save "
                                   f"the model again")
    extra = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and p.name != CHECKSUMS
                   and p.relative_to(folder).as_posix() not in sums)
    if extra:
        raise ModelFormatError(f"{folder} holds files that were not saved with the model: "
                               f"{extra}; remove them")


@contextmanager
def reading(path: str | Path) -> Iterator[None]:
    """Turn any parse error while reading a verified folder into one ModelFormatError."""
    try:
        yield
    except ModelFormatError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, OSError, EOFError) as exc:
        kind = type(exc).__name__
        raise ModelFormatError(f"{path}: the saved content is not valid ({kind}: {exc}); save "
                               f"the model again with this version of synthscape") from None


def load_verified(folder: str | Path, parse: Callable[[Path], T], *, what: str = "saved model"
                  ) -> T:
    """``verify_checksums`` then ``parse(folder)`` with parse errors as ModelFormatError."""
    folder = Path(folder)
    verify_checksums(folder, what=what)
    with reading(folder):
        return parse(folder)
