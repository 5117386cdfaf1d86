"""The CPU-only side works without torch: weights status/import of the template, centre biases, the demo.

torch is hidden in a fresh interpreter by an import hook that refuses it, as on a machine where it
is not installed (``sys.modules['torch'] = None`` would also hide it, but scipy then mistakes the
``None`` entry for an imported torch).
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parent.parent / "src"

SCRIPT = r'''
import json
import numpy as np
from asdgaze.cli import main
from asdgaze.models.centerbias import resolve_centerbias

out_dir, template, file_cb = sys.argv[1:4]
rcs = {"status": main(["weights", "status"]), "import": main(["weights", "import", template]),
       "download_pth": main(["weights", "download", "--file", "deepgaze2e.pth"])}
described = {s: resolve_centerbias(s).describe() for s in ("uniform", "gaussian", "mit1003", file_cb)}
lse = float(np.logaddexp.reduce(resolve_centerbias("mit1003").log_density(60, 80), axis=None))
rcs["demo"] = main(["demo", "--out", out_dir, "--workers", "1"])
print(json.dumps({"rcs": rcs, "described": described, "lse": lse,
                  "torch_loaded": sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))}))
'''


def _log_density(shape) -> np.ndarray:
    w = np.random.default_rng(3).random(shape) + 0.5
    return np.log(w / w.sum())


def test_cpu_side_runs_without_torch(tmp_path, no_torch_prelude):
    import json

    template = tmp_path / "centerbias_mit1003.npy"
    np.save(template, _log_density((1024, 1024)))
    file_cb = tmp_path / "cb.npy"
    np.save(file_cb, _log_density((20, 30)))
    # ASDGAZE_OFFLINE: the demo must not try to download the weights from a test
    env = {**os.environ, "PYTHONPATH": str(SRC), "ASDGAZE_HOME": str(tmp_path / "cache"), "ASDGAZE_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", no_torch_prelude + SCRIPT, str(tmp_path / "demo"), str(template), str(file_cb)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # downloading the checkpoint needs torch to verify it: refused before any download
    assert result["rcs"] == {"status": 0, "import": 0, "download_pth": 1, "demo": 0}
    assert "verifying deepgaze2e.pth needs PyTorch" in proc.stderr
    assert not (tmp_path / "cache" / "deepgaze2e.pth").exists()
    assert result["torch_loaded"] == []
    d = result["described"]
    assert d["mit1003"]["sha256"] == hashlib.sha256(template.read_bytes()).hexdigest()
    assert d[str(file_cb)]["sha256"] == hashlib.sha256(file_cb.read_bytes()).hexdigest()
    assert d["gaussian"]["kind"] == "gaussian" and d["uniform"] == {"kind": "uniform"}
    assert abs(result["lse"]) < 1e-12
    assert "DeepGaze IIE: MISSING, not run" in proc.stdout
    assert (tmp_path / "demo" / "report" / "report.html").is_file()


def _asdgaze_imports(path: Path, module: str) -> set[str]:
    """Every asdgaze module that ``path`` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("asdgaze"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)  # `from pkg import module`
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("asdgaze"))
    return found - {module}


def test_no_import_cycle_in_the_model_code():
    """models/ (centre bias, weights cache, checkpoint, model) import each other without a circle."""
    root = SRC / "asdgaze" / "models"
    modules = {}
    for p in root.rglob("*.py"):
        parts = p.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = p
    graph = {m: _asdgaze_imports(p, m) & set(modules) for m, p in modules.items()}

    def cycle_from(start):
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return trail + [nxt]
                if nxt not in trail:
                    stack.append((nxt, trail + [nxt]))
        return None

    cycles = [c for m in graph if (c := cycle_from(m))]
    assert cycles == []
