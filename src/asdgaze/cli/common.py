"""What the commands share: the group, errors shown as one line, warnings once each, loading a dataset."""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

import click

from asdgaze import __version__

__all__ = ["cli", "warnings_once", "user_errors", "load_dataset_for", "check_shard", "compare_options_from",
           "print_failures"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asdgaze")
def cli() -> None:
    """DeepGaze IIE saliency maps and benchmark-exact metrics for ASD vs TD eye-tracking data."""


@contextlib.contextmanager
def warnings_once() -> Iterator[None]:
    """Show each distinct warning once, as ``warning: <message>`` on stderr, without source lines."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message)
        if text not in seen:
            seen.add(text)
            click.echo(f"warning: {text}", err=True)

    with warnings.catch_warnings():
        warnings.filterwarnings("always", category=UserWarning)  # ours; dedup is by text, above
        warnings.showwarning = show
        yield


def user_errors() -> tuple[type[Exception], ...]:
    """Errors that become a clean message and exit code 1 (anything else is a bug and shows its traceback)."""
    from asdgaze.errors import AsdgazeError

    return (AsdgazeError, ValueError, FileNotFoundError)


def load_dataset_for(dataset: str, table: str | None, coords: str | None, groups=None, regions: str | None = None):
    """Load the dataset (``regions``: a --regions table); its warnings (e.g. dropped fixations) are shown and
    returned for the manifest."""
    from pathlib import Path

    from asdgaze.data import load_dataset

    if table and not coords:
        raise click.UsageError("--table needs --coords 0-based|1-based")
    # absolute paths: every loader message and the manifest then name files that can be found later
    dataset = str(Path(dataset).expanduser().resolve())
    table = str(Path(table).expanduser().resolve()) if table else None
    regions = str(Path(regions).expanduser().resolve()) if regions else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = load_dataset(dataset, table=table, coords=coords, groups=groups, regions=regions)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e))
    messages = [str(w.message) for w in caught]
    for m in messages:
        click.echo(f"warning: {m}", err=True)
    source = {"path": str(dataset), "table": table, "coords": coords if table else "1-based (Saliency4ASD scanpaths)",
              "loader_warnings": messages, **({"regions": regions} if regions else {})}
    return ds, source


def check_shard(shard: str | None) -> None:
    """A bad --shard is a usage error, found before any data is read."""
    if shard is not None:
        from asdgaze.errors import AsdgazeError
        from asdgaze.runfolder import parse_shard

        try:
            parse_shard(shard)
        except AsdgazeError as e:
            raise click.UsageError(str(e))


def compare_options_from(groups: str, n_resamples: int, n_permutations: int, seed: int):
    from asdgaze.analysis.compare import CompareOptions

    parts = [g.strip() for g in groups.split(",") if g.strip()]
    if len(parts) != 2 or parts[0] == parts[1]:
        raise click.BadParameter(f"expected two different groups A,B (difference A - B), got {groups!r}",
                                 param_hint="--groups")
    return CompareOptions(group_a=parts[0], group_b=parts[1], n_resamples=n_resamples,
                          n_permutations=n_permutations, seed=seed)


def print_failures(result) -> int:
    """The pairs not scored (stderr), and the exit status: 1 if there are any."""
    if result.failures:
        click.echo(f"{len(result.failures)} (image, group) pair(s) not scored:", err=True)
        for f in result.failures:
            click.echo(f"  {f.image} ({f.group}): {f.error}", err=True)
        return 1
    return 0
