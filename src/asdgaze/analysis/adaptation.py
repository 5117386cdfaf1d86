"""What of the groups' gap the group-adapted models explain, in numbers and in words.

For every adapted model (``<model>+adapted``, :mod:`asdgaze.models.adapted`) scored beside its model, the
record holds each group's fitted parameters with bootstrap CIs over images (and of the difference B - A and
the ratio B / A, from the same resampled images), and the model's gap A - B in information gain and
log-likelihood (image means, probabilistic convention) before and after adaptation with the share of it that
the adaptation explains, ``(gap before - gap after) / gap before``, each with a bootstrap CI over images (the
same images resampled for every quantity). :func:`adaptation_record` makes it from evaluate's per-image
scores and the models' descriptions (``manifest.json``); :func:`adaptation_sentences` says it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from asdgaze.analysis.stats import MIN_IMAGES

__all__ = ["adaptation_record", "adaptation_sentences", "GAP_METRICS", "N_RESAMPLES"]

#: The gap's metrics (probabilistic convention): information gain first (the one the sentences use).
GAP_METRICS = ("ig", "ll")
N_RESAMPLES = 2000
UNITS = {"ig": "bits/fixation", "ll": "nats/fixation"}
WORDS = {"sigma": ("spread (blur)", "px", "wider", "narrower"),
         "gamma": ("sharpness (1/temperature)", "", "sharper", "flatter"),
         "w": ("centre-bias weight", "", "stronger", "weaker"),
         "u": ("uniform share", "%", "larger", "smaller")}


def _ci(values: np.ndarray) -> list[float] | None:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return None
    return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]


def _at_bound(value: float, bounds: list[float] | None) -> str | None:
    """"lower" or "upper" where the fit stopped at an end of its search range (the best value may lie beyond)."""
    if not bounds or value is None or not math.isfinite(value):
        return None
    for end, b in zip(("lower", "upper"), bounds):
        if abs(value - b) <= 1e-4 * max(1.0, abs(b)):
            return end
    return None


def _parameters(desc: dict[str, Any], a: str, b: str, enough: bool) -> dict[str, Any]:
    whole = desc.get("whole") or {}
    boot = ((desc.get("bootstrap") or {}).get("values") or {})
    out: dict[str, Any] = {"groups": {}, "difference_b_minus_a": {}, "ratio_b_over_a": {}}
    bounds = desc.get("bounds") or {}
    for g in (a, b):
        if g in whole:
            out["groups"][g] = {k: {"value": whole[g][k], "ci": None, "at_bound": _at_bound(whole[g][k],
                                                                                             bounds.get(g, {}).get(k))}
                                for k in WORDS}
    if a not in whole or b not in whole:
        return out
    for k in WORDS:
        va, vb = float(whole[a][k]), float(whole[b][k])
        ba = np.array([r[k] for r in boot.get(a, [])], dtype=float)
        bb = np.array([r[k] for r in boot.get(b, [])], dtype=float)
        use = enough and len(ba) == len(bb) and len(ba) >= 2
        out["groups"][a][k]["ci"] = _ci(ba) if use else None
        out["groups"][b][k]["ci"] = _ci(bb) if use else None
        out["difference_b_minus_a"][k] = {"value": vb - va, "ci": _ci(bb - ba) if use else None}
        ratio = vb / va if va > 0 and vb > 0 else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            rb = np.where((ba > 0) & (bb > 0), bb / np.where(ba > 0, ba, 1.0), np.nan)
        out["ratio_b_over_a"][k] = {"value": ratio if math.isfinite(ratio) else None,
                                    "ci": _ci(rb) if use and math.isfinite(ratio) else None}
    return out


def _gap(per_image: pd.DataFrame, model: str, adapted: str, a: str, b: str, metric: str, seed: int,
         n_resamples: int) -> dict[str, Any] | None:
    sel = per_image[(per_image["convention"] == "probabilistic") & (per_image["metric"] == metric)
                    & per_image["model"].isin([model, adapted]) & per_image["group"].isin([a, b])]
    if sel.empty:
        return None
    wide = sel.pivot_table(index="image", columns=["model", "group"], values="value", aggfunc="first")
    need = [(model, a), (model, b), (adapted, a), (adapted, b)]
    if any(c not in wide.columns for c in need):
        return None
    wide = wide[need].astype(float)
    wide = wide[np.isfinite(wide.to_numpy()).all(axis=1)]
    n = len(wide)
    if n == 0:
        return None
    before = (wide[(model, a)] - wide[(model, b)]).to_numpy()
    after = (wide[(adapted, a)] - wide[(adapted, b)]).to_numpy()
    g0, g1 = float(before.mean()), float(after.mean())
    share = (g0 - g1) / g0 if g0 != 0 else math.nan
    out = {"unit": UNITS[metric], "n_images": n, "baseline": str(sel["baseline"].iloc[0]),
           "before": {"value": g0, "ci": None}, "after": {"value": g1, "ci": None},
           "explained_share": {"value": share if math.isfinite(share) else None, "ci": None},
           "remaining": {"value": g1, "ci": None}}
    if n >= MIN_IMAGES:
        rng = np.random.default_rng([int(seed), 1817])
        idx = rng.integers(0, n, (n_resamples, n))
        b0, b1 = before[idx].mean(1), after[idx].mean(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            sh = (b0 - b1) / b0
        out["before"]["ci"], out["after"]["ci"] = _ci(b0), _ci(b1)
        out["remaining"]["ci"] = out["after"]["ci"]
        out["explained_share"]["ci"] = _ci(sh) if out["explained_share"]["value"] is not None else None
    return out


def adaptation_record(per_image: pd.DataFrame, models: Iterable[dict[str, Any]], group_a: str, group_b: str, *,
                      seed: int = 0, n_resamples: int = N_RESAMPLES) -> dict[str, Any] | None:
    """The record of every adapted model among ``models`` (descriptions, as ``manifest.json["models"]``), or
    None when there is none; differences are ``group_a - group_b`` (gaps) and ``B - A`` (parameters, so that
    "B's fixations need a stronger centre bias" reads as a positive difference)."""
    adapted = [d for d in models if isinstance(d, dict) and d.get("kind") == "adapted"]
    if not adapted:
        return None
    n_images = int(per_image["image"].nunique()) if len(per_image) else 0
    entries = []
    for d in adapted:
        entry = {"model": d.get("base"), "adapted": d.get("name"),
                 "parameters": _parameters(d, group_a, group_b, n_images >= MIN_IMAGES),
                 "gap": {m: _gap(per_image, d.get("base"), d.get("name"), group_a, group_b, m, seed, n_resamples)
                         for m in GAP_METRICS}}
        entry["sentences"] = _sentences(entry, group_a, group_b)
        entries.append(entry)
    return {"groups": [group_a, group_b], "gap": f"{group_a} - {group_b} (image means, probabilistic convention)",
            "parameter_difference": f"{group_b} - {group_a}", "min_images_for_ci": MIN_IMAGES,
            "definitions": {k: v[0] for k, v in WORDS.items()},
            "explained_share": "(gap before - gap after) / gap before; CIs: bootstrap over images (percentile)",
            "models": entries, "sentences": [s for e in entries for s in e["sentences"]]}


def adaptation_sentences(record: dict[str, Any] | None) -> list[str]:
    """The record's sentences (every model's, in order); none without a record."""
    return list(record.get("sentences", [])) if record else []


def _num(v: float | None, unit: str = "") -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    if unit == "%":
        return f"{100 * v:.0f} %"
    if unit == "px":
        return f"{v:.0f} px"
    return f"{v:.2f}"


def _with_ci(x: dict[str, Any], unit: str = "") -> str:
    ci = x.get("ci")
    text = _num(x.get("value"), unit)
    return f"{text} (95 % CI {_num(ci[0], unit)} to {_num(ci[1], unit)})" if ci else text


def _edge(x: dict[str, Any]) -> str:
    end = x.get("at_bound")
    return f", at the {end} end of the range searched" if end else ""


def _sentences(entry: dict[str, Any], a: str, b: str) -> list[str]:
    model, par = entry["model"], entry["parameters"]
    out = []
    if a in par["groups"] and b in par["groups"]:
        parts = []
        clear, unclear = [], []
        for k, (label, unit, more, less) in WORDS.items():
            pa, pb = par["groups"][a][k], par["groups"][b][k]
            text = (f"a {label} of {_with_ci(pb, unit)}{_edge(pb)} for {b} against {_with_ci(pa, unit)}{_edge(pa)} "
                    f"for {a}")
            diff = par["difference_b_minus_a"][k]
            ratio = par["ratio_b_over_a"][k]["value"]
            if diff["ci"] and (diff["ci"][0] > 0 or diff["ci"][1] < 0):
                word = more if diff["value"] > 0 else less
                times = f", {ratio:.1f}x" if ratio and k in ("sigma", "w") else ""
                clear.append(f"{label} ({b} {word}{times})")
            else:
                unclear.append(label)
            parts.append(text)
        out.append(f"{model} refitted to each group ({entry['adapted']}): " + "; ".join(parts) + ".")
        if not par["difference_b_minus_a"]["w"]["ci"]:
            out.append(f"No CI of the group differences: they need at least {MIN_IMAGES} images and bootstrap "
                       "resamples.")
        else:
            out.append((f"{b} fixations differ clearly from {a}'s (95 % CI of {b} − {a} excluding 0) in: "
                        + ", ".join(clear) if clear else f"No parameter differs clearly between {b} and {a}")
                       + (f"; no clear difference in {', '.join(unclear)}." if unclear and clear else "."))
    gap = entry["gap"].get("ig") or entry["gap"].get("ll")
    if gap:
        metric = "information gain" if entry["gap"].get("ig") else "log-likelihood"
        unit = gap["unit"]
        line = (f"{model}'s {metric} gap {a} − {b}: {_with_ci(gap['before'])} {unit} before adaptation, "
                f"{_with_ci(gap['after'])} after ({gap['n_images']} images).")
        before_ci = gap["before"]["ci"]
        share = gap["explained_share"]
        if share["value"] is None:
            line += " There is no gap to explain."
        elif before_ci and before_ci[0] <= 0 <= before_ci[1]:
            line += (" The gap itself is not clearly different from 0, so the share the adaptation explains "
                     f"({_num(share['value'], '%')}) is not meaningful.")
        else:
            share_text = (f"{_num(share['value'], '%')} (95 % CI {_num(share['ci'][0], '%')} to "
                          f"{_num(share['ci'][1], '%')})" if share["ci"] else _num(share["value"], "%"))
            worse = b if gap["before"]["value"] > 0 else a
            line += (f" How the groups look (centre bias, spread, temperature, uniform share) explains {share_text} "
                     f"of it; the remaining {_num(gap['after']['value'])} {unit} is what these generic factors do "
                     f"not explain: what the model's content misses for {worse}, and any difference in how "
                     "predictable each group's gaze is (compare the gold standard's gap).")
        out.append(line)
    return out
