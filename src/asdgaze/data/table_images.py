"""The images a fixation table may name, and the stimulus id each name means.

An image directly in the images folder is named by its file name (``17.png``) or stem (``17``)
and has the stem as id, as always. An image in a sub-folder is named by its path inside the folder
(``a/17.png`` or ``a/17``; ``\\`` also separates, ``./`` parts are ignored) and has that path
without the extension as id (``a/17``), so ``a/17.png``, ``b/17.png`` and ``17.png`` are three
images. Sub-folders are read only where the table names them: a flat folder gives the ids it
always gave. Names that leave the folder (absolute, a drive, ``..``) are refused.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from asdgaze.data._checks import (check_some_stimuli, image_files, read_stimuli, read_stimulus,
                                  stimulus_sort_key)
from asdgaze.data.errors import DataError
from asdgaze.data.types import Stimulus

__all__ = ["TableImages"]


class TableImages:
    """Stimuli of an images folder, read as a table names them (see the module docstring)."""

    def __init__(self, folder: Path, max_pixels: int | None = None) -> None:
        self.folder = folder
        self.max_pixels = max_pixels
        self.stimuli, self.unreadable, self.notes = read_stimuli(folder, "images folder", max_pixels=max_pixels,
                                                                 allow_empty=True)
        self._listings: dict[str, tuple[dict[str, Path], dict[str, list[Path]]]] = {}
        self._ids: dict[str, str | None] = {}  # name in the table -> id (a table repeats its names)
        self._nested = False
        self._files: dict[tuple[int, int], str] | None = None  # (device, inode) -> id
        if not self.stimuli and not self._has_sub_folders():  # fail before the table is read, as ever
            check_some_stimuli(folder, "images folder", self.stimuli, self.unreadable)

    def _has_sub_folders(self) -> bool:
        try:
            return any(p.is_dir() for p in self.folder.iterdir())
        except OSError:
            return False

    def _listing(self, sub: str) -> tuple[dict[str, Path], dict[str, list[Path]]]:
        """(file name -> path, stem -> paths) of the images directly in ``folder/sub``."""
        if sub not in self._listings:
            try:
                d = self.folder / sub if sub else self.folder
                files = image_files(d) if d.is_dir() else []
            except (OSError, ValueError):  # unlistable, or a name the OS refuses (a NUL byte)
                files = []
            stems: dict[str, list[Path]] = {}
            for p in files:
                stems.setdefault(p.stem, []).append(p)
            self._listings[sub] = ({p.name: p for p in files}, stems)
        return self._listings[sub]

    def resolve(self, name: str, where: str) -> str | None:
        """The id of the image ``name`` means, or None when there is no such image.

        ``where`` ("<table>: line N") starts the DataError for a name that leaves the folder or
        names two images of one sub-folder by their common stem.
        """
        if name in self._ids:
            return self._ids[name]
        for pure in (PurePosixPath(name), PureWindowsPath(name)):
            if pure.is_absolute() or pure.drive or pure.root or ".." in pure.parts:
                raise DataError(
                    f"{where}: image {name[:80]!r} points outside the images folder {self.folder} (absolute "
                    "path or '..'); name images by file name (17.png), stem (17) or a path inside the folder "
                    "(sub/17.png)")
        parts = PureWindowsPath(name).parts  # splits on '/' and '\', drops '.' parts
        sid = None
        if parts:
            sub, leaf = "/".join(parts[:-1]), parts[-1]
            by_name, by_stem = self._listing(sub)
            hits = by_stem.get(by_name[leaf].stem if leaf in by_name else leaf, [])
            if sub and len(hits) > 1:  # as for the folder itself, where read_stimuli refuses them
                raise DataError(f"{where}: two images share the id {sub + '/' + hits[0].stem!r} "
                                f"({', '.join(sub + '/' + p.name for p in hits)}); keep one")
            if hits and not sub:
                sid = hits[0].stem
            elif hits:
                sid = self._nested_id(hits[0], f"{sub}/{hits[0].stem}")
        self._ids[name] = sid
        return sid

    def _nested_id(self, path: Path, sid: str) -> str:
        """The id of a file in a sub-folder, read on first use. A file already known under another
        spelling of its path (letter case on a case-insensitive disk, a linked folder) keeps that id:
        one image is never two."""
        if self._files is None:
            self._files = {}
            for p in self._listing("")[0].values():
                if (k := _file_key(p)) is not None:
                    self._files.setdefault(k, p.stem)
        key = _file_key(path)
        if key is not None and key in self._files:
            return self._files[key]
        if key is not None:
            self._files[key] = sid
        if sid not in self.stimuli and sid not in self.unreadable:
            read_stimulus(path, sid, self.stimuli, self.unreadable, self.notes, self.max_pixels)
            self._nested = True
        return sid

    def missing(self, name: str) -> tuple[str, str]:
        """(id, hint) for a name that is no image: the id its pair is reported under, and a hint
        when the folder itself holds an image of that file name or stem."""
        parts = PureWindowsPath(name).parts or (name,)
        stem = PureWindowsPath(parts[-1]).stem or parts[-1]
        key = "/".join((*parts[:-1], stem))
        hint = ""
        if len(parts) > 1:
            by_name, by_stem = self._listing("")
            flat = by_name.get(parts[-1]) or (by_stem.get(parts[-1]) or [None])[0]
            if flat is not None:
                hint = (f" (a path inside the folder means that file; {flat.name} directly in the folder is "
                        f"image {flat.stem}: name it {flat.name} if that is the image meant)")
        return key, hint

    def finish(self) -> dict[str, Stimulus]:
        """Every stimulus in stimulus order; DataError when the folder gave no readable image."""
        check_some_stimuli(self.folder, "images folder", self.stimuli, self.unreadable)
        if self._nested:
            self.stimuli = dict(sorted(self.stimuli.items(), key=lambda kv: stimulus_sort_key(kv[0])))
        return self.stimuli


def _file_key(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)
