"""Read a results folder (the per_image.csv contract) into one long table.

Contract: ``per_image.csv`` has the columns image, group, metric, value, convention,
n_fixations and, in newer folders, model, baseline, n_viewers. Older folders lack the last
three: then model is "maps" (or the sub-folder's name, see :func:`load_results`), baseline ""
and n_viewers NaN. Optional companions: ``per_fixation.csv`` (see
:mod:`asdgaze.analysis.permutation`) and ``per_participant.csv`` (see
:mod:`asdgaze.analysis.participants`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asdgaze.errors import DataError
from asdgaze.models.base import Traits

REQUIRED_COLUMNS = ("image", "group", "metric", "value", "convention", "n_fixations")
OPTIONAL_DEFAULTS: dict[str, Any] = {"model": "maps", "baseline": "", "n_viewers": np.nan}


@dataclass
class Results:
    """Everything read from one results folder (or several sub-folders, one per model)."""

    root: Path
    per_image: pd.DataFrame
    summary: pd.DataFrame | None
    manifests: dict[str, dict] = field(default_factory=dict)  # folder (relative) -> manifest.json
    per_fixation: pd.DataFrame | None = None
    per_participant: pd.DataFrame | None = None
    regions: pd.DataFrame | None = None  # regions.csv (asdgaze.evaluate.regions), a dataset with regions only
    region_viewers: pd.DataFrame | None = None  # region_viewers.csv

    def traits(self, model: str) -> Traits:
        """What evaluate recorded about ``model`` (its manifest's ``models`` entry), else what the baseline
        registry declares for that name, else the traits of a plain model (a folder of maps)."""
        for m in self.manifests.values():
            for d in m.get("models") or []:
                if isinstance(d, dict) and d.get("name") == model and isinstance(d.get("traits"), dict):
                    known = {k: bool(v) for k, v in d["traits"].items() if k in Traits.__dataclass_fields__}
                    return Traits(**known)
        from asdgaze.models.registry import traits_of

        return traits_of(model) or Traits()

    def ceiling_models(self) -> set[str]:
        """The models that are a noise ceiling (the gold standard)."""
        return {m for m in self.per_image["model"].unique() if self.traits(m).ceiling}


def normalise_per_image(df: pd.DataFrame, model: str = "maps", source: str = "per_image.csv") -> pd.DataFrame:
    """Check the contract's columns and fill the optional ones (model, baseline, n_viewers).

    Example:
        >>> df = pd.DataFrame({"image": [1], "group": ["TD"], "metric": ["nss"], "value": [1.0],
        ...                    "convention": ["mit"], "n_fixations": [3]})
        >>> out = normalise_per_image(df)
        >>> out.loc[0, "model"], out.loc[0, "baseline"], out.loc[0, "image"]
        ('maps', '', '1')
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}")
    out = df.copy()
    for col, default in OPTIONAL_DEFAULTS.items():
        if col not in out.columns:
            out[col] = model if col == "model" else default
    # Image ids are file stems: "1" and "01" differ, so never let pandas read them as numbers.
    for col in ("image", "group", "metric", "convention", "model"):
        out[col] = out[col].astype(str)
    out["baseline"] = out["baseline"].astype(object).fillna("").astype(str)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    return out


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype={"image": str, "group": str, "participant": str}, keep_default_na=True)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot be read as CSV ({e})") from None


def load_results(path: str | Path) -> Results:
    """Load ``path/per_image.csv``, or every ``*/per_image.csv`` below ``path`` (up to 3 levels).

    With several folders (e.g. ``demo-output/centre-bias/scores``), a folder without a model
    column, or whose only model is evaluate's default name "maps", gets the first component of its
    relative path as model name ("centre-bias").
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    if (root / "per_image.csv").is_file():
        files = [root / "per_image.csv"]
    else:
        files = sorted(p for pattern in ("*/per_image.csv", "*/*/per_image.csv", "*/*/*/per_image.csv")
                       for p in root.glob(pattern))
    if not files:
        raise DataError(f"{root}: no per_image.csv here or in its sub-folders")
    tables, summaries, manifests, fixations, participants = [], [], {}, [], []
    regions: dict[str, list[pd.DataFrame]] = {"regions.csv": [], "region_viewers.csv": []}
    for f in files:
        folder = f.parent
        rel = folder.relative_to(root)
        model = rel.parts[0] if rel.parts else "maps"
        table = _read_csv(f)
        # evaluate names a single unnamed folder's model "maps": with several folders, the folder names it
        renamed = len(files) > 1 and "model" in table.columns and set(table["model"].astype(str)) == {"maps"}
        if renamed:
            table["model"] = model
        tables.append(normalise_per_image(table, model=model, source=str(f)))
        if (folder / "summary.csv").is_file():
            s = _read_csv(folder / "summary.csv")
            if "model" not in s.columns:  # an older summary: one model per folder
                s.insert(0, "model", tables[-1]["model"].iloc[0] if len(tables[-1]) else model)
            elif renamed:
                s["model"] = s["model"].astype(str).replace("maps", model)
            summaries.append(s)
        if (folder / "manifest.json").is_file():
            try:
                manifests[str(rel)] = json.loads((folder / "manifest.json").read_text())
            except (OSError, ValueError) as e:
                raise DataError(f"{folder / 'manifest.json'}: not readable JSON ({e})") from None
            if renamed:  # the manifest names the model as the tables now do
                for d in manifests[str(rel)].get("models") or []:
                    if isinstance(d, dict) and d.get("name") == "maps":
                        d["name"] = model
        for name, bucket in (("per_fixation.csv", fixations), ("per_participant.csv", participants)):
            if (folder / name).is_file():
                t = _read_csv(folder / name)
                if "model" not in t.columns:
                    t["model"] = model
                elif renamed:
                    t["model"] = t["model"].astype(str).replace("maps", model)
                bucket.append(t)
        for name, bucket in regions.items():
            if (folder / name).is_file():
                bucket.append(_region_table(folder / name, model if renamed else None))
    return Results(
        root=root,
        per_image=pd.concat(tables, ignore_index=True),
        summary=pd.concat(summaries, ignore_index=True) if summaries else None,
        manifests=manifests,
        per_fixation=pd.concat(fixations, ignore_index=True) if fixations else None,
        per_participant=pd.concat(participants, ignore_index=True) if participants else None,
        regions=_concat_regions(regions["regions.csv"], ["image", "group", "label", "measure", "model"]),
        region_viewers=_concat_regions(regions["region_viewers.csv"], ["image", "group", "viewer", "label"]),
    )


def _region_table(path: Path, model: str | None) -> pd.DataFrame:
    """A ``regions.csv`` or ``region_viewers.csv``, ids and labels as text (``model`` renames "maps")."""
    try:
        t = pd.read_csv(path, dtype={"image": str, "group": str, "label": str, "model": str, "viewer": str},
                        keep_default_na=False, na_values={"value": [""], "n_inside": [""], "n_fixations": [""]})
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot be read as CSV ({e})") from None
    if model is not None and "model" in t.columns:
        t["model"] = t["model"].replace("maps", model)
    return t


def _concat_regions(tables: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame | None:
    """One table; the fixation shares that several folders of one dataset repeat are kept once."""
    if not tables:
        return None
    return pd.concat(tables, ignore_index=True).drop_duplicates(keys).reset_index(drop=True)
