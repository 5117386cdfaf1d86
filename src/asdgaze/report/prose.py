"""What the report says about a run in words, each thing once: what was run (dataset, models, conventions,
priors, DeepGaze IIE's files) and the caveats a reader needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from asdgaze.analysis.compare import EXCHANGEABILITY, CompareResult
from asdgaze.analysis.results import Results

__all__ = ["dataset_format", "what_was_run", "about", "caveats", "deepgaze_files", "AUC_BORJI_OF_A_DENSITY"]

#: Measured with asdgaze's own AUC-Borji and AUC-Judd (the MIT code's definitions) on peaked densities scaled to
#: a maximum of 1 (tests/report/test_auc_borji_note.py checks the effect on a hand case): see the README.
AUC_BORJI_OF_A_DENSITY = (
    "AUC-Borji of a density: the MIT code thresholds the map on its own scale in steps of 0.1 after scaling it to "
    "0..1; a peaked density (most of its mass in a small region) leaves most pixels below the first threshold, so "
    "the curve has few points and AUC-Borji reads well below AUC-Judd (which thresholds at the fixated pixels' own "
    "values) for the same map. For a model that is a density, read AUC-Judd, or the probabilistic AUC.")


def dataset_format(manifest: dict):
    """The dataset format an evaluate manifest records (older manifests: from the dataset's name)."""
    from asdgaze.data.formats import FORMATS, PLAIN

    ds = manifest.get("dataset") or {}
    return FORMATS.get(str(ds.get("format") or ds.get("name") or ""), PLAIN)


def _prior(option: Any, kind: str) -> str:
    from asdgaze.models.prior_names import canonical
    from asdgaze.models.registry import label_of

    name = canonical(option)
    if name == "file":
        return f"the {kind} file {option}"
    return {"gaussian": "a fixed centre Gaussian (sigma 1/4 of each side)", "uniform": "the uniform density",
            "mit1003": "the MIT1003 centre-bias template"}.get(name, label_of(name))


def deepgaze_files(res: Results) -> list[str]:
    """Which DeepGaze IIE was run, per model whose maps ``asdgaze predict`` wrote: its checkpoint and centre bias
    (sha256, and whether they are the published files) and its precision."""
    from asdgaze.models.deepgaze.cache import CENTERBIAS_FILE, WEIGHTS_FILE, provenance

    out = []
    for m in res.manifests.values():
        for d in m.get("models") or []:
            if not (isinstance(d, dict) and d.get("kind") == "maps" and d.get("folder")):
                continue
            pm = Path(str(d["folder"])).parent / "manifest.json"
            try:
                import json

                pred = json.loads(pm.read_text(encoding="utf-8")) if pm.is_file() else None
            except (OSError, ValueError):
                pred = None
            if not isinstance(pred, dict) or not str(pred.get("tool", "")).startswith("asdgaze predict"):
                continue
            w, cb = pred.get("weights") or {}, pred.get("centerbias") or {}
            weights = f"checkpoint {w.get('path') or '(a model object)'}, {provenance(WEIGHTS_FILE, w.get('sha256'))}"
            if cb.get("kind") == "mit1003":
                centre = f"centre bias: the MIT1003 template, {provenance(CENTERBIAS_FILE, cb.get('sha256'))}"
            else:
                centre = f"centre bias: {cb.get('kind', '?')}" + (f" {cb['path']} (sha256 {cb['sha256'][:12]}...)"
                                                                   if cb.get("path") and cb.get("sha256") else "")
            out.append(f"{d['name']}: DeepGaze IIE's maps by asdgaze predict ({pm}): {weights}; {centre}; "
                       f"precision {pred.get('precision', '?')}.")
    return out


def what_was_run(res: Results) -> list[str]:
    """The run in a few sentences (one paragraph per results folder), each setting once."""
    from asdgaze.models.registry import label_of, traits_of

    out = []
    for where, m in res.manifests.items():
        ds = m.get("dataset") or {}
        fmt = dataset_format(m)
        opts = m.get("options") or {}
        models = [d for d in m.get("models") or [] if isinstance(d, dict)]
        maps = [d for d in models if d.get("kind") == "maps"]
        baselines = [d for d in models if d.get("kind") != "maps"]
        text = (f"Dataset: {ds.get('name', '?')} ({fmt.label}), {ds.get('n_images', '?')} images, groups "
                f"{', '.join(ds.get('groups') or [])} (from {ds.get('root', '?')}). ")
        if maps:
            text += "Models: " + "; ".join(
                f"{d['name']} (maps from {d.get('folder')}, "
                f"{'log-densities, scored in both conventions' if d.get('probabilistic') else 'saliency maps, MIT convention only'})"
                for d in maps) + ". "
        else:
            text += "No model's maps were scored. "
        if baselines:
            text += "Baselines: " + ", ".join(label_of(str(d.get("name"))) for d in baselines) + ". "
        conv = opts.get("conventions") or []
        if "mit" in conv:
            text += ("MIT convention: the MIT Saliency Benchmark code's definitions (fixation maps with duplicates "
                     f"collapsed); its information gain against {_prior(opts.get('ig_baseline'), 'baseline')}. ")
        if "probabilistic" in conv:
            text += ("Probabilistic convention: pysaliency 0.2.22's definitions "
                     f"({opts.get('saliency_maps', 'metric-specific')} maps, duplicated fixations counted); its "
                     f"information gain against {_prior(opts.get('prob_ig_baseline'), 'log-density')}. ")
        ceilings = [str(d.get("name")) for d in baselines if (traits_of(str(d.get("name"))) or _traits(d)).ceiling]
        if ceilings:
            text += ("The ceiling (gold standard) predicts each child from the other children of the same group on "
                     "the same image, so it is lower where a group has fewer children or agrees less. ")
        text += f"Random draws from seed {opts.get('seed', 0)}."
        out.append(text)
    return out


def _traits(d: dict):
    from asdgaze.models.base import Traits

    t = d.get("traits")
    return Traits(**{k: bool(v) for k, v in t.items() if k in Traits.__dataclass_fields__}) if isinstance(t, dict) \
        else Traits()


def about(res: Results) -> list[str]:
    """What the data are where a reader must know it before the answer (the demo's arbitrary groups), once."""
    return list(dict.fromkeys(a for m in res.manifests.values() if (a := dataset_format(m).about)))


def caveats(res: Results, cmp: CompareResult) -> list[str]:
    """Every caveat once: the dataset's (MIT1003 overlap, what the demo's groups are), what is exchangeable,
    the comparison's notes, and the run's notes."""
    out: list[str] = []
    for m in res.manifests.values():
        fmt = dataset_format(m)
        mit = m.get("mit1003") if isinstance(m.get("mit1003"), dict) and m["mit1003"].get("n_matched") is not None \
            else None
        out += [c for c in (fmt.caveat(mit),) if c]  # fmt.about is in the lede (about())
        out += [str(n) for n in m.get("notes") or [] if "MIT1003 check" not in str(n)]
    pi = res.per_image
    scored = pi["saliency_map"].astype(str) if "saliency_map" in pi.columns else pd.Series("", index=pi.index)
    if ((pi["metric"] == "auc_borji") & scored.str.startswith("exp(log p)")).any():
        out.append(AUC_BORJI_OF_A_DENSITY)
    out.append("What is exchangeable: " + EXCHANGEABILITY)
    out += cmp.notes
    if cmp.participants is None:
        out.append("Participant-level analysis: not done, the results carry no participant ids consistent across "
                   "images (per_participant.csv); the analysis is image-level.")
    return list(dict.fromkeys(out))
