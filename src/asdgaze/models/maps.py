"""A folder or an HDF5 file of precomputed maps, as a predictor.

A folder holds one map per image, named by the image's stem (``<stem>.npy``, whose content
``--maps-kind`` states, or an 8/16-bit grey image ``<stem>.png``, ``.tif``, ``.tiff``, ``.jpg`` or ``.jpeg``;
the ``.npy`` wins when several exist, then the image in :data:`~asdgaze.maps.io.MAP_SUFFIXES` order). An
HDF5 file (:mod:`asdgaze.maps.hdf5`) holds log-densities, one dataset per image. The MIT convention
scores the map as the MIT code reads it (:func:`asdgaze.maps.io.load_map`); the probabilistic one, only
when every map is an ``.npy`` (or HDF5) log-density, scores log p, resampled to the image's size when
it has another one (bilinear, renormalised) under the MIT side's aspect-ratio rule.

``NAME=DIR`` (or ``NAME=FILE.hdf5``) is parsed once, by :func:`parse_model_specs`, for the command line,
``asdgaze run`` and the Python API.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from asdgaze.data.types import Dataset, Stimulus
from asdgaze.errors import AsdgazeError, MapError, OptionsError
from asdgaze.maps.hdf5 import HDF5_SUFFIXES, H5Map, describe_extra, find_h5_maps, is_hdf5_source, stimulus_paths
from asdgaze.maps.io import (MAP_SUFFIXES, MapKindError, check_aspect, check_map, find_maps, load_map,
                             load_prediction, map_key, map_size)
from asdgaze.models.base import Traits

__all__ = ["MapsModel", "open_maps", "parse_model_specs", "check_model_name"]

#: How each convention reads a map (the rows' ``saliency_map`` column of the MIT convention).
MIT_MAP_SCORED = {True: "exp(log p) scaled to max 1 (float64)", False: "map as given (float64)"}
HDF5_RULE = ("one dataset per image named by its file name (e.g. 12.png), else by its stem; log-densities; "
             "sha256 per image: of the dataset's shape, dtype and bytes")
FOLDER_RULE = ("<stem>.npy is used when both <stem>.npy and <stem>.png exist (in general the first of "
               + ", ".join(MAP_SUFFIXES) + ")")


def check_model_name(name: str, flag: str = "--maps") -> str:
    """A model name must be non-empty, without commas or path separators, and no baseline's name."""
    from asdgaze.models import registry

    taken = set(registry.names()) | {a for n in registry.names() for a in registry.baseline(n).aliases}
    if not name or "," in name or "/" in name or "\\" in name or name.startswith("."):
        raise OptionsError(f"{flag} {name}=...: a model name must be non-empty, without commas or path "
                           "separators, and not start with '.' (it names an output folder)")
    if name in taken:
        raise OptionsError(f"{flag} {name}=...: the name {name!r} is used twice: a baseline is called so (models "
                           f"and baselines need distinct names; the baselines: {', '.join(sorted(taken))})")
    return name


def parse_model_specs(values: str | os.PathLike | Sequence[str] | Mapping[str, Any] | None, flag: str = "--maps",
                      keywords: Collection[str] = ()) -> dict[str, Path | None]:
    """``NAME=DIR`` items (a comma-separated string, a list, or a mapping) -> {name: path}.

    A single item without ``=`` (or naming an existing path) is the model ``"maps"``; names in
    ``keywords`` (e.g. ``deepgaze2e``) stand alone and map to None. Paths must exist. OptionsError names
    ``flag`` and the item otherwise; a name given twice is refused.

    >>> parse_model_specs(["deepgaze2e"], keywords=("deepgaze2e",))
    {'deepgaze2e': None}
    """
    if values is None:
        return {}
    if isinstance(values, Mapping):
        items = [(str(k), v) for k, v in values.items()]
    else:
        if isinstance(values, (str, os.PathLike)):
            raw = str(values)
            single = raw if os.path.exists(raw) or "=" not in raw else None
            if single is not None and raw not in keywords:
                return {"maps": Path(raw).expanduser().resolve()}
            values = [s for s in raw.split(",")]
        values = [str(v).strip() for v in values if str(v).strip()]
        if len(values) == 1 and values[0] not in keywords and ("=" not in values[0] or os.path.exists(values[0])):
            return {"maps": Path(values[0]).expanduser().resolve()}
        items = []
        for v in values:
            if v in keywords:
                items.append((v, None))
                continue
            name, sep, path = v.partition("=")
            if not sep or not name.strip() or not path.strip():
                known = f"{' or '.join(keywords)} or " if keywords else ""
                raise OptionsError(f"{flag}: {v!r} is neither {known}NAME=DIR (a folder of maps) nor NAME=FILE.hdf5")
            items.append((name.strip(), path.strip()))
    out: dict[str, Path | None] = {}
    for name, path in items:
        if name in out:
            raise OptionsError(f"{flag}: the model name {name!r} is given twice")
        if path is None:
            out[name] = None
            continue
        check_model_name(name, flag)
        p = Path(path).expanduser().resolve()
        if not p.exists() and p.suffix.lower() not in HDF5_SUFFIXES:  # a missing HDF5 file: named when opened
            raise OptionsError(f"{flag} {name}={path}: no such folder of maps (or .hdf5 file of log-densities)")
        out[name] = p
    return out


@dataclass
class MapsModel:
    """A model whose predictions are files: ``maps`` stem -> file (or HDF5 dataset)."""

    name: str
    source: Path
    maps: dict[str, Path | H5Map]
    maps_kind: str | None
    log_density_maps: bool = False  # every map is an .npy (or HDF5) log-density: scored probabilistically too
    allow_aspect_change: bool = False
    hdf5_sha256: str | None = None
    missing: list[str] = field(default_factory=list)
    found_notes: list[str] = field(default_factory=list)  # datasets of an HDF5 file that match no image

    @property
    def traits(self) -> Traits:
        return Traits(density=self.log_density_maps)

    @property
    def mit_map_scored(self) -> str:
        return MIT_MAP_SCORED[self.maps_kind == "log-density"]

    def covers(self, stem: str) -> bool:
        return stem in self.maps

    def notes(self) -> list[str]:
        return []

    def where(self, stimulus: Stimulus) -> str:
        return str(self.maps[stimulus.id])

    def saliency_map(self, stimulus: Stimulus, group: str | None = None, density=None) -> np.ndarray:
        """The map as the MIT code reads it, at its own size (the metrics resize it as the MIT code does);
        warnings (a log-density that does not sum to 1, tiny values) are issued to the caller. Its size is
        checked from the file's header first, so a file that lies about it is never read."""
        path = self.maps[stimulus.id]
        check_map(path, stimulus.id, stimulus.shape, self.allow_aspect_change)
        return load_map(path, self.maps_kind)

    def log_density(self, stimulus: Stimulus, group: str | None = None, exclude_viewers: Collection[int] = ()):
        """The map as a checked LogDensity at the image's size (see :meth:`prediction`)."""
        return self.prediction(stimulus)

    def prediction(self, stimulus: Stimulus, group: str | None = None):
        """The map as a LogDensity at the image's size; MapError for an unusable one."""
        from asdgaze.predictions import LogDensity, resize_density

        path = self.maps[stimulus.id]
        if not self.log_density_maps:
            raise MapError(f"{path}: a saliency map has no probabilities (the probabilistic convention needs "
                           ".npy log-densities, --maps-kind log-density)")
        # The MIT convention's reading of the same file reports its warnings: none here.
        check_map(path, stimulus.id, stimulus.shape, self.allow_aspect_change)  # from the header, before reading it
        pred = load_prediction(path, "log-density", warn=False)
        if pred.shape != stimulus.shape:  # resized as the MIT side resizes (within 1 % of the aspect, or allowed)
            check_aspect(path, pred.shape, stimulus.id, stimulus.shape, self.allow_aspect_change)
            d = resize_density(pred.density(), stimulus.shape)
            pred = LogDensity.normalized(np.log(np.maximum(d, np.finfo(float).tiny)))
        if not np.all(np.isfinite(pred.values)):
            raise MapError(f"{path}: the log-density contains -inf (zero probability); the probabilistic "
                           "convention needs a positive density everywhere")
        return pred

    def digest(self, stimulus: Stimulus) -> str | None:
        """The resume key of one map (sha256 of the file, or of the HDF5 dataset); None for a map whose
        header fails its image (too many pixels, another aspect ratio): it fails when scored, and a file
        declaring a huge array must not be read whole here."""
        return map_key(self.maps[stimulus.id], stimulus.id, stimulus.shape, self.allow_aspect_change)

    def describe(self) -> dict[str, Any]:
        hdf5 = {} if self.hdf5_sha256 is None else {"hdf5_sha256": self.hdf5_sha256}
        return {"name": self.name, "kind": "maps", "folder": str(self.source), "probabilistic": self.log_density_maps,
                **hdf5}

    def record(self, sha256: dict[str, str]) -> dict[str, Any]:
        """The manifest's ``maps`` record: where each image's map came from and its sha256."""
        out = {"name": self.name, "folder": str(self.source), "missing": self.missing, "rule": FOLDER_RULE,
               "files": {stem: str(p) for stem, p in self.maps.items()}, "sha256": sha256,
               "probabilistic": self.log_density_maps}
        if self.hdf5_sha256 is not None:
            out.update(hdf5_sha256=self.hdf5_sha256, rule=HDF5_RULE)
        return out


def _check_found(path: Path, found, missing: list[str], allow_missing: bool, n_images: int, expected: str) -> None:
    """OptionsError where maps are missing (unless allowed) or none matched; ``expected`` says what is looked for."""
    if missing and not allow_missing:
        raise OptionsError(f"no map in {path} for {len(missing)} of {n_images} images: {', '.join(missing)} "
                           f"(expected {expected}; --allow-missing scores the rest)")
    if not found:
        raise OptionsError(f"no maps found in {path} (expected {expected})")


def open_maps(name: str, source: str | os.PathLike, dataset: Dataset, maps_kind: str | None, *,
              allow_missing: bool = False, allow_aspect_change: bool = False,
              probabilistic_only: bool = False) -> MapsModel:
    """The maps of ``source`` (a folder or an HDF5 file) for the dataset's images, checked before any scoring.

    OptionsError: no map for some images (listing them) unless ``allow_missing``, none at all, ``.npy``
    maps without ``maps_kind``, log-densities given as ``--maps-kind saliency``, saliency maps where only
    the probabilistic convention is scored, or ``--maps-kind saliency`` for an HDF5 file.
    """
    path = Path(source).expanduser().resolve()
    if is_hdf5_source(path):
        return _open_hdf5(name, path, dataset, maps_kind, allow_missing, allow_aspect_change)
    try:
        found, missing = find_maps(path, dataset.stimuli)
    except MapError as e:
        raise OptionsError(str(e)) from e
    _check_found(path, found, missing, allow_missing, len(dataset.stimuli),
                 f"<stem> with one of the suffixes {', '.join(MAP_SUFFIXES)}")
    _refuse_pictures(path, found)
    if maps_kind is None and any(m.is_npy for m in found.values()):
        raise OptionsError(f"{path} holds .npy maps: say what they contain with --maps-kind saliency|log-density")
    _check_kind(found, maps_kind)
    log_dens = maps_kind == "log-density" and all(m.is_npy for m in found.values())
    if probabilistic_only and not log_dens:
        raise OptionsError(f"--convention probabilistic: the maps in {path} are not all .npy log-densities "
                           "(--maps-kind log-density); saliency maps have no probabilities: use --convention "
                           "mit or both")
    return MapsModel(name, path, {s: m.path for s, m in found.items()}, maps_kind, log_dens, allow_aspect_change,
                     missing=missing)


def _refuse_pictures(folder: Path, found: dict[str, Any]) -> None:
    """Stop before any scoring at PNGs that say they are pictures (predict's density pictures, whose
    grey levels are not proportional to probability), naming them."""
    from asdgaze.maps.io import png_rendering, rendering_error

    pictures = [(m.path, what) for m in found.values() if not m.is_npy and (what := png_rendering(m.path))]
    if pictures:
        names = ", ".join(p.name for p, _ in pictures[:5]) + (f" and {len(pictures) - 5} more" if len(pictures) > 5
                                                                 else "")
        raise OptionsError(rendering_error(f"{folder}: {len(pictures)} PNG map(s) ({names})", pictures[0][1]))


def _check_kind(found: dict[str, Any], maps_kind: str | None) -> None:
    """Stop before any scoring if the .npy maps are of the other kind than ``--maps-kind`` says: a
    log-density given as saliency, or saliency maps (no negative value, not summing to 1) given as
    log-densities, which would be scored as nearly flat densities and give a full, meaningless table."""
    npys = [m.path for m in found.values() if m.is_npy]
    if not npys or maps_kind is None:
        return
    if maps_kind == "log-density":
        _check_log_densities(npys[:3])
        return
    try:
        load_map(npys[0], "saliency")
    except MapKindError as e:
        raise OptionsError(str(e)) from e
    except MapError:
        pass  # an unusable map fails its image later, with the others scored


def _check_log_densities(paths: list[Path]) -> None:
    """Refuse when every one of the first few maps looks like a saliency map; one odd file among
    good ones fails its own image later instead of stopping the run."""
    from asdgaze.models.centerbias import log_density_problem

    problems = []
    for path in paths:
        try:
            map_size(path)  # the header first: a file that lies about its size is never read here
            arr = np.squeeze(np.load(path, allow_pickle=False))
        except (MapError, OSError, ValueError):
            return  # an unusable map fails its image later, with the others scored
        problem = log_density_problem(arr) if arr.ndim == 2 else None
        if not (problem and "looks like" in problem):
            return
        problems.append((path, problem))
    path, problem = problems[0]
    others = f" (and the next {len(problems) - 1} as well)" if len(problems) > 1 else ""
    raise OptionsError(f"{path}: --maps-kind log-density, but it holds {problem}{others}; use --maps-kind "
                       "saliency (saliency maps are scored in the MIT convention only)")


def _open_hdf5(name: str, path: Path, dataset: Dataset, maps_kind: str | None, allow_missing: bool,
               allow_aspect_change: bool) -> MapsModel:
    from asdgaze.io import sha256_file

    if maps_kind not in (None, "log-density"):
        raise OptionsError(f"--maps {path}: an HDF5 file holds log-densities; --maps-kind {maps_kind} does not "
                           "apply to it (leave --maps-kind out or give log-density)")
    paths = stimulus_paths(dataset.stimuli)
    try:
        found, missing, extra = find_h5_maps(path, paths)
    except AsdgazeError as e:
        raise OptionsError(str(e)) from e
    _check_found(path, found, missing, allow_missing, len(dataset.stimuli),
                 "a dataset named by the image's file name, e.g. "
                 + (Path(paths[missing[0]]).name if missing else "12.png"))
    note = describe_extra(path, extra)
    return MapsModel(name, path, dict(found), "log-density", True, allow_aspect_change, sha256_file(path),
                     missing=missing, found_notes=[note] if note else [])
