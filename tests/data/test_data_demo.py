"""The bundled demo dataset: 8 osie-s4a images, same layout, same bytes, small."""

from __future__ import annotations

from pathlib import Path

from asdgaze.data import demo_dataset_path, load_dataset, load_demo


def test_demo_loads():
    ds = load_demo()
    assert len(ds) == 8 and list(ds.stimuli) == [str(i) for i in range(1, 9)]
    assert ds.groups == ["ASD", "TD"]
    assert all(len(ds.fixations[g]) == 8 for g in ds.groups)
    assert all(len(ds.fixation_maps[g]) == 8 for g in ds.groups)
    assert load_dataset(demo_dataset_path()).groups == ["ASD", "TD"]


def test_demo_files_are_exact_copies(osie_dir):
    demo = demo_dataset_path()
    src = osie_dir / "TrainingDataset"
    files = sorted(p.relative_to(demo) for p in demo.rglob("*") if p.is_file())
    expected = [Path("TrainingData/Images") / f"{n}.png" for n in range(1, 9)]
    for g in ("ASD", "TD"):
        expected += [Path(f"TrainingData/{g}/{g}_scanpath_{n}.txt") for n in range(1, 9)]
        expected += [Path(f"TrainingData/{g}_FixMaps/{n}_s.png") for n in range(1, 9)]
        expected += [Path(f"AdditionalData/{g}_FixPts/{n}_f.png") for n in range(1, 9)]
    assert files == sorted(expected)
    for rel in files:
        assert (demo / rel).read_bytes() == (src / rel).read_bytes(), rel
    assert (demo.parent / "LICENSE").read_bytes() == (osie_dir / "LICENSE").read_bytes()
    readme = (demo.parent / "README.md").read_text()
    assert "arbitrary" in readme and "OSIE" in readme


def test_demo_is_small():
    total = sum(p.stat().st_size for p in demo_dataset_path().parent.rglob("*") if p.is_file())
    assert total < 8_000_000
