"""The ``frontdoor`` command: a thin click skin over the library.

Each command opens the store, calls one library function and prints its result. Library errors
(:class:`telephony.errors.FrontdoorError`) become one-line messages with exit code 1; nothing
here holds analysis logic.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import pandas as pd

from telephony.errors import FrontdoorError
from telephony.privacy import mask_digits
from telephony.firewall import guard_frame, neutralise_csv
from telephony.formats import FORMATS, format_table
from telephony.formats.mapping import load_mapping
from telephony.ingest import ingest_file
from telephony.store import open_store, validate_practice_id

from demand.appointments.ingest import appointment_formats, ingest_appointment_file, load_any_appointment_mapping
from demand.metrics import format_metrics, read_metrics
from demand.simulation.demo import run_demo

from forecasting.backtest import plot_backtest, summarise
from forecasting.models import MODELS, make_model
from forecasting.pipeline import PlanError, backtest_series, forecast_series, read_practice_series
from forecasting.planning.plan import parse_service_level, staff_week

from reports import read_last_complete_week, report_week, write_weekly_report

OUTPUT_FORMATS = ("table", "csv", "json")

# Library messages name the library's arguments in backquotes (`fmt`, `practice`); a person at
# the command line reads the options they type. One table, used for every error and warning.
ARGUMENT_FLAGS: dict[str, str] = {
    "fmt": "--format",
    "mapping": "--mapping",
    "timezone": "--timezone",
    "practice": "--practice",
    "practice_id": "--practice",
    "practices": "--practice",
    "store": "--store",
    "input_file": "--input",
    "out_dir": "--out",
    "out": "--out",
    "weeks": "--weeks",
    "week": "--week",
    "freq": "--freq",
    "first_date": "--from",
    "last_date": "--to",
    "period": "--from/--to",
    "horizon": "--horizon",
    "model": "--model",
    "models": "--models",
    "windows": "--windows",
    "slots_per_session": "--slots-per-session",
    "service_level": "--service-level",
    "max_abandon": "--max-abandon",
    "shrinkage": "--shrinkage",
    "aht_s": "--aht",
    "remove_ingest": "frontdoor store remove --ingest",
}
_ARGUMENT = re.compile(r"`([a-z_]+)`")


def for_people(message: object) -> str:
    """A library message as the command line says it: `argument` names become its options."""
    return _ARGUMENT.sub(lambda m: ARGUMENT_FLAGS.get(m.group(1), m.group(1)), str(message))


class FrontdoorGroup(click.Group):
    """A group whose commands turn library errors into one-line messages.

    Anything else that escapes is a bug, not bad input: it is still reported in one line, with
    phone-number-like digits masked (an exception may quote a row), unless ``FRONTDOOR_DEBUG``
    asks for the traceback.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FrontdoorError as exc:
            raise click.ClickException(for_people(exc)) from None
        except PermissionError as exc:
            raise click.ClickException(f"permission denied: {exc.filename}") from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if os.environ.get("FRONTDOOR_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {mask_digits(exc)} (a Frontdoor bug: please "
                "report it; set FRONTDOOR_DEBUG=1 to see the traceback)"
            ) from None


def emit(df: pd.DataFrame, fmt: str) -> None:
    """Print a table for people (``table``) or tools (``csv``, ``json``).

    Every table passes the privacy firewall first (a phone number in a text cell is masked),
    and CSV cells a spreadsheet would run as a formula are made inert.
    """

    df = guard_frame(df)
    if fmt == "csv":
        click.echo(neutralise_csv(df).to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(df.to_json(orient="records", date_format="iso", indent=1, double_precision=15))
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
      frontdoor metrics queue --practice A81001 --from 2026-11-16 --to 2026-11-22
      frontdoor report --practice A81001 --week 2026-W47
    """


@main.command("formats")
@format_option
def formats_cmd(out_format: str) -> None:
    """List the export formats Frontdoor reads: call exports (ingest calls) and appointment
    exports (ingest appointments), with the kind of each.

    \b
    Example:
      frontdoor formats --format csv
    """

    df = pd.concat(
        [format_table(FORMATS, "calls"), format_table(appointment_formats(), "appointments")], ignore_index=True
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


def _ingest_read_options(format_help: str, mapping_of: str, times_in: str):
    """The --format, --mapping and --timezone options of an ingest command, worded for its files."""

    def decorate(func):
        func = click.option(
            "--timezone",
            default=None,
            show_default="Europe/London",
            help=f"Timezone of local times in {times_in}. When not given, a mapping's own [datetime] "
            "timezone applies, else Europe/London.",
        )(func)
        func = click.option(
            "--mapping",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help=f"A TOML mapping file describing {mapping_of} (overrides --format).",
        )(func)
        return click.option("--format", "fmt", default="auto", show_default=True, help=format_help)(func)

    return decorate


def _check_timezone(timezone: str | None) -> None:
    """Reject a --timezone that is not an IANA name (None means the default applies)."""

    try:
        if timezone is not None:
            ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown timezone {timezone!r}; use an IANA name like Europe/London", param_hint="--timezone")


def _ingest_each(paths, ingest_one, unknown_label: str) -> None:
    """Ingest each path with ``ingest_one(path[, update])`` and print what each one did.

    A file shows a progress bar while it is read. With one path a library error propagates;
    with several, a failing file is reported and the rest go on, and the command fails at the
    end saying how many files could not be ingested.
    """
    failed = 0
    for path in paths:
        bar, update = _make_progress(Path(path)) if Path(path).is_file() else (None, None)
        try:
            if bar is not None:
                with bar:
                    res = ingest_one(path, update)
            else:
                res = ingest_one(path)
        except FrontdoorError as exc:
            if len(paths) == 1:
                raise
            failed += 1
            click.echo(f"error: {for_people(mask_digits(exc))}", err=True)
            continue
        click.echo(for_people(res.summary()))
        if res.unknown:
            words = ", ".join(f"{w} ({n})" for w, n in res.unknown.most_common(10))
            click.echo(f"  {unknown_label}: {words}")
        if res.rejects_path is not None:
            click.echo(f"  rejected rows and reasons: {res.rejects_path}")
        if getattr(res, "ingest_id", "") and not getattr(res, "dry_run", False):
            click.echo(f"  ingest {res.ingest_id} (take it back with: frontdoor store remove --ingest {res.ingest_id})")
    if failed:
        raise click.ClickException(f"{failed} of {len(paths)} files could not be ingested (see above)")


@ingest_group.command("calls")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--practice", required=True, help="ODS code of the practice the calls belong to, e.g. A81001.")
@_ingest_read_options(
    format_help="Input format name (see 'frontdoor formats'); auto sniffs each file.",
    mapping_of="a bespoke supplier export",
    times_in="the export",
)
@click.option("--dry-run", is_flag=True, help="Read and check the files and say what an ingest would do, writing nothing.")
@store_option
def ingest_calls_cmd(paths, practice, fmt, mapping, timezone, dry_run, store_dir) -> None:
    """Ingest phone-system call exports for one practice.

    Files may be CSV, TXT, LOG, JSON, JSONL or XLSX, any of them gzipped. Each file's format is
    detected from its first bytes unless --format or --mapping is given. Caller numbers are
    pseudonymised before anything is written; bad rows go to the store's rejects folder with
    their line and reason. Ingesting the same file again (say with a corrected --timezone)
    replaces what its earlier ingest wrote: it never double-counts. A file whose dialled
    numbers or phone system belong to another practice in the store is warned about.

    \b
    Example:
      frontdoor ingest calls exports/queue_log* --practice A81001 --dry-run
      frontdoor ingest calls exports/queue_log* --practice A81001
      frontdoor ingest calls report.csv --practice A81001 --mapping xon.toml
      frontdoor ingest calls Master.csv --practice A81001 --timezone America/New_York
    """

    _check_timezone(timezone)
    loaded = None
    if mapping:
        loaded = load_mapping(mapping)
    store = open_store(store_dir, create=True)
    _ingest_each(
        paths,
        lambda path, progress=None: ingest_file(
            store, path, practice, fmt=fmt, timezone=timezone, mapping=loaded, progress=progress, dry_run=dry_run
        ),
        unknown_label="unknown vendor words (kept as outcome 'unknown'; map them and ingest again)",
    )


@ingest_group.command("appointments")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--practice",
    help="ODS code of the practice, e.g. A81001. Required for slot reports; for a GPAD file, the "
    "one practice to keep (every practice in the file when omitted).",
)
@_ingest_read_options(
    format_help="gpad, a slot report mapping (emis_appointments, systmone_appointments) or a summary "
    "count mapping (systmone_booked_grid, systmone_slot_summary, systmone_dna_summary); auto sniffs each file.",
    mapping_of="a bespoke slot or summary report",
    times_in="a slot report",
)
@click.option(
    "--from", "period_from", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
    help="First day a summary report without dates counts (the start of the period it was run for).",
)
@click.option(
    "--to", "period_to", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
    help="Last day (inclusive) a summary report without dates counts.",
)
@click.option("--dry-run", is_flag=True, help="Read and check the files and say what an ingest would do, writing nothing.")
@store_option
def ingest_appointments_cmd(paths, practice, fmt, mapping, timezone, period_from, period_to, dry_run, store_dir) -> None:
    """Ingest appointment exports: slot reports, summary counts, or NHS Digital GPAD counts.

    Slot reports (one row per slot, from EMIS Web or SystmOne) go to the appointments table,
    read through a mapping; summary reports of capacity (SystmOne's booked appointments by
    staff and day, its slots or DNAs by staff and slot type for a period) go to the
    capacity_counts table; GPAD practice-level CSVs go to their own gpad table. A summary
    without dates counts the period it was run for: give it with --from and --to. Clinicians'
    names and patient ids are pseudonymised before anything is written; bad rows go to the
    store's rejects folder with their line and reason. Ingesting the same file twice never
    double-counts.

    \b
    Example:
      frontdoor ingest appointments slots.csv --practice A81001
      frontdoor ingest appointments appts.csv --practice A81001 --mapping systmone_mine.toml
      frontdoor ingest appointments AppointmentReport.csv --practice A81001
      frontdoor ingest appointments Unused.csv --practice A81001 --from 2025-08-01 --to 2025-10-31
      frontdoor ingest appointments Practice_Level_Crosstab_Oct_25.csv --format gpad
    """

    _check_timezone(timezone)
    if (period_from is None) != (period_to is None):
        given, missing = ("--from", "--to") if period_to is None else ("--to", "--from")
        raise click.BadParameter(f"{given} needs {missing} too: give the first and last day of the period", param_hint=missing)
    period = None if period_from is None else (period_from.date(), period_to.date())
    if period is not None and period[1] < period[0]:
        raise click.BadParameter(f"the period ends ({period[1]}) before it starts ({period[0]})", param_hint="--to")
    loaded = load_any_appointment_mapping(mapping) if mapping else None
    store = open_store(store_dir, create=True)
    _ingest_each(
        paths,
        lambda path, progress=None: ingest_appointment_file(
            store, path, practice, fmt=fmt, timezone=timezone, mapping=loaded, progress=progress, dry_run=dry_run,
            period=period,
        ),
        unknown_label="unknown words",
    )


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

    store = open_store(store_dir)
    emit(store.info(), out_format)


@store_group.command("ingests")
@click.option("--practice", metavar="ODS", help="Only this practice's ingests.")
@store_option
@format_option
def store_ingests_cmd(practice, store_dir, out_format) -> None:
    """List every ingest: file, format, practice, period, rows, and whether its rows are still
    in the store (active), were replaced by a later ingest of the same file, or were removed.

    \b
    Example:
      frontdoor store ingests --practice A81001
      frontdoor store remove --ingest 20261206T101500-3f9a2c1b
    """

    ing = open_store(store_dir).ingests()
    if practice:
        ing = ing[ing["practice_id"] == validate_practice_id(practice)]
    cols = ["ingest_id", "status", "table", "practice_id", "file_name", "format", "timezone", "first_utc", "last_utc",
            "rows_read", "written", "duplicates", "rejected", "replaced", "finished_utc"]
    emit(ing[cols].reset_index(drop=True), out_format)


@store_group.command("remove")
@click.option("--ingest", "ingest_id", required=True, metavar="ID", help="The ingest to take back ('frontdoor store ingests').")
@store_option
def store_remove_cmd(ingest_id, store_dir) -> None:
    """Take an ingest back: remove exactly the rows it wrote (calls, appointments or GPAD
    counts), all at once, and record the removal in the manifest.

    Use it when a file went to the wrong practice: remove it, then ingest it for the right one.

    \b
    Example:
      frontdoor store remove --ingest 20261206T101500-3f9a2c1b
    """

    store = open_store(store_dir)
    n = store.remove_ingest(ingest_id)
    click.echo(f"removed ingest {ingest_id}: {n:,} rows taken out of the store")


@store_group.command("lines")
@click.option("--practice", metavar="ODS", help="Only this practice's lines.")
@click.option("--name", "naming", nargs=2, metavar="LABEL NAME",
              help="Name a keyed line label, e.g. --name line-3f9a2c Reception (needs --practice).")
@store_option
@format_option
def store_lines_cmd(practice, naming, store_dir, out_format) -> None:
    """List the practice lines known only by a keyed label, and name them.

    A dialled number (a DID) is never stored: a line that is a phone number is kept as a
    keyed label such as line-3f9a2c, the same for every spelling of the number. Name it once
    and every table and report shows the name.

    \b
    Example:
      frontdoor store lines --practice A81001
      frontdoor store lines --practice A81001 --name line-3f9a2c Reception
    """

    store = open_store(store_dir)
    if naming:
        if not practice:
            raise click.UsageError("--name needs --practice")
        label, name = naming
        store.name_line(practice, label, name)
        click.echo(f"{label} of {practice.upper()} is now shown as {name!r}")
        return
    emit(store.lines([practice] if practice else None), out_format)


DEMO_REPORT_PRACTICE = "A81001"  # the demo ends with this practice's weekly report


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
    Ends by writing the weekly report of A81001 for the demo's last complete week in OUT.

    \b
    Example:
      frontdoor demo --out /tmp/demo
      frontdoor demo --out /tmp/demo --weeks 8 --seed 2
    """

    res = run_demo(out, weeks, seed, progress=lambda msg: click.echo(msg, err=True))
    files = res.demo.files
    click.echo(f"Exports: {out / 'exports'} ({len(files)} files)")
    for r in res.call_results + res.appointment_results:
        click.echo("  " + r.summary())
    for note in res.skipped:
        click.echo(f"  note: {note}")
    click.echo(f"\nStore: {res.store}  (practices registry: {res.store / 'practices.parquet'})")
    store = open_store(res.store)
    emit(store.info(), "table")

    week = read_last_complete_week(store, DEMO_REPORT_PRACTICE)
    click.echo(f"\nWriting the weekly report of {DEMO_REPORT_PRACTICE} for {week.iso}...", err=True)
    files = write_weekly_report(store, DEMO_REPORT_PRACTICE, week, out)
    click.echo(f"Report: {files.html}")


# ----------------------------------------------------------------------------- metrics

FREQ_CHOICES = ("15min", "30min", "hour", "day", "week", "month")


def metrics_options(func):
    """The options every ``frontdoor metrics`` command shares."""
    options = [
        click.option(
            "--practice",
            "practices",
            multiple=True,
            metavar="ODS",
            help="Practice to measure (repeat for several); every practice in the store when omitted.",
        ),
        click.option(
            "--from",
            "date_from",
            required=True,
            type=click.DateTime(formats=["%Y-%m-%d"]),
            metavar="YYYY-MM-DD",
            help="First local day of the period (included).",
        ),
        click.option(
            "--to",
            "date_to",
            required=True,
            type=click.DateTime(formats=["%Y-%m-%d"]),
            metavar="YYYY-MM-DD",
            help="Last local day of the period (included: --from 2026-11-16 --to 2026-11-22 is seven days).",
        ),
        click.option(
            "--freq",
            type=click.Choice(FREQ_CHOICES),
            default=None,
            help="Interval of the rows (each command says which it takes; its default when omitted).",
        ),
        format_option,
        store_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _metrics(kind: str, store_dir, practices, date_from, date_to, freq, out_format, **kwargs) -> None:
    """Open the store, compute one metric over the period, print it."""

    store = open_store(store_dir)
    df = read_metrics(store, kind, list(practices) or None, date_from.date(), date_to.date(), freq, **kwargs)
    emit(format_metrics(df, kind, out_format), out_format)


@main.group("metrics", cls=FrontdoorGroup)
def metrics_group() -> None:
    """Measure a period: queue, callers, capacity, pressure, NHS metrics, workforce.

    Every command reads only the practices and months it needs from the store. The period is
    whole local days, --from and --to both included. --format csv or json gives every column
    (times in local time with their UTC offset) for other tools; the table shows the main ones.
    """


@metrics_group.command("queue")
@metrics_options
@click.option("--by-line", is_flag=True, help="Split by line / queue (main, prescriptions...).")
@click.option(
    "--service-level-seconds",
    type=click.FloatRange(min=0),
    default=60,
    show_default=True,
    help="Service-level target: answered within this many seconds.",
)
@click.option(
    "--short-abandon-seconds",
    type=click.FloatRange(min=0),
    default=10,
    show_default=True,
    help="Abandons after less wait than this are short (reported apart, left out of rates).",
)
def metrics_queue_cmd(store_dir, practices, date_from, date_to, freq, out_format, by_line,
                      service_level_seconds, short_abandon_seconds) -> None:
    """Queue performance per interval: offered, answered, abandoned, service level, waits.

    --freq 15min, 30min, hour, day (default), week (from Monday) or month, in local time;
    intervals without calls are listed with zeros.

    \b
    Example:
      frontdoor metrics queue --practice A81001 --from 2026-11-16 --to 2026-11-22
      frontdoor metrics queue --practice A81001 --from 2026-11-16 --to 2026-11-16 --freq 30min --by-line
    """
    _metrics("queue", store_dir, practices, date_from, date_to, freq, out_format, by_line=by_line,
             service_s=service_level_seconds, short_abandon_s=short_abandon_seconds)


@metrics_group.command("callers")
@metrics_options
def metrics_callers_cmd(store_dir, practices, date_from, date_to, freq, out_format) -> None:
    """People, not calls: unique callers, redials, who got through and how long it took.

    --freq day (default): per day, attempts, unique callers, redial ratio, share who got
    through, time to get through. --freq hour: new callers against repeat attempts per hour.

    \b
    Example:
      frontdoor metrics callers --practice A81001 --from 2026-11-16 --to 2026-11-22
      frontdoor metrics callers --practice A81001 --from 2026-11-16 --to 2026-11-16 --freq hour
    """
    _metrics("callers", store_dir, practices, date_from, date_to, freq, out_format)


@metrics_group.command("capacity")
@metrics_options
@click.option(
    "--by",
    "capacity_by",
    multiple=True,
    type=click.Choice(("role", "mode", "category")),
    help="Break each session down by role, mode or category (repeatable).",
)
def metrics_capacity_cmd(store_dir, practices, date_from, date_to, freq, out_format, capacity_by) -> None:
    """Appointment capacity per day and session, and when same-day slots ran out.

    Slots offered, booked, available, utilisation, DNA rate and lead times per day and session
    (am/pm), beside the time the day's same-day slots were all booked. Needs slot exports
    ('frontdoor ingest appointments'). --freq day only.

    \b
    Example:
      frontdoor metrics capacity --practice A81001 --from 2026-11-16 --to 2026-11-22
      frontdoor metrics capacity --practice A81001 --from 2026-11-16 --to 2026-11-22 --by role
    """
    _metrics("capacity", store_dir, practices, date_from, date_to, freq, out_format, capacity_by=capacity_by)


@metrics_group.command("pressure")
@metrics_options
@click.option(
    "--monday-profile",
    is_flag=True,
    help="Instead: Mondays against Tuesday-Friday hour by hour, and Monday's share of the week "
    "(England's bank holidays left out).",
)
def metrics_pressure_cmd(store_dir, practices, date_from, date_to, freq, out_format, monday_profile) -> None:
    """Demand against capacity: callers wanting help per same-day slot, and turned-away demand.

    Per day and session: attempts, unique and new callers, same-day slots released and booked,
    the pressure index (callers per slot), when same-day slots ran out, and the estimate of
    callers turned away. Needs calls and slot exports for each practice. --freq day only.

    \b
    Example:
      frontdoor metrics pressure --practice A81001 --from 2026-11-16 --to 2026-11-22
      frontdoor metrics pressure --practice A81001 --from 2026-09-01 --to 2026-11-30 --monday-profile
    """
    _metrics("monday" if monday_profile else "pressure", store_dir, practices, date_from, date_to, freq, out_format)


@metrics_group.command("nhs")
@metrics_options
@click.option(
    "--by",
    "nhs_by",
    type=click.Choice(("month", "weekday", "hour")),
    default="month",
    show_default=True,
    help="One row per month, or per month and day of the week, or per month and hour.",
)
def metrics_nhs_cmd(store_dir, practices, date_from, date_to, freq, out_format, nhs_by) -> None:
    """NHS England's GP-contract telephony metrics (the cloud telephony collection).

    Call volumes, answered, callbacks requested and made, missed, abandoned, time to answer,
    wait before abandoning and call duration, per calendar month. --freq month only.

    \b
    Example:
      frontdoor metrics nhs --practice A81001 --from 2026-10-01 --to 2026-12-31
      frontdoor metrics nhs --practice A81001 --from 2026-10-01 --to 2026-10-31 --by hour --format csv
    """
    _metrics("nhs", store_dir, practices, date_from, date_to, freq, out_format, nhs_by=nhs_by)


@metrics_group.command("workforce")
@metrics_options
@click.option(
    "--view",
    type=click.Choice(("skill-mix", "consultation", "continuity")),
    default="skill-mix",
    show_default=True,
    help="skill-mix: appointments and sessions by role per 1,000 patients, per month; "
    "consultation: appointment length by role and mode; continuity: the St Leonard's index "
    "per month.",
)
def metrics_workforce_cmd(store_dir, practices, date_from, date_to, freq, out_format, view) -> None:
    """Workforce and continuity: skill mix, consultation length, continuity of care.

    Skill mix needs each practice's list size in the practices registry
    (STORE/practices.parquet). Continuity needs slot exports that carry patient and clinician
    (pseudonymised at ingest) and reads the 12 months before --from as history.

    \b
    Example:
      frontdoor metrics workforce --practice A81001 --from 2026-01-01 --to 2026-03-31
      frontdoor metrics workforce --from 2026-01-01 --to 2026-03-31 --view continuity
    """
    _metrics(view.replace("-", "_"), store_dir, practices, date_from, date_to, freq, out_format)


# ----------------------------------------------------------------------------- report


@main.command("report")
@click.option("--practice", required=True, metavar="ODS", help="ODS code of the practice, e.g. A81001.")
@click.option(
    "--week",
    metavar="YYYY-Www",
    default=None,
    help="ISO week to report, e.g. 2026-W47 (or any date in it). Default: the latest complete week in the store.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="HTML file to write. Default: frontdoor-report-ODS-YYYY-Www.html in the current folder "
    "(a folder gets that name inside it).",
)
@click.option("--pdf", is_flag=True, help="Also print it to a PDF beside the HTML (needs Chromium: apt-get install chromium).")
@store_option
def report_cmd(practice: str, week: str | None, out: Path | None, pdf: bool, store_dir: Path) -> None:
    """Write a practice's weekly demand report: one self-contained HTML page.

    The week's calls, callers and same-day capacity against the week before and the four
    before; when demand arrives; demand against capacity; next week's forecast, call-handler
    rota and clinician sessions; how last week's forecast did; data quality. Charts are inside
    the file: it opens offline and prints on A4. No phone number, name or staff identity is in it.

    \b
    Example:
      frontdoor report --practice A81001 --week 2026-W47
      frontdoor report --practice A81001 --week 2026-W47 --out week47.html --pdf
    """

    store = open_store(store_dir)
    wk = report_week(week) if week is not None else read_last_complete_week(store, practice)
    click.echo(f"Writing the weekly report of {practice.upper()} for {wk.iso}...", err=True)
    files = write_weekly_report(store, practice, wk, out, pdf=pdf)
    click.echo(f"Report: {files.html}")
    if files.pdf is not None:
        click.echo(f"PDF: {files.pdf}")


# ----------------------------------------------------------------------------- forecasting


def _stderr(msg: str) -> None:
    click.echo(msg, err=True)


def _open_for_series(store_dir, practice, input_file):
    return None if input_file is not None and practice is None else open_store(store_dir)


def _roles(text: str | None) -> dict[str, float] | None:
    """``GP=18,ANP=12`` as a mapping (None when not given)."""
    if not text:
        return None
    out = {}
    for part in text.split(","):
        role, sep, value = part.partition("=")
        try:
            out[role.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(f"{part!r}: write ROLE=SLOTS, e.g. GP=18,ANP=12") from None
        if not sep:
            raise click.BadParameter(f"{part!r}: write ROLE=SLOTS, e.g. GP=18,ANP=12")
    return out


series_options = [
    click.option("--practice", metavar="ODS", help="Practice in the store, e.g. A81001."),
    click.option("--input", "input_file", type=click.Path(dir_okay=False, path_type=Path),
                 help="Or a CSV/Parquet series with columns ds, y (and optionally unique_id)."),
    click.option("--what", type=click.Choice(("offered", "unique_callers", "same_day_demand")), default="offered",
                 show_default=True, help="What to forecast (from the store)."),
    click.option("--freq", type=click.Choice(("30min", "hour", "day")), default="hour", show_default=True,
                 help="Period length (same_day_demand: day only; unique_callers: hour or day)."),
    click.option("--horizon", default="1w", show_default=True,
                 help="How far ahead: weeks (1w, 13w), days (3d) or a number of periods."),
]


def _with(options):
    def deco(func):
        for option in reversed(options):
            func = option(func)
        return func
    return deco


@main.command("forecast")
@_with(series_options)
@click.option("--model", default="auto", show_default=True,
              help="Model: auto, seasonal_naive, seasonal_average, ets, mstl, prophet.")
@format_option
@store_option
def forecast_cmd(practice, input_file, what, freq, horizon, model, out_format, store_dir) -> None:
    """Forecast demand with intervals: calls offered, unique callers or same-day appointment demand.

    Prints the point forecast and its 80% and 95% intervals per period (closed hours and bank
    holidays are 0). The auto model picks, per series, the seasonal average, ETS or their
    mean, whichever forecast the last two weeks best (two days ahead at a time).

    \b
    Examples:
      frontdoor forecast --practice A81001 --freq hour --horizon 1w
      frontdoor forecast --practice A81001 --what same_day_demand --freq day --horizon 13w --format csv
      frontdoor forecast --input calls.csv --model seasonal_average --freq day --horizon 14
    """

    make_model(model)  # an unknown name fails here, listing the known ones
    store = _open_for_series(store_dir, practice, input_file)
    _stderr(f"reading the series ({what}, per {freq})")
    df, cal = read_practice_series(store, practice, what, freq, input_file)
    _stderr(f"fitting {model} on {df['unique_id'].nunique()} series of {len(df)} periods")
    fc, _m = forecast_series(df, model, horizon, cal)
    emit(fc, out_format)


@main.command("backtest")
@_with(series_options)
@click.option("--models", default="seasonal_naive,seasonal_average,ets,auto", show_default=True,
              help="Comma-separated models to compare.")
@click.option("--windows", type=click.IntRange(1, 104), default=8, show_default=True,
              help="Rolling origins, one horizon apart.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save a figure (accuracy by horizon, interval coverage) here, e.g. backtest.png.")
@format_option
@store_option
def backtest_cmd(practice, input_file, what, freq, horizon, models, windows, plot_file, out_format, store_dir) -> None:
    """Compare models by rolling-origin backtest: MASE, WAPE, RMSE, 80% interval coverage, time.

    One row per model, best (lowest MASE) first and marked with best = True. MASE below 1
    beats copying last week.

    \b
    Examples:
      frontdoor backtest --practice A81001 --freq hour --horizon 1w --windows 8
      frontdoor backtest --input calls.csv --freq day --horizon 2w --models seasonal_average,ets --plot bt.png
    """

    names = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown or not names:
        raise PlanError(f"Unknown model(s) {', '.join(unknown) or '(none given)'}; known models: {', '.join(sorted(MODELS))}.")
    store = _open_for_series(store_dir, practice, input_file)
    _stderr(f"reading the series ({what}, per {freq})")
    df, cal = read_practice_series(store, practice, what, freq, input_file)
    res = backtest_series(df, names, horizon, windows, cal, progress=_stderr)
    table = summarise(res)
    if plot_file is not None:
        plot_backtest(res).savefig(plot_file, dpi=100)
        _stderr(f"plot: {plot_file}")
    if out_format == "table":
        table = table.assign(best=table["best"].map({True: "<- best", False: ""}))
    emit(table, out_format)


@main.command("staff")
@click.option("--practice", required=True, metavar="ODS", help="Practice in the store, e.g. A81001.")
@click.option("--week", required=True, metavar="YYYY-Www", help="ISO week to staff, after the history, e.g. 2027-W02.")
@click.option("--service-level", default="80/60", show_default=True, metavar="PCT/SECONDS",
              help="Target: this percentage of callers answered within these seconds.")
@click.option("--max-abandon", type=click.FloatRange(0, 100, min_open=True, max_open=True), default=5, show_default=True,
              help="Highest acceptable percentage of callers abandoning.")
@click.option("--shrinkage", type=click.FloatRange(0, 100, max_open=True), default=30, show_default=True,
              help="Percentage of rostered time off the phones (breaks, training, other work).")
@click.option("--aht", "aht_s", type=click.FloatRange(1, 3600), help="Average handle time in seconds, 1 to 3600 (default: measured).")
@click.option("--short-abandon", "short_abandon_s", type=click.FloatRange(min=0), default=60, show_default=True,
              help="Abandons shorter than this (seconds) are balking, not impatience.")
@click.option("--check-redials/--no-check-redials", default=True, show_default=True,
              help="Check and raise the Erlang rota in the queue simulation with redials.")
@click.option("--slots-per-session", metavar="ROLE=N,...",
              help="Same-day appointments per clinician session, e.g. GP=18,ANP=12 (default: measured).")
@click.option("--model", default="auto", show_default=True, help="Forecasting model.")
@click.option("--view", type=click.Choice(("rota", "sessions", "both")), default="both", show_default=True,
              help="What to print (csv/json print one table: rota unless --view sessions).")
@format_option
@store_option
def staff_cmd(practice, week, service_level, max_abandon, shrinkage, aht_s, short_abandon_s, check_redials,
              slots_per_session, model, view, out_format, store_dir) -> None:
    """Call handlers per half hour and clinician sessions per day for a week.

    Forecasts the week's callers' first attempts (not calls offered: redials are a symptom of
    under-staffing, not demand; staffing for the 80% interval's upper bound), turns them into
    handlers with Erlang A (handle time and caller patience measured from the last 8 weeks),
    checks that rota in the queue simulation with redials and adds handlers where it falls
    short, reporting the service the simulation achieves; then same-day appointment demand
    into clinician sessions per day and role.

    \b
    Examples:
      frontdoor staff --practice A81001 --week 2027-W02
      frontdoor staff --practice A81001 --week 2027-W02 --service-level 90/30 --max-abandon 3 --format csv
      frontdoor staff --practice A81001 --week 2027-W02 --no-check-redials --view sessions
    """

    sl, t = parse_service_level(service_level)
    plan = staff_week(
        open_store(store_dir), practice, week, sl, t, max_abandon / 100, shrinkage / 100, aht_s, short_abandon_s,
        check_redials, model, slots_per_session=_roles(slots_per_session), progress=_stderr,
    )
    s = plan.summary
    _stderr(f"handle time {s['aht_s']:.0f} s, patience {s['patience_s']:.0f} s; target {s['target']}"
            + ("" if s["met_in_simulation"] is None else f"; met in the simulation: {'yes' if s['met_in_simulation'] else 'no'}")
            + (f" ({s['not_met']['reason']})" if s.get("not_met") else ""))
    if out_format != "table":
        emit(plan.sessions if view == "sessions" else plan.rota, out_format)
        return
    if view in ("rota", "both"):
        cols = [c for c in ("ds", "calls", "first_attempts", "erlang_agents", "agents", "added", "rostered", "erlang_service_level",
                            "service_level", "abandon_rate") if c in plan.rota.columns]
        rota = plan.rota[cols]
        numeric = rota.select_dtypes("number").columns
        click.echo(rota.round({c: 3 for c in numeric}).to_string(index=False))
    if view in ("sessions", "both"):
        if view == "both":
            click.echo("")
        click.echo(plan.sessions.round({"demand": 2, "slots_per_session": 2, "capacity": 2}).to_string(index=False))


if __name__ == "__main__":  # pragma: no cover
    main()
