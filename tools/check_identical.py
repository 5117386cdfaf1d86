"""Check that a change keeps every score byte-identical: the same commands on the same inputs, run with
the code of a base revision and with the working tree, must write the same CSV files.

    .venv/bin/python tools/check_identical.py --base f46b894
    .venv/bin/python tools/check_identical.py --base main --n-images 6 --keep /tmp/ident

Inputs (built once, in a temporary folder, used by both): the bundled demo dataset; a synthetic
Saliency4ASD-layout set (``benchmarks/bench_evaluate.py``'s builder, N images 768x1024, no shipped
``_s.png``); smooth log-density maps for both (float32 ``.npy``) and 8-bit PNG saliency maps for the demo;
a fixation table of the demo's fixations. Each configuration runs ``python -m asdgaze.cli`` (the command
line, whose commands and options both revisions share) once with ``PYTHONPATH`` at the base's ``src/``
and once at the working tree's, and every score table written (``per_image.csv``, ``per_fixation.csv``,
``summary.csv``; the comparison's and the report's tables may gain columns) is compared byte for byte.
Exit 0 when all are identical; otherwise the first differing lines are shown. ``--new-rows
model=gold-standard,convention=mit`` (repeatable): rows an issue adds on purpose; they are dropped from the
working tree's tables (and must be absent from the base's) before the comparison, and counted.
``--changed-rows model=uniform,metric=nss`` (repeatable): rows whose values an issue names as wrong; they are
dropped from both sides, which must have as many of them, and counted.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SCORES = ("per_image.csv", "per_fixation.csv", "summary.csv")


def _smooth_log_density(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.special import logsumexp

    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    log_p = -(((yy - cy) / (0.2 * h)) ** 2 + ((xx - cx) / (0.2 * w)) ** 2) / 2
    log_p += 0.3 * rng.standard_normal((h // 32 + 1, w // 32 + 1)).repeat(32, 0).repeat(32, 1)[:h, :w]
    return (log_p - logsumexp(log_p)).astype(np.float32)


def build_inputs(root: Path, n_images: int) -> dict[str, Path]:
    """The demo's dataset path, a synthetic dataset, their maps and a table of the demo's fixations."""
    sys.path.insert(0, str(REPO / "src"))
    sys.path.insert(0, str(REPO / "benchmarks"))
    from PIL import Image

    from asdgaze.data import demo_dataset_path, load_dataset
    from bench_evaluate import build

    rng = np.random.default_rng(7)
    demo = demo_dataset_path()
    ds = load_dataset(demo)
    out = {"demo": demo}
    for name in ("demo_maps", "demo_png"):
        (root / name).mkdir()
    rows = ["image,x,y,group,viewer"]
    for stem, stim in ds.stimuli.items():
        log_p = _smooth_log_density(stim.height, stim.width, rng)
        np.save(root / "demo_maps" / f"{stem}.npy", log_p)
        p = np.exp(log_p.astype(np.float64))
        Image.fromarray(np.round(255 * p / p.max()).astype(np.uint8)).save(root / "demo_png" / f"{stem}.png")
        for g in ds.groups:
            f = ds.fixations_for(g, stem)
            rows += [f"{stim.path.name},{x:g},{y:g},{g},{v}" for x, y, v in zip(f.x, f.y, f.viewer)]
    (root / "demo_table.csv").write_text("\n".join(rows) + "\n")
    out.update(demo_maps=root / "demo_maps", demo_png=root / "demo_png", demo_table=root / "demo_table.csv",
               demo_images=demo / "TrainingData" / "Images")
    synth = build(root / "synth", n_images)  # writes root/synth/maps too
    out.update(synth=synth, synth_maps=root / "synth" / "maps")
    return out


def configurations(inp: dict[str, Path]) -> dict[str, list[str]]:
    """Evaluate commands (without --out) covering both conventions, every baseline and the option paths."""
    ev = ["evaluate", "--no-progress", "--workers", "2"]
    demo = ["--dataset", str(inp["demo"])]
    return {
        "demo-default": ev + demo + ["--maps", f"m={inp['demo_maps']}", "--maps-kind", "log-density"],
        "demo-mit-only": ev + demo + ["--maps", str(inp["demo_maps"]), "--maps-kind", "log-density",
                                      "--convention", "mit", "--baselines", "none"],
        "demo-density-uniform-ig": ev + demo + ["--maps", f"m={inp['demo_maps']}", "--maps", f"png={inp['demo_png']}",
                                                "--maps-kind", "log-density", "--saliency-maps", "density",
                                                "--ig-baseline", "uniform", "--prob-ig-baseline", "uniform",
                                                "--shuffled-others", "all", "--seed", "3"],
        "demo-table": ev + ["--dataset", str(inp["demo_images"]), "--table", str(inp["demo_table"]), "--coords",
                            "0-based", "--maps", str(inp["demo_maps"]), "--maps-kind", "log-density",
                            "--fixmap-sigma", "30"],
        "synth-default": ev + ["--dataset", str(inp["synth"]), "--maps", f"m={inp['synth_maps']}",
                               "--maps-kind", "log-density"],
        # `asdgaze demo` without weights: the baselines, then compare and report (their CSVs too)
        "demo-run": ["demo", "--no-download", "--no-progress", "--workers", "2"],
    }


def run_all(src: Path, confs: dict[str, list[str]], out: Path) -> None:
    home = out / "asdgaze-home"  # an empty weights cache: the demo runs the baselines only
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(src), ASDGAZE_HOME=str(home), ASDGAZE_OFFLINE="1")
    for name, args in confs.items():
        r = subprocess.run([sys.executable, "-m", "asdgaze.cli", *args, "--out", str(out / name)], env=env,
                           capture_output=True, text=True)
        if r.returncode not in (0,):
            print(f"{name} ({src}): exit {r.returncode}\n{r.stderr[-3000:]}")


def _matches(row: dict[str, str], filters: list[dict[str, str]]) -> bool:
    return any(all(row.get(k) == v for k, v in f.items()) for f in filters)


def drop_rows(text: str, filters: list[dict[str, str]]) -> tuple[str, int]:
    """``text`` (a CSV) without the rows matching any filter, and how many were dropped."""
    lines = text.splitlines(keepends=True)
    if not filters or not lines:
        return text, 0
    header = next(csv.reader([lines[0]]))
    kept, dropped = [lines[0]], 0
    for line in lines[1:]:
        row = dict(zip(header, next(csv.reader(io.StringIO(line)))))
        if _matches(row, filters):
            dropped += 1
        else:
            kept.append(line)
    return "".join(kept), dropped


NEW_ROWS: list[dict[str, str]] = []
CHANGED_ROWS: list[dict[str, str]] = []
DROPPED: dict[str, int] = {}
CHANGED: dict[str, int] = {}


def compare(a: Path, b: Path) -> list[str]:
    problems = []
    names = sorted({p.relative_to(root) for root in (a, b) for p in root.rglob("*.csv") if p.name in SCORES})
    if not names:
        return ["no CSV file was written"]
    for rel in names:
        pa, pb = a / rel, b / rel
        if not pa.is_file() or not pb.is_file():
            problems.append(f"{rel}: only in {'base' if pa.is_file() else 'working tree'}")
            continue
        ta, tb = pa.read_text(), pb.read_text()
        if NEW_ROWS:
            ta_kept, in_base = drop_rows(ta, NEW_ROWS)
            tb, DROPPED[str(rel)] = drop_rows(tb, NEW_ROWS)
            if in_base:
                problems.append(f"{rel}: the base already has {in_base} of the rows --new-rows names")
        if CHANGED_ROWS:
            ta, in_base = drop_rows(ta, CHANGED_ROWS)
            tb, CHANGED[str(rel)] = drop_rows(tb, CHANGED_ROWS)
            if in_base != CHANGED[str(rel)]:
                problems.append(f"{rel}: --changed-rows: {in_base} rows in the base, {CHANGED[str(rel)]} here")
        if ta != tb:
            diff = list(difflib.unified_diff(ta.splitlines(), tb.splitlines(),
                                             "base", "working tree", n=0, lineterm=""))
            problems.append(f"{rel}: differs ({sum(1 for d in diff if d.startswith('+') and not d.startswith('+++'))} "
                            "lines)\n  " + "\n  ".join(diff[:8]))
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="git revision whose outputs are the reference")
    ap.add_argument("--n-images", type=int, default=8, help="images of the synthetic set")
    ap.add_argument("--keep", help="keep inputs and outputs in this folder")
    ap.add_argument("--new-rows", action="append", default=[],
                    help="rows added on purpose, e.g. model=gold-standard,convention=mit (repeatable)")
    ap.add_argument("--changed-rows", action="append", default=[],
                    help="rows whose values change on purpose, e.g. model=uniform,metric=nss (repeatable)")
    args = ap.parse_args()
    CHANGED_ROWS.extend(dict(kv.split("=", 1) for kv in spec.split(",")) for spec in args.changed_rows)
    NEW_ROWS.extend(dict(kv.split("=", 1) for kv in spec.split(",")) for spec in args.new_rows)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="identical-"))
    work.mkdir(parents=True, exist_ok=True)
    base_tree = work / "base-tree"
    try:
        if base_tree.exists():
            shutil.rmtree(base_tree)
        base_tree.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.base, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base_tree)], input=archive.stdout, check=True)
        inputs = work / "inputs"
        if inputs.exists():
            shutil.rmtree(inputs)
        inputs.mkdir()
        confs = configurations(build_inputs(inputs, args.n_images))
        run_all(base_tree / "src", confs, work / "base")
        run_all(REPO / "src", confs, work / "new")
        problems = compare(work / "base", work / "new")
        n = len([p for p in (work / "base").rglob("*.csv") if p.name in SCORES])
        if problems:
            print(f"NOT identical ({len(problems)} of {n} CSV files):")
            print("\n".join(problems))
            return 1
        print(f"identical: {n} CSV files of {len(confs)} configurations ({', '.join(confs)}), base {args.base}")
        if NEW_ROWS:
            print(f"  after dropping {sum(DROPPED.values())} new rows ({', '.join(args.new_rows)}) in "
                  f"{sum(1 for v in DROPPED.values() if v)} files")
        if CHANGED_ROWS:
            print(f"  after dropping {sum(CHANGED.values())} changed rows ({', '.join(args.changed_rows)}) from "
                  f"both sides in {sum(1 for v in CHANGED.values() if v)} files")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
