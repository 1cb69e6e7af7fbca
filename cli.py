"""The ``frontdoor`` command: a thin click skin over the library.

Each command opens the store, calls one library function and prints its result. Library errors
(:class:`telephony.errors.FrontdoorError`) become one-line messages with exit code 1; nothing
here holds analysis logic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pandas as pd

from telephony.errors import FrontdoorError

OUTPUT_FORMATS = ("table", "csv", "json")


class FrontdoorGroup(click.Group):
    """A group whose commands turn library errors into one-line messages."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FrontdoorError as exc:
            raise click.ClickException(str(exc)) from None
        except PermissionError as exc:
            raise click.ClickException(f"permission denied: {exc.filename}") from None


def emit(df: pd.DataFrame, fmt: str) -> None:
    """Print a table for people (``table``) or tools (``csv``, ``json``)."""
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(df.to_json(orient="records", date_format="iso", indent=1))
    elif df.empty:
        click.echo("(nothing)")
    else:
        click.echo(df.to_string(index=False))


store_option = click.option(
    "--store",
    "store_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="FRONTDOOR_STORE",
    default="frontdoor-data",
    show_default=True,
    help="Store directory (or set FRONTDOOR_STORE).",
)
format_option = click.option(
    "--format",
    "out_format",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="table for people, csv or json for other tools.",
)


@click.group(cls=FrontdoorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="frontdoor-analytics")
def main() -> None:
    """Frontdoor: telephony and demand analytics for UK general practice.

    Turn phone-system exports into a pseudonymised call history, then measure demand.

    \b
    Start here:
      frontdoor demo                       ingest the bundled sample exports
      frontdoor formats                    which phone-system exports can be read
      frontdoor ingest calls FILE... --practice A81001
      frontdoor store info
    """


@main.command("formats")
@format_option
def formats_cmd(out_format: str) -> None:
    """List the phone-system export formats Frontdoor reads.

    \b
    Example:
      frontdoor formats --format csv
    """
    from telephony.formats import FORMATS

    df = pd.DataFrame(
        [{"name": f.name, "reads": f.title, "example file": f.example} for f in FORMATS.values()]
    )
    emit(df, out_format)


@main.group("ingest", cls=FrontdoorGroup)
def ingest_group() -> None:
    """Bring exports into the store."""


def _make_progress(path: Path):
    """A progress bar on stderr for big files: rows read against an estimate from the head."""
    size = path.stat().st_size
    if size < 5_000_000 or not sys.stderr.isatty():
        return None, None
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    per_line = max(1.0, len(head) / max(1, head.count(b"\n")))
    if head[:2] == b"\x1f\x8b":
        per_line /= 8  # gzip: a rough ratio is better than none
    bar = click.progressbar(length=int(size / per_line), label=path.name, file=sys.stderr)
    state = {"done": 0}

    def update(rows: int) -> None:
        bar.update(max(0, rows - state["done"]))
        state["done"] = rows

    return bar, update


@ingest_group.command("calls")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--practice", required=True, help="ODS code of the practice the calls belong to, e.g. A81001.")
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    help="Input format name (see 'frontdoor formats'); auto sniffs each file.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A TOML mapping file describing a bespoke supplier export (overrides --format).",
)
@click.option("--timezone", default="Europe/London", show_default=True, help="Timezone of local times in the export.")
@store_option
def ingest_calls_cmd(paths, practice, fmt, mapping, timezone, store_dir) -> None:
    """Ingest phone-system call exports for one practice.

    Files may be CSV, TXT, LOG, JSON, JSONL or XLSX, any of them gzipped. Each file's format is
    detected from its first bytes unless --format or --mapping is given. Caller numbers are
    pseudonymised before anything is written; bad rows go to the store's rejects folder with
    their line and reason. Ingesting the same file twice never double-counts.

    \b
    Example:
      frontdoor ingest calls exports/queue_log* --practice A81001
      frontdoor ingest calls report.csv --practice A81001 --mapping xon.toml
    """
    from telephony.ingest import ingest_file
    from telephony.store import open_store
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown timezone {timezone!r}; use an IANA name like Europe/London", param_hint="--timezone")
    loaded = None
    if mapping:
        from telephony.formats.mapping import load_mapping

        loaded = load_mapping(mapping)
    store = open_store(store_dir, create=True)
    failed = 0
    for path in paths:
        bar, update = _make_progress(Path(path)) if Path(path).is_file() else (None, None)
        try:
            if bar is not None:
                with bar:
                    res = ingest_file(store, path, practice, fmt, timezone, loaded, update)
            else:
                res = ingest_file(store, path, practice, fmt, timezone, loaded)
        except FrontdoorError as exc:
            if len(paths) == 1:
                raise
            failed += 1
            click.echo(f"error: {exc}", err=True)
            continue
        click.echo(res.summary())
        if res.unknown:
            words = ", ".join(f"{w} ({n})" for w, n in res.unknown.most_common(10))
            click.echo(f"  unknown vendor words: {words}")
        if res.rejects_path is not None:
            click.echo(f"  rejected rows and reasons: {res.rejects_path}")
    if failed:
        raise click.ClickException(f"{failed} of {len(paths)} files could not be ingested (see above)")


@main.group("store", cls=FrontdoorGroup)
def store_group() -> None:
    """Look into a store."""


@store_group.command("info")
@store_option
@format_option
def store_info_cmd(store_dir, out_format) -> None:
    """Summarise what a store holds: per practice, months, rows, period, ingests.

    \b
    Example:
      frontdoor store info --store frontdoor-data
    """
    from telephony.store import open_store

    store = open_store(store_dir)
    emit(store.info(), out_format)


@main.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default="frontdoor-demo",
    show_default=True,
    help="Folder for the demo store.",
)
def demo_cmd(out: Path) -> None:
    """Ingest the bundled sample exports into a store and show what went in.

    \b
    Example:
      frontdoor demo --out /tmp/demo
    """
    from telephony.samples import ingest_samples
    from telephony.store import open_store

    store = open_store(out / "store", create=True)
    for res in ingest_samples(store):
        click.echo(res.summary())
    click.echo(f"\nStore: {out / 'store'}")
    emit(store.info(), "table")


if __name__ == "__main__":  # pragma: no cover
    main()
