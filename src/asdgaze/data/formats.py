"""Dataset formats as objects: each knows how to recognise and load its data, which options it takes, its
continuous fixation-map recipe and what every report on it must say.

- :data:`SALIENCY4ASD`: the Saliency4ASD folder layout (``TrainingDataset/``, scanpath files, shipped
  ``N_s.png``); its recipe is the dataset's own (Gaussian sigma 43 px, 258-tap kernel) and cannot be changed;
  its images are very likely MIT1003's (the caveat).
- :data:`TABLE`: a folder of images plus a fixation table (``--table``, ``--coords``); the recipe's
  Gaussian is ``--fixmap-sigma`` (default 43 px) with a 6-sigma kernel.
- :data:`DEMO`: the bundled demo, in the Saliency4ASD layout but made of OSIE images and arbitrarily
  split adult observers (what its report must say instead of the Saliency4ASD caveat).

:func:`asdgaze.data.load_dataset` asks the formats in turn (:func:`detect`) and lets the one that
recognises the data load it; a new format is one more object here (and in :data:`DETECTED`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asdgaze.data.errors import DataError
from asdgaze.data.format_base import PLAIN, DatasetFormat, FixmapRecipe
from asdgaze.data.saliency4asd import find_saliency4asd_parts, load_saliency4asd
from asdgaze.data.table import load_table_dataset
from asdgaze.errors import OptionsError
from asdgaze.recipe import S4A_KERNEL_SIZE, S4A_SIGMA

__all__ = ["FixmapRecipe", "DatasetFormat", "SALIENCY4ASD", "TABLE", "DEMO", "PLAIN", "FORMATS", "S4A_SIGMA",
           "S4A_KERNEL_SIZE", "MIT1003_CAVEAT", "DEMO_ABOUT", "detect", "demo_path"]

MIT1003_CAVEAT = (
    "The Saliency4ASD images are very likely a subset of MIT1003, on which DeepGaze IIE was trained "
    "(and its centre bias fitted): absolute DeepGaze scores are optimistic; ASD-vs-TD comparisons on "
    "the same images remain meaningful. Report a centre-bias baseline beside any model."
)
#: Saliency4ASD's region annotations, in ``AdditionalData/`` (:mod:`asdgaze.data.regions`).
ANNOTATIONS = "ImageAnnotations.csv"
DEMO_ABOUT = ("The demo data are 8 OSIE images with real fixations of adult observers, split arbitrarily into "
              "groups named 'ASD' (observers 1-7) and 'TD' (8-15): no one in them has a diagnosis, and no group "
              "difference is expected.")


class _Saliency4ASD(DatasetFormat):
    name = "saliency4asd"
    label = "Saliency4ASD"
    fixed_recipe = True

    def detect(self, path: Path, table: Any = None) -> bool:
        return table is None

    def load(self, path: Path, *, table: Any = None, coords: str | None = None, groups: Any = None,
             max_pixels: int | None = None) -> Any:
        if coords not in (None, "1-based"):
            raise OptionsError(f"--coords {coords} (from Python: coords={coords!r}) applies only with --table: "
                               "Saliency4ASD coordinates are always 1-based")
        root = Path(path)
        if root.is_file():
            raise DataError(f"{root}: is a file; give a Saliency4ASD folder, or a folder of images with {TABLE_HINT}")
        try:
            find_saliency4asd_parts(root)
        except DataError as exc:
            raise DataError(f"{exc}. For a plain folder of images, add {TABLE_HINT}") from None
        ds = load_saliency4asd(root, groups=groups, max_pixels=max_pixels)
        ds.format = self
        if _is_demo(root):  # the bundled demo: OSIE images in this layout
            ds.name, ds.format = "asdgaze-demo", DEMO
        return ds

    def find_regions(self, dataset: Any) -> Any:
        """``AdditionalData/ImageAnnotations.csv`` of the release (beside ``TrainingData/``, or in the folder
        given), read in its half-size frame; None where there is no such file."""
        from asdgaze.data.regions import SALIENCY4ASD_FRAME, read_regions

        root = Path(dataset.root)
        places = [root]
        first = next(iter(dataset.stimuli.values()), None)
        if first is not None:  # Images/ is in TrainingData/, which is beside AdditionalData/ in TrainingDataset/
            places += [first.path.parent.parent, first.path.parent.parent.parent]
        found = sorted({q.resolve() for p in places for q in (p / "AdditionalData" / ANNOTATIONS, p / ANNOTATIONS)
                        if q.is_file()})
        if len(found) > 1:
            raise DataError(f"{root}: found several {ANNOTATIONS} files ({', '.join(map(str, found))}); "
                            "keep one, or give the regions with --regions FILE")
        return read_regions(found[0], dataset.stimuli, SALIENCY4ASD_FRAME) if found else None

    def caveat(self, mit1003: dict[str, Any] | None = None) -> str | None:
        if mit1003:
            return super().caveat(mit1003)
        return MIT1003_CAVEAT + " (Not measured: --mit1003 DIR counts the matching images.)"


class _Table(DatasetFormat):
    name = "table"
    label = "fixation table"
    options = ("table", "coords")

    def detect(self, path: Path, table: Any = None) -> bool:
        return table is not None

    def load(self, path: Path, *, table: Any = None, coords: str | None = None, groups: Any = None,
             max_pixels: int | None = None) -> Any:
        if coords is None:
            raise OptionsError(
                f"{table}: coords is required with a table: say whether its x, y are 0-based or 1-based "
                f"with --coords 0-based|1-based (from Python: coords=)"
            )
        ds = load_table_dataset(path, table, coords=coords, groups=groups, max_pixels=max_pixels)
        ds.format = self
        return ds


class _Demo(_Saliency4ASD):
    name = "asdgaze-demo"
    label = "demo (Saliency4ASD layout)"

    def caveat(self, mit1003: dict[str, Any] | None = None) -> str | None:
        return DatasetFormat.caveat(self, mit1003)  # OSIE images: no Saliency4ASD caveat unless measured

    @property
    def about(self) -> str | None:
        return DEMO_ABOUT


SALIENCY4ASD = _Saliency4ASD()
TABLE = _Table()
DEMO = _Demo()
FORMATS = {f.name: f for f in (SALIENCY4ASD, TABLE, DEMO, PLAIN)}
#: The formats :func:`detect` asks, in turn.
DETECTED = (TABLE, SALIENCY4ASD)
#: How a plain images folder is loaded, said for CLI and Python users alike.
TABLE_HINT = ("--table FILE --coords 0-based|1-based (from Python: table=<fixations CSV/TSV>, "
              "coords='0-based' or '1-based')")


def detect(path: Path, table: Any = None) -> DatasetFormat:
    """The format of the dataset at ``path`` (with ``table``: a folder of images and a fixation table)."""
    return next(f for f in DETECTED if f.detect(Path(path), table))


def demo_path() -> Path:
    """The bundled demo dataset's ``TrainingDataset`` folder."""
    return Path(__file__).resolve().parent.parent / "demo" / "TrainingDataset"


def _is_demo(root: Path) -> bool:
    try:
        return root.resolve() == demo_path()
    except OSError:
        return False
