"""Command line: parses arguments and calls the library. Everything here is also doable from Python."""

from __future__ import annotations

import sys

import click

from asdgaze import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asdgaze")
def cli() -> None:
    """DeepGaze IIE saliency maps and benchmark-exact metrics for ASD vs TD eye-tracking data."""


# --- evaluate / demo -------------------------------------------------------------------------------


def _parse_groups(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    groups = tuple(g.strip() for g in value.split(",") if g.strip())
    return groups or None


def _parse_n_other(value: str) -> int | None:
    if value.lower() == "all":
        return None
    try:
        n = int(value)
    except ValueError:
        raise click.BadParameter(f"expected a positive integer or 'all', got {value!r}")
    if n < 1:
        raise click.BadParameter(f"expected a positive integer or 'all', got {value!r}")
    return n


def _load_dataset(dataset: str, table: str | None, coords: str | None, groups):
    from asdgaze.data import load_dataset

    try:
        return load_dataset(dataset, table=table, coords=coords, groups=groups)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e))


def _print_result(result, title: str) -> None:
    from asdgaze.report.tables import summary_table

    click.echo(f"\n{title}")
    click.echo(summary_table(result.summary))
    click.echo("")
    for name, path in result.files.items():
        click.echo(f"  {name:<14} {path}")


@cli.command()
@click.option("--dataset", required=True, type=click.Path(exists=True, file_okay=False),
              help="Saliency4ASD folder (TrainingDataset/, TrainingData/ or flattened) or a folder of images.")
@click.option("--table", type=click.Path(exists=True, dir_okay=False),
              help="CSV/TSV of fixations (columns image, x, y[, group, viewer, duration]) for a plain image folder.")
@click.option("--coords", type=click.Choice(["0-based", "1-based"]),
              help="Pixel coordinates of --table (required with --table).")
@click.option("--maps", "maps_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of maps named by image stem: <stem>.npy or 8/16-bit <stem>.png.")
@click.option("--maps-kind", type=click.Choice(["saliency", "log-density"]),
              help="What .npy maps hold; log-densities are scored as exp(log p) in float64.")
@click.option("--groups", help="Comma-separated groups to score (default: all, e.g. ASD,TD).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--ig-baseline", default="gaussian", show_default=True,
              help="Information-gain baseline: gaussian, uniform, or a template map file (.npy/.png).")
@click.option("--ig-baseline-kind", type=click.Choice(["saliency", "log-density"]), default="log-density",
              show_default=True, help="What an .npy --ig-baseline file holds.")
@click.option("--shuffled-others", default="10", show_default=True,
              help="Other images (same group) whose fixations are shuffled-AUC negatives: N or 'all'.")
@click.option("--seed", type=int, default=0, show_default=True, help="Root seed of all random draws.")
@click.option("--allow-missing", is_flag=True, help="Score the images that have maps; list the others.")
@click.option("--workers", type=int, default=None, help="Parallel processes (default: CPU cores).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def evaluate(dataset, table, coords, maps_dir, maps_kind, groups, out_dir, ig_baseline, ig_baseline_kind,
             shuffled_others, seed, allow_missing, workers, no_progress) -> int:
    """Score saliency maps against each group's fixations (MIT-convention metrics)."""
    from asdgaze.evaluate import EvaluateError, EvaluateOptions
    from asdgaze.evaluate import evaluate as run_evaluate
    from asdgaze.maps.io import MapError

    if table and not coords:
        raise click.UsageError("--table needs --coords 0-based|1-based")
    ds = _load_dataset(dataset, table, coords, _parse_groups(groups))
    options = EvaluateOptions(
        groups=_parse_groups(groups), maps_kind=maps_kind, ig_baseline=ig_baseline,
        ig_baseline_kind=ig_baseline_kind, shuffled_n_other=_parse_n_other(shuffled_others), seed=seed,
        allow_missing=allow_missing,
    )
    try:
        result = run_evaluate(ds, maps_dir, out_dir, options, workers=workers, progress=not no_progress)
    except (EvaluateError, MapError) as e:
        raise click.ClickException(str(e))
    _print_result(result, f"{ds.name}: {len(ds.stimuli) - len(result.missing)} images, convention mit")
    if result.missing:
        click.echo(f"  not scored (no map): {', '.join(result.missing)}")
    return 0


@cli.command()
@click.option("--out", "out_dir", default="demo-output", show_default=True, type=click.Path(file_okay=False),
              help="Output folder.")
@click.option("--workers", type=int, default=None, help="Parallel processes (default: CPU cores).")
def demo(out_dir, workers) -> int:
    """Run the pipeline on the bundled demo data (8 OSIE images, real fixations)."""
    from asdgaze.demo_run import run_demo

    try:
        run_demo(out_dir, workers=workers, echo=click.echo)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e))
    return 0



# --- predict / weights (DeepGaze IIE) --------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    try:
        rc = cli.main(args=argv, prog_name="asdgaze", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except SystemExit as e:  # --help, --version
        return int(e.code or 0)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
