"""Dataset formats as objects: each knows how to recognise and load its data, which options it takes, its
continuous fixation-map recipe and what every report on it must say.

- :data:`SALIENCY4ASD`: the Saliency4ASD folder layout (``TrainingDataset/``, scanpath files, shipped
  ``N_s.png``); its recipe is the dataset's own (Gaussian sigma 43 px, 258-tap kernel) and cannot be changed;
  its images are very likely MIT1003's (the caveat).
- :data:`TABLE`: a folder of images plus a fixation table (``--table``, ``--coords``); the recipe's
  Gaussian is ``--fixmap-sigma`` (default 43 px) with a 6-sigma kernel.
- :data:`DEMO`: the bundled demo, in the Saliency4ASD layout but made of OSIE images and arbitrarily
  split adult observers (what its report must say instead of the Saliency4ASD caveat).

:func:`asdgaze.data.load_dataset` asks the formats in turn; a new format is one more object here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FixmapRecipe", "DatasetFormat", "SALIENCY4ASD", "TABLE", "DEMO", "FORMATS", "S4A_SIGMA",
           "S4A_KERNEL_SIZE", "MIT1003_CAVEAT"]

#: Saliency4ASD's Gaussian: ``fspecial('gaussian', 6 * 43, 43)``.
S4A_SIGMA = 43.0
S4A_KERNEL_SIZE = 258

MIT1003_CAVEAT = (
    "The Saliency4ASD images are very likely a subset of MIT1003, on which DeepGaze IIE was trained "
    "(and its centre bias fitted): absolute DeepGaze scores are optimistic; ASD-vs-TD comparisons on "
    "the same images remain meaningful. Report a centre-bias baseline beside any model."
)
DEMO_ABOUT = ("The demo data are 8 OSIE images with real fixations of adult observers, split arbitrarily into "
              "groups named 'ASD' (observers 1-7) and 'TD' (8-15): no one in them has a diagnosis, and no group "
              "difference is expected.")


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

    def make(self, binary_map: np.ndarray) -> np.ndarray:
        from asdgaze.data.fixmaps import saliency4asd_fixation_map

        return saliency4asd_fixation_map(binary_map, sigma=self.sigma, kernel_size=self.kernel_taps)

    def describe(self) -> dict[str, Any]:
        return {"sigma_px": self.sigma, "kernel_taps": self.kernel_taps, "padding": "zero",
                "scaling": "min-max to 0..1"}


class DatasetFormat:
    """One way datasets are laid out. ``name`` is what a Dataset's ``format`` records."""

    name = ""
    label = ""
    #: Whether ``--fixmap-sigma`` may change the recipe (a table's may; a dataset with shipped maps' not).
    fixed_recipe = False

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


class _Saliency4ASD(DatasetFormat):
    name = "saliency4asd"
    label = "Saliency4ASD"
    fixed_recipe = True

    def caveat(self, mit1003: dict[str, Any] | None = None) -> str | None:
        if mit1003:
            return super().caveat(mit1003)
        return MIT1003_CAVEAT + " (Not measured: --mit1003 DIR counts the matching images.)"


class _Table(DatasetFormat):
    name = "table"
    label = "fixation table"


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
FORMATS = {f.name: f for f in (SALIENCY4ASD, TABLE, DEMO)}
