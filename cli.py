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
      frontdoor demo                       simulate three practices, write and ingest their exports
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
@click.option(
    "--timezone",
    default=None,
    show_default="Europe/London",
    help="Timezone of local times in the export. When not given, a mapping's own [datetime] "
    "timezone applies, else Europe/London.",
)
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
        if timezone is not None:
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


@ingest_group.command("appointments")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--practice",
    help="ODS code of the practice, e.g. A81001. Required for slot reports; for a GPAD file, the "
    "one practice to keep (every practice in the file when omitted).",
)
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    help="gpad, or a slot report mapping: emis_appointments, systmone_appointments; auto sniffs each file.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A TOML mapping file describing a bespoke slot report (overrides --format).",
)
@click.option(
    "--timezone",
    default=None,
    show_default="Europe/London",
    help="Timezone of local times in a slot report. When not given, a mapping's own [datetime] "
    "timezone applies, else Europe/London.",
)
@store_option
def ingest_appointments_cmd(paths, practice, fmt, mapping, timezone, store_dir) -> None:
    """Ingest appointment exports: slot reports or NHS Digital GPAD monthly counts.

    Slot reports (one row per slot, from EMIS Web or SystmOne) go to the appointments table,
    read through a mapping; GPAD practice-level CSVs go to their own gpad table. Clinicians'
    names and patient ids are pseudonymised before anything is written; bad rows go to the
    store's rejects folder with their line and reason. Ingesting the same file twice never
    double-counts.

    \b
    Example:
      frontdoor ingest appointments slots.csv --practice A81001
      frontdoor ingest appointments appts.csv --practice A81001 --mapping systmone_mine.toml
      frontdoor ingest appointments Practice_Level_Crosstab_Oct_25.csv --format gpad
    """
    from demand.ingest_appointments import ingest_appointment_file
    from telephony.store import open_store
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        if timezone is not None:
            ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown timezone {timezone!r}; use an IANA name like Europe/London", param_hint="--timezone")
    loaded = None
    if mapping:
        from demand.appointment_mapping import load_appointment_mapping

        loaded = load_appointment_mapping(mapping)
    store = open_store(store_dir, create=True)
    failed = 0
    for path in paths:
        bar, update = _make_progress(Path(path)) if Path(path).is_file() else (None, None)
        try:
            if bar is not None:
                with bar:
                    res = ingest_appointment_file(store, path, practice, fmt, loaded, timezone, update)
            else:
                res = ingest_appointment_file(store, path, practice, fmt, loaded, timezone)
        except FrontdoorError as exc:
            if len(paths) == 1:
                raise
            failed += 1
            click.echo(f"error: {exc}", err=True)
            continue
        click.echo(res.summary())
        if res.unknown:
            words = ", ".join(f"{w} ({n})" for w, n in res.unknown.most_common(10))
            click.echo(f"  unknown words: {words}")
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
    help="Folder for the exports and the store (an earlier demo there is replaced).",
)
@click.option("--weeks", type=click.IntRange(1, 520), default=56, show_default=True, help="Weeks to simulate from Monday 6 January 2025.")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed writes the same files, byte for byte.")
def demo_cmd(out: Path, weeks: int, seed: int) -> None:
    """Simulate a federation of three practices, write their exports and ingest them.

    Three practices (about 6,000, 9,000 and 12,000 patients) on three phone systems (Asterisk
    queue_log, 3CX call reports, X-on call reports) and two clinical systems (EMIS-style and
    SystmOne-style slot reports), plus GPAD monthly counts, written as real export files under
    OUT/exports and ingested the normal way into OUT/store. The simulation has the 8am rush,
    Monday peaks, winter pressure, bank holidays, a queue with redials and call-backs, and
    same-day appointments that run out. Every phone number is from Ofcom's drama ranges.

    \b
    Example:
      frontdoor demo --out /tmp/demo
      frontdoor demo --out /tmp/demo --weeks 8 --seed 2
    """
    from demand.demo import run_demo
    from telephony.store import open_store

    res = run_demo(out, weeks, seed, progress=lambda msg: click.echo(msg, err=True))
    files = res.demo.files
    click.echo(f"Exports: {out / 'exports'} ({len(files)} files)")
    for r in res.call_results + res.appointment_results:
        click.echo("  " + r.summary())
    for note in res.skipped:
        click.echo(f"  note: {note}")
    click.echo(f"\nStore: {res.store}  (practices registry: {res.store / 'practices.parquet'})")
    emit(open_store(res.store).info(), "table")


if __name__ == "__main__":  # pragma: no cover
    main()
