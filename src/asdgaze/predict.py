"""``asdgaze predict`` as a library function: DeepGaze IIE over a folder of images or a dataset.

Per image ``<stem>`` it writes, each file atomically (temp file + rename):

* ``maps/<stem>.npy``: float32 (H, W) natural-log density at the image's own size
  (``logsumexp == 0`` up to float32 rounding, within 1e-5).
* ``maps/<stem>.png``: 8-bit grayscale density for viewing:
  ``round(255 * p / max(p))`` with ``p = exp(log density)``, so the most likely pixel is 255 and
  the grey levels are proportional to probability (not comparable across images).
* ``overlays/<stem>.jpg``: the image with the density blended over it ("hot" colours), for looking at.

plus ``manifest.json`` (versions, device, precision, TF32 setting, weights sha256, centre bias,
timings per image). The run is resumable: an image whose three outputs exist is skipped; a run
into a folder whose manifest used other weights / centre bias / precision is refused unless
``overwrite=True``. Images that cannot be read or used are reported by name and skipped.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from asdgaze.io import atomic_path, package_versions, write_json_atomic

PNG_NORMALISATION = "round(255 * p / max(p)), p = exp(log density)"


@dataclass
class PredictResult:
    """What a predict run did: stems written and skipped, failures as (name, reason), the manifest."""

    out_dir: Path
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    manifest_path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


def density_png(log_density: np.ndarray) -> np.ndarray:
    """8-bit grayscale of a log density: ``round(255 * p / max(p))`` with ``p = exp(log density)``.

    >>> density_png(np.log(np.array([[0.1, 0.2], [0.3, 0.4]]))).tolist()
    [[64, 128], [191, 255]]
    """
    ld = np.asarray(log_density, dtype=np.float64)
    p = np.exp(ld - ld.max())
    return np.rint(255.0 * p).astype(np.uint8)


def overlay_image(image: np.ndarray, log_density: np.ndarray, strength: float = 0.7) -> np.ndarray:
    """RGB uint8 image with the density (scaled to its max) blended over it in black-red-yellow-white.

    >>> overlay_image(np.zeros((1, 2, 3), np.uint8), np.log(np.array([[0.5, 0.5]]))).tolist()
    [[[178, 178, 178], [178, 178, 178]]]
    """
    v = np.exp(np.asarray(log_density, np.float64) - np.max(log_density))[:, :, None]
    heat = np.clip(np.concatenate([3 * v, 3 * v - 1, 3 * v - 2], axis=2), 0, 1) * 255
    alpha = strength * v
    return np.rint(image.astype(np.float64) * (1 - alpha) + heat * alpha).astype(np.uint8)


def output_paths(out_dir: Path, stem: str) -> dict[str, Path]:
    return {"npy": out_dir / "maps" / f"{stem}.npy", "png": out_dir / "maps" / f"{stem}.png",
            "overlay": out_dir / "overlays" / f"{stem}.jpg"}


def write_outputs(out_dir: Path, stem: str, image: np.ndarray, log_density: np.ndarray) -> None:
    """Write the three per-image files atomically; the .npy last, so its presence marks completion."""
    from PIL import Image

    paths = output_paths(out_dir, stem)
    with atomic_path(paths["png"]) as tmp:
        Image.fromarray(density_png(log_density), mode="L").save(tmp, format="PNG")
    with atomic_path(paths["overlay"]) as tmp:
        Image.fromarray(overlay_image(image, log_density)).save(tmp, format="JPEG", quality=90)
    with atomic_path(paths["npy"]) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(log_density, dtype=np.float32))


def collect_images(images: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
                   dataset: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """(stem, path) of every input image: a folder, a list of files, or a dataset's stimuli."""
    from asdgaze.data.images import ImageError, list_images

    if (images is None) == (dataset is None):
        raise ValueError("give exactly one of images (a folder or files) and dataset")
    if dataset is not None:
        from asdgaze.data import load_dataset

        ds = load_dataset(dataset)
        items = [(str(sid), Path(st.path)) for sid, st in ds.stimuli.items()]
    elif isinstance(images, (str, os.PathLike)):
        items = [(p.stem, p) for p in list_images(images)]
        if not items:
            raise ImageError(f"{images}: no image files (by suffix) in this folder")
    else:
        items = [(Path(p).stem, Path(p)) for p in images]
    seen: dict[str, Path] = {}
    for stem, path in items:
        if stem in seen:
            raise ValueError(f"two inputs map to the same output name {stem!r}: {seen[stem]} and {path}")
        seen[stem] = path
    return items


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` if available else ``cpu``; ``cuda`` without a GPU is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was requested but torch.cuda.is_available() is False "
                           "(no GPU, or a CPU-only torch build); use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be auto, cpu or cuda[:N], got {device!r}")
    return device


def _versions() -> dict:
    import torch

    out = package_versions("torch", "torchvision", "efficientnet-pytorch", "numpy", "scipy", "pillow")
    out["torch_threads"] = torch.get_num_threads()
    return out


def run_predict(out: str | os.PathLike, images=None, dataset=None, weights: str | os.PathLike | None = None,
                centerbias: str | os.PathLike = "mit1003", device: str = "auto", batch_size: int = 8,
                precision: str = "fp32", overwrite: bool = False, progress: bool = True,
                model=None) -> PredictResult:
    """Predict DeepGaze IIE log densities for images and write maps, overlays and a manifest.

    Args:
        out: output folder (created).
        images: a folder of images, or a list of image files. Exclusive with ``dataset``.
        dataset: a dataset folder for :func:`asdgaze.data.load_dataset` (its stimuli are used).
        weights: checkpoint file; default: the cached ``deepgaze2e.pth`` (error if missing).
        centerbias: ``"mit1003"``, ``"uniform"`` or a ``.npy`` log-density template.
        device: ``auto``, ``cpu`` or ``cuda``. batch_size: images per forward pass (equal sizes only).
        precision: ``fp32`` (exact; TF32 off) or ``bf16`` / ``fp16`` (autocast on the backbones).
        overwrite: recompute existing outputs and accept a manifest with other settings.
        model: an already loaded :class:`~asdgaze.models.deepgaze.DeepGazeIIE` (skips loading ``weights``).

    Returns:
        :class:`PredictResult`; ``result.ok`` is False when any image failed.
    """
    import torch
    from tqdm import tqdm

    from asdgaze.data._checks import image_size
    from asdgaze.data.images import ImageError, load_image
    from asdgaze.models.centerbias import resolve_centerbias
    from asdgaze.models.deepgaze.model import PRECISIONS, DeepGazeIIE, batches_by_size
    from asdgaze.models.deepgaze.weights import resolve_weights, weights_sha256

    t_start = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    out_dir = Path(out)
    items = collect_images(images, dataset)
    dev = resolve_device(device)
    cb = resolve_centerbias(centerbias)
    if model is None:
        wpath = resolve_weights(weights)
        wsha = weights_sha256(wpath)
        wdesc = {"path": str(wpath), "sha256": wsha}
    else:
        wdesc = {"path": None, "sha256": None, "note": "model object passed in"}
    settings = {"weights_sha256": wdesc["sha256"], "centerbias": cb.describe(), "precision": precision}

    manifest_path = out_dir / "manifest.json"
    previous: dict = {}
    if manifest_path.is_file():
        import json

        try:
            previous = json.loads(manifest_path.read_text())
        except ValueError:
            previous = {}
        if previous.get("settings") not in (None, settings) and not overwrite:
            raise ValueError(f"{out_dir} holds outputs made with other settings ({previous.get('settings')}); "
                             f"use another --out folder or --overwrite")
        if previous.get("settings") != settings:
            previous = {}
    result = PredictResult(out_dir=out_dir, manifest_path=manifest_path)
    per_image: dict[str, dict] = dict(previous.get("images", {})) if not overwrite else {}

    pending: list[tuple[str, Path, tuple[int, int]]] = []
    for stem, path in items:
        if not overwrite and all(p.is_file() for p in output_paths(out_dir, stem).values()):
            result.skipped.append(stem)
            per_image.setdefault(stem, {"source": str(path)})["status"] = "skipped (exists)"
            continue
        try:
            pending.append((stem, path, image_size(path)))
        except Exception as e:  # noqa: BLE001 - any unreadable file is reported by name
            result.failures.append((str(path), f"cannot read image ({type(e).__name__}: {e})"))

    if pending and model is None:
        t0 = time.perf_counter()
        model = DeepGazeIIE.from_checkpoint(wpath, device=dev)
        load_seconds = time.perf_counter() - t0
    else:
        load_seconds = 0.0
        if model is not None:
            model = model.to(dev)

    bar = tqdm(total=len(pending), unit="img", desc="DeepGaze IIE", disable=not progress)
    with torch.inference_mode():
        for idx in batches_by_size([p[2] for p in pending], batch_size):
            loaded = []
            for i in idx:
                stem, path, _ = pending[i]
                try:
                    loaded.append((stem, path, load_image(path)))
                except ImageError as e:
                    result.failures.append((str(path), str(e)))
                    bar.update(1)
            # header sizes can disagree with decoded sizes in odd files: regroup to be safe
            for sub in batches_by_size([im.shape[:2] for _, _, im in loaded], batch_size):
                group = [loaded[j] for j in sub]
                h, w = group[0][2].shape[:2]
                t0 = time.perf_counter()
                try:
                    x = torch.from_numpy(np.stack([g[2] for g in group])).permute(0, 3, 1, 2)
                    prior = torch.as_tensor(cb.log_density(h, w), dtype=torch.float32).expand(len(group), h, w)
                    maps = model.forward_parts(x, prior, precision=precision)["output"][:, 0].float().cpu().numpy()
                except (ImageError, ValueError) as e:
                    for stem, path, _ in group:
                        result.failures.append((str(path), str(e)))
                    bar.update(len(group))
                    continue
                seconds = (time.perf_counter() - t0) / len(group)
                for (stem, path, image), ld in zip(group, maps):
                    write_outputs(out_dir, stem, image, ld)
                    result.written.append(stem)
                    per_image[stem] = {"source": str(path), "height": h, "width": w, "status": "written",
                                       "seconds": round(seconds, 4), "batch": len(group)}
                bar.update(len(group))
    bar.close()

    cuda_name = torch.cuda.get_device_name(dev) if dev.startswith("cuda") else None
    manifest = {
        "tool": "asdgaze predict",
        "model": "DeepGaze IIE (Linardos et al. 2021), published checkpoint layout",
        "settings": settings,
        "weights": wdesc,
        "centerbias": cb.describe(),
        "device": dev,
        "device_name": cuda_name or platform.processor() or platform.machine(),
        "precision": precision,
        "tf32": False if dev.startswith("cuda") else "not applicable (CPU)",
        "autocast": None if precision == "fp32" else f"{precision} on the backbones only",
        "batch_size": batch_size,
        "png_normalisation": PNG_NORMALISATION,
        "versions": _versions(),
        "started": started,
        "model_load_seconds": round(load_seconds, 3),
        "total_seconds": round(time.perf_counter() - t_start, 3),
        "images": dict(sorted(per_image.items())),
        "failures": [{"image": n, "error": e} for n, e in result.failures],
    }
    write_json_atomic(manifest_path, manifest)
    return result
