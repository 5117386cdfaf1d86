"""The repository carries every file its tests read: nothing in the code, tests, benchmarks, Makefile or
CI script points at the project's reference folder beside the clone (a user who clones the repository has
none). The folder's name is built below, so that this file does not name the path it searches for."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEARCHED = ("src", "tests", "benchmarks", "tools", "Makefile", ".ci")
FOLDER = "sha" + "red"  # the reference folder's name
# The folder beside the repository, a path into it (FOLDER/specs, FOLDER/data, ...), or the folder built
# from its name (FOLDER quoted as a path part, e.g. parent / "<FOLDER>").
PATTERN = re.compile(rf"\.\./{FOLDER}|\b{FOLDER}/(?:specs|data|deepgaze|metric-oracles|design|hooks)\b"
                     rf"|[/\\]\s*[\"']{FOLDER}[\"']|[\"']{FOLDER}[\"']\s*[/\\)]")
TEXT = {".py", ".sh", ".md", ".txt", ".toml", ".cfg", ".json", ".html", ".j2", ""}


def _files():
    for name in SEARCHED:
        path = REPO / name
        if path.is_file():
            yield path
            continue
        for f in sorted(path.rglob("*")):
            if f.is_file() and f.suffix in TEXT:
                yield f


def test_nothing_refers_to_a_shared_folder_beside_the_repository():
    hits = []
    for f in _files():
        if f == Path(__file__).resolve():
            continue
        for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if PATTERN.search(line):
                hits.append(f"{f.relative_to(REPO)}:{n}: {line.strip()}")
    assert not hits, f"references to ../{FOLDER}:\n" + "\n".join(hits)


def test_the_pattern_finds_what_it_must():
    for line in (f'path = repo_root.parent / "{FOLDER}"', f"see ../{FOLDER}/specs", f"``{FOLDER}/specs/metrics.md``",
                 f"Path('{FOLDER}') / 'data'"):
        assert PATTERN.search(line), line
    for line in ("shared between the two groups", "a shared machine", 'tmp_path / "sharded"'):
        assert not PATTERN.search(line), line


def test_reference_files_are_in_the_repository():
    ref = REPO / "tests" / "reference"
    for rel in ("osie-s4a/TrainingDataset/TrainingData/Images/1.png", "osie-s4a/LICENSE",
                "metric-oracles/mit_expected.json", "metric-oracles/pysal_expected.json",
                "deepgaze/manifest.json", "deepgaze/synth_checkpoint.py", "deepgaze/reference_seed0.pt"):
        assert (ref / rel).is_file(), rel
