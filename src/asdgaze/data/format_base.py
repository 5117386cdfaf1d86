"""What every dataset format is (:class:`DatasetFormat`) and its continuous fixation-map recipe
(:class:`FixmapRecipe`); the formats that load files are in :mod:`asdgaze.data.formats`. This module imports
nothing of the loaders, so :class:`asdgaze.data.types.Dataset` can name its default format (:data:`PLAIN`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asdgaze.recipe import S4A_KERNEL_SIZE, S4A_SIGMA

__all__ = ["FixmapRecipe", "DatasetFormat", "PLAIN", "S4A_SIGMA", "S4A_KERNEL_SIZE"]


@dataclass(frozen=True)
class FixmapRecipe:
    """The continuous fixation map: the binary map filtered with a ``kernel_taps``-tap Gaussian of ``sigma``
    pixels (zero padding, MATLAB's anchor), then min-max scaled to 0..1 (:mod:`asdgaze.data.fixmaps`)."""

    sigma: float = S4A_SIGMA
    kernel_taps: int = S4A_KERNEL_SIZE

    @classmethod
    def for_sigma(cls, sigma: float) -> "FixmapRecipe":
        """Saliency4ASD's kernel for its own sigma; a 6-sigma kernel for any other."""
        sigma = float(sigma)
        return cls(sigma, S4A_KERNEL_SIZE if sigma == S4A_SIGMA else max(1, int(round(6 * sigma))))

    def describe(self) -> dict[str, Any]:
        return {"sigma_px": self.sigma, "kernel_taps": self.kernel_taps, "padding": "zero",
                "scaling": "min-max to 0..1"}


class DatasetFormat:
    """One way datasets are laid out. ``name`` is what a Dataset's ``format`` records; ``options``: the
    loading options it takes (``table``, ``coords``). This base is the format of a Dataset built in Python
    ("plain"): the recipe's Gaussian is its ``fixmap_sigma``, no caveat; :mod:`asdgaze.data.formats` has the
    formats that load files."""

    name = "plain"
    label = "fixations given in Python"
    options: tuple[str, ...] = ()
    #: Whether ``--fixmap-sigma`` may change the recipe (a table's may; a dataset with shipped maps' not).
    fixed_recipe = False

    def detect(self, path: Path, table: Any = None) -> bool:
        """Whether ``path`` (with these options) is a dataset of this format."""
        return False

    def load(self, path: Path, *, table: Any = None, coords: str | None = None, groups: Any = None,
             max_pixels: int | None = None) -> Any:
        raise NotImplementedError

    def find_regions(self, dataset: Any) -> Any:
        """The dataset's own region annotations (:class:`asdgaze.data.regions.Regions`), or None: a plain
        dataset has none (``--regions FILE`` gives them)."""
        return None

    def recipe(self, sigma: float = S4A_SIGMA) -> FixmapRecipe:
        return FixmapRecipe.for_sigma(sigma)

    def fixmap_sigma_problem(self, sigma: float, dataset: Any) -> str | None:
        """Why ``--fixmap-sigma sigma`` cannot apply to ``dataset``, or None."""
        if self.fixed_recipe and sigma != dataset.fixmap_sigma:
            return (f"a {self.label} folder has its own recipe (sigma {dataset.fixmap_sigma:g} px); --fixmap-sigma "
                    "is for --table data")
        return None

    def caveat(self, mit1003: dict[str, Any] | None = None) -> str | None:
        """What every output on this data must say about DeepGaze IIE's training set, or None. A measured
        MIT1003 overlap (``--mit1003``) is stated for any format."""
        if not mit1003:
            return None
        return (f"Overlap with MIT1003 (DeepGaze IIE's training set), measured with --mit1003 "
                f"{mit1003.get('folder', '?')}: {mit1003['n_matched']} of {mit1003['n_images']} images match an "
                "MIT1003 image (perceptual hash). DeepGaze IIE was trained on MIT1003 (and its centre bias fitted "
                "there): absolute DeepGaze scores on those images are optimistic; ASD-vs-TD comparisons on the "
                "same images remain meaningful. Report the baselines beside any model.")

    @property
    def about(self) -> str | None:
        """What the data are, where a report must say it (the demo's arbitrary groups)."""
        return None

    def __repr__(self) -> str:
        return f"<dataset format {self.name}>"


PLAIN = DatasetFormat()
