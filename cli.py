"""The ``frontdoor`` command: a thin click skin over the library.

Each command opens the store, calls one library function and prints its result. Library errors
(:class:`telephony.errors.FrontdoorError`) become one-line messages with exit code 1; nothing
here holds analysis logic.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import pandas as pd

from telephony.engine import ENGINES
from telephony.errors import FrontdoorError
from telephony.privacy import mask_digits
from telephony.firewall import guard_frame, neutralise_csv
from telephony.formats import FORMATS, format_table
from telephony.formats.mapping import load_mapping
from telephony.ingest import ingest_file
from telephony.practices import import_registry_file, read_registry, registry_history
from telephony.store import open_store, validate_practice_id

from demand.appointments.ingest import appointment_formats, ingest_appointment_file, load_any_appointment_mapping
from demand.metrics import format_metrics, read_metrics
from demand.national.cbt import ingest_cbt
from demand.national.registered import ingest_registered
from demand.simulation.demo import run_demo

from forecasting.backtest import plot_backtest, summarise
from forecasting.calendar import HOLIDAY_CHOICES
from forecasting.models import MODELS, make_model
from forecasting.base import freq_minutes, infer_freq
from forecasting.pipeline import PlanError, backtest_series, forecast_series, parse_horizon, read_practice_series
from forecasting.outlook import read_same_day_plan, rota_tables, same_day_table, staff_week
from forecasting.temporal import coherent_forecasts, horizon_days
from forecasting.planning.plan import parse_service_level
from forecasting.planning.rota import headcount_words, parse_headcount, parse_shift_lengths
from forecasting.planning.rush import Levers
from forecasting.replay import replay_store

from reports import read_last_complete_week, report_week, write_weekly_report
from reports.federation import (comparison_table, federation_members, format_comparison, read_federation_comparison,
                                write_federation_report)
from reports.sections.next_week import same_day_notes
from reports.text import forecast_rows, same_day_rows

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
    "open_hours": "--open-hours",
    "holidays": "--holidays",
    "closures": "--closures",
    "what": "--what",
    "history_weeks": "--history-weeks",
    # staff: shifts within headcount
    "headcount": "--headcount",
    "shift_lengths": "--shift-lengths",
    "callback_accept": "--callback-accept",
    "tranche_share": "--tranche-share",
    "online_share": "--online-share",
    "replay": "--replay",
    "remove_ingest": "frontdoor store remove --ingest",
    # the practices registry and national data
    "as_of": "--as-of",
    # the federation demo
    "n_practices": "--practices",
    "national_practices": "--national-practices",
    # federations
    "federation": "--federation",
    "peers": "--peers",
    "workers": "--workers",
    # the engine (telephony.engine.map_practices)
    "engine": "--engine",
    "spark_master": "--spark-master",
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


@ingest_group.command("cbt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--no-registry", is_flag=True, help="Leave the practices registry as it is (by default its empty PCN, sub-ICB, ICB and region are filled).")
@store_option
def ingest_cbt_cmd(paths, no_registry, store_dir) -> None:
    """Read NHS England's monthly "Cloud Based Telephony data in General Practice" workbook.

    Its per-practice tables (call outcomes, time to answer, call length, missed calls by time
    waited) become the store's national CBT table, one row per practice and month; the
    publication's Unassigned rows are kept for national totals and never compared. A month
    read again replaces that month. The registry's empty name, PCN, sub-ICB, ICB and region
    are filled from the publication. Several monthly files make a trend.

    \b
    Example:
      frontdoor ingest cbt "Cloud Based Telephony Publication Summary January 2026.xlsx"
      frontdoor ingest cbt cbt-*.xlsx --no-registry
    """
    store = open_store(store_dir, create=True)
    for path in paths:
        res = ingest_cbt(store, path, fill_registry=not no_registry, progress=lambda line: click.echo(line, err=True))
        click.echo(for_people(res.summary()))


@ingest_group.command("registered")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@store_option
def ingest_registered_cmd(paths, store_dir) -> None:
    """Read NHS Digital's "Patients Registered at a GP Practice" files into the practices registry.

    Each practice's list size and age profile (0-4, 5-14, 15-44, 45-64, 65-74, 75+), dated
    from the extract's month, for every practice in the files; the mapping file adds names,
    PCN, sub-ICB, ICB and region. Give the male and female single-year files together.
    Reading a month again changes nothing.

    \b
    Example:
      frontdoor ingest registered gp-reg-pat-prac-quin-age.csv
      frontdoor ingest registered gp-reg-pat-prac-sing-age-male.csv gp-reg-pat-prac-sing-age-female.csv
      frontdoor ingest registered gp-reg-pat-prac-all.csv gp-reg-pat-prac-map.csv
    """
    store = open_store(store_dir, create=True)
    click.echo(for_people(ingest_registered(store, list(paths)).summary()))


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


# ----------------------------------------------------------------------------- practices
@main.group("practices", cls=FrontdoorGroup)
def practices_group() -> None:
    """The practices registry: names, list sizes, PCN to region, peer features, dated."""


@practices_group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="The day the file's facts hold from (rows without a valid_from column); default: always.")
@store_option
def practices_import_cmd(path, as_of, store_dir) -> None:
    """Import practices from a CSV or XLSX file into the registry.

    Any subset of the registry's columns (see 'frontdoor practices list --format csv'), headers
    matched leniently (ODS code, Practice name, List size, Age 0-4 %, IMD decile...). A row
    updates the practice's facts from its day: empty cells keep what the registry holds. A
    file with a wrong row imports nothing and lists each problem with its line.

    \b
    Example:
      frontdoor practices import federation.csv
      frontdoor practices import peer_features.xlsx --as-of 2026-01-01
    """
    store = open_store(store_dir, create=True)
    res = import_registry_file(store, path, as_of=None if as_of is None else as_of.date())
    click.echo(for_people(res.summary()))


@practices_group.command("list")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="The registry as it was on this day (default: the latest facts).")
@click.option("--history", is_flag=True, help="Every dated row instead of one row per practice.")
@store_option
@format_option
def practices_list_cmd(as_of, history, store_dir, out_format) -> None:
    """List the practices in the registry, one row each (the latest facts, or as of a day).

    The table leaves out columns that no practice has; csv and json give every column.

    \b
    Example:
      frontdoor practices list
      frontdoor practices list --as-of 2025-12-31 --format csv
    """
    store = open_store(store_dir)
    reg = registry_history(store) if history else read_registry(store, as_of=None if as_of is None else as_of.date())
    reg = reg.assign(valid_from=reg["valid_from"].dt.strftime("%Y-%m-%d"))
    if out_format == "table":
        reg = reg.loc[:, reg.notna().any(axis=0) | (reg.columns == "practice_id")]
    emit(reg, out_format)


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
@click.option(
    "--practices",
    "n_practices",
    type=click.IntRange(3, 60),
    default=3,
    show_default=True,
    help="Practices in the federation, in PCNs of 3-10 (a student, a care-home, a deprived urban and a rural practice among them).",
)
@click.option(
    "--national-practices",
    type=click.IntRange(0, 8000),
    default=None,
    help="Simulated practices in the national CBT-style table (default 3000 with --practices above 3, else none).",
)
def demo_cmd(out: Path, weeks: int, seed: int, n_practices: int, national_practices: int | None) -> None:
    """Simulate a federation of practices, write their exports and ingest them.

    Three practices (about 6,000, 9,000 and 12,000 patients) on three phone systems (Asterisk
    queue_log, 3CX call reports, X-on call reports) and two clinical systems (EMIS-style and
    SystmOne-style slot reports), plus GPAD monthly counts, written as real export files under
    OUT/exports and ingested the normal way into OUT/store. The simulation has the 8am rush,
    Monday peaks, winter pressure, bank holidays, a queue with redials and call-backs, and
    same-day appointments that run out. Every phone number is from Ofcom's drama ranges.
    Calls are calibrated to England's cloud telephony figures (January 2026: 590 calls per
    1,000 patients a month, 55% answered, 26.5% ended in the IVR, 7.6% call-back requested,
    10.9% missed). With --practices N, a federation of N practices in PCNs, with their peer
    features in the registry, and a national CBT-style table of simulated practices (aggregates
    only) to compare them with.
    Ends by writing the weekly report of A81001 for the demo's last complete week in OUT.

    \b
    Example:
      frontdoor demo --out /tmp/demo
      frontdoor demo --out /tmp/demo --weeks 8 --seed 2
      frontdoor demo --out /tmp/fed --practices 12 --weeks 20
    """
    if national_practices is None:
        national_practices = 3000 if n_practices > 3 else 0
    res = run_demo(
        out, weeks, seed, progress=lambda msg: click.echo(msg, err=True),
        n_practices=n_practices if n_practices != 3 else None, national_practices=national_practices,
    )
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


def _last_complete_week(store, practices):
    """The latest of the practices' last complete weeks (every practice in the store by default)."""
    ids = list(practices) or sorted({pid for pid, _m, _ in store.partitions("calls")})
    if not ids:
        raise PlanError(f"The store at {store.root} holds no calls: ingest call exports first, or give `period`.")
    return max((read_last_complete_week(store, p) for p in ids), key=lambda w: w.start)


def _period_or_last_week(store, practices, date_from, date_to):
    """``--from``/``--to`` as dates, or the last complete week with calls when both are omitted."""
    if (date_from is None) != (date_to is None):
        raise click.UsageError("Give both --from and --to, or neither (the last complete week in the store).")
    if date_from is not None:
        return date_from.date(), date_to.date()
    week = _last_complete_week(store, practices)
    _stderr(f"period: {week.iso} ({week.start} to {week.last}), the last complete week with calls in the store")
    return week.start, week.last

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
            type=click.DateTime(formats=["%Y-%m-%d"]),
            metavar="YYYY-MM-DD",
            help="First local day of the period (included). Without --from and --to: the last complete week "
            "with calls in the store, as 'frontdoor report' takes.",
        ),
        click.option(
            "--to",
            "date_to",
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


def engine_options(func):
    """``--engine local|spark``, ``--workers N``, ``--spark-master URL``: where per-practice
    work runs (:func:`telephony.engine.map_practices`). Any command that maps work over
    practices can take them."""
    options = [
        click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="local",
            show_default=True,
            help="local: a process pool on this machine; spark: PySpark over the same store "
            "(pip install 'frontdoor-analytics[spark]').",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="local: processes working at once (default: one per core; 1 works in this process).",
        ),
        click.option(
            "--spark-master",
            metavar="URL",
            envvar="FRONTDOOR_SPARK_MASTER",
            default=None,
            help="spark: the cluster's master, e.g. spark://host:7077 or yarn (default local[*]; or set "
            "FRONTDOOR_SPARK_MASTER). The store must be on storage every executor reads at the same path.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _engine_progress(practice_id: str, done: int, total: int) -> None:
    """One line per practice measured, for a person watching (never into piped output)."""
    if sys.stderr.isatty() and total > 1:
        what = "Spark job" if practice_id == "*" else practice_id
        click.echo(f"  {what}: {done}/{total} practices", err=True)


def _metrics(kind: str, store_dir, practices, date_from, date_to, freq, out_format,
             engine="local", workers=None, spark_master=None, **kwargs) -> None:
    """Open the store, compute one metric over the period practice by practice on the engine, print it."""

    store = open_store(store_dir)
    first, last = _period_or_last_week(store, practices, date_from, date_to)
    df = read_metrics(store, kind, list(practices) or None, first, last, freq,
                      engine=engine, workers=workers, spark_master=spark_master, progress=_engine_progress, **kwargs)
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
@engine_options
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
                      service_level_seconds, short_abandon_seconds, **run) -> None:
    """Queue performance per interval: offered, answered, abandoned, service level, waits.

    --freq 15min, 30min, hour, day (default), week (from Monday) or month, in local time;
    intervals without calls are listed with zeros.

    \b
    Example:
      frontdoor metrics queue --practice A81001 --from 2026-11-16 --to 2026-11-22
      frontdoor metrics queue --practice A81001 --from 2026-11-16 --to 2026-11-16 --freq 30min --by-line
    """
    _metrics("queue", store_dir, practices, date_from, date_to, freq, out_format, by_line=by_line,
             service_s=service_level_seconds, short_abandon_s=short_abandon_seconds, **run)


@metrics_group.command("callers")
@metrics_options
@engine_options
def metrics_callers_cmd(store_dir, practices, date_from, date_to, freq, out_format, **run) -> None:
    """People, not calls: unique callers, redials, who got through and how long it took.

    --freq day (default): per day, attempts, unique callers, redial ratio, share who got
    through, time to get through. --freq hour: new callers against repeat attempts per hour.

    \b
    Example:
      frontdoor metrics callers --practice A81001 --from 2026-11-16 --to 2026-11-22
      frontdoor metrics callers --practice A81001 --from 2026-11-16 --to 2026-11-16 --freq hour
    """
    _metrics("callers", store_dir, practices, date_from, date_to, freq, out_format, **run)


@metrics_group.command("capacity")
@metrics_options
@engine_options
@click.option(
    "--by",
    "capacity_by",
    multiple=True,
    type=click.Choice(("role", "mode", "category")),
    help="Break each session down by role, mode or category (repeatable).",
)
def metrics_capacity_cmd(store_dir, practices, date_from, date_to, freq, out_format, capacity_by, **run) -> None:
    """Appointment capacity per day and session, and when same-day slots ran out.

    Slots offered, booked, available, utilisation, DNA rate and lead times per day and session
    (am/pm), beside the time the day's same-day slots were all booked. Needs slot exports
    ('frontdoor ingest appointments'). --freq day only.

    \b
    Example:
      frontdoor metrics capacity --practice A81001 --from 2026-11-16 --to 2026-11-22
      frontdoor metrics capacity --practice A81001 --from 2026-11-16 --to 2026-11-22 --by role
    """
    _metrics("capacity", store_dir, practices, date_from, date_to, freq, out_format, capacity_by=capacity_by, **run)


@metrics_group.command("pressure")
@metrics_options
@engine_options
@click.option(
    "--monday-profile",
    is_flag=True,
    help="Instead: Mondays against Tuesday-Friday hour by hour, and Monday's share of the week "
    "(England's bank holidays left out).",
)
def metrics_pressure_cmd(store_dir, practices, date_from, date_to, freq, out_format, monday_profile, **run) -> None:
    """Demand against capacity: callers wanting help per same-day slot, and turned-away demand.

    Per day and session: attempts, unique and new callers, same-day slots released and booked,
    the pressure index (callers per slot), when same-day slots ran out, and the estimate of
    callers turned away. Needs calls and slot exports for each practice. --freq day only.

    \b
    Example:
      frontdoor metrics pressure --practice A81001 --from 2026-11-16 --to 2026-11-22
      frontdoor metrics pressure --practice A81001 --from 2026-09-01 --to 2026-11-30 --monday-profile
    """
    _metrics("monday" if monday_profile else "pressure", store_dir, practices, date_from, date_to, freq, out_format, **run)


@metrics_group.command("nhs")
@metrics_options
@engine_options
@click.option(
    "--by",
    "nhs_by",
    type=click.Choice(("month", "weekday", "hour")),
    default="month",
    show_default=True,
    help="One row per month, or per month and day of the week, or per month and hour.",
)
def metrics_nhs_cmd(store_dir, practices, date_from, date_to, freq, out_format, nhs_by, **run) -> None:
    """NHS England's GP-contract telephony metrics (the cloud telephony collection).

    Call volumes, answered, callbacks requested and made, missed, abandoned, time to answer,
    wait before abandoning and call duration, per calendar month. --freq month only.

    \b
    Example:
      frontdoor metrics nhs --practice A81001 --from 2026-10-01 --to 2026-12-31
      frontdoor metrics nhs --practice A81001 --from 2026-10-01 --to 2026-10-31 --by hour --format csv
    """
    _metrics("nhs", store_dir, practices, date_from, date_to, freq, out_format, nhs_by=nhs_by, **run)


@metrics_group.command("workforce")
@metrics_options
@engine_options
@click.option(
    "--view",
    type=click.Choice(("skill-mix", "consultation", "continuity")),
    default="skill-mix",
    show_default=True,
    help="skill-mix: appointments and sessions by role per 1,000 patients, per month; "
    "consultation: appointment length by role and mode; continuity: the St Leonard's index "
    "per month.",
)
def metrics_workforce_cmd(store_dir, practices, date_from, date_to, freq, out_format, view, **run) -> None:
    """Workforce and continuity: skill mix, consultation length, continuity of care.

    Skill mix needs each practice's list size in the practices registry
    (STORE/practices.parquet). Continuity needs slot exports that carry patient and clinician
    (pseudonymised at ingest) and reads the 12 months before --from as history.

    \b
    Example:
      frontdoor metrics workforce --practice A81001 --from 2026-01-01 --to 2026-03-31
      frontdoor metrics workforce --from 2026-01-01 --to 2026-03-31 --view continuity
    """
    _metrics(view.replace("-", "_"), store_dir, practices, date_from, date_to, freq, out_format, **run)


# ----------------------------------------------------------------------------- report


@main.command("report")
@click.option("--practice", "practices", multiple=True, metavar="ODS",
              help="ODS code of the practice, e.g. A81001 (repeat for several: each gets its own page).")
@click.option("--federation", metavar="NAME",
              help="Write the federation page and each of its practices' reports (the name as in 'frontdoor practices list').")
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
    "(a folder gets that name inside it). With several practices or --federation: a folder.",
)
@click.option("--pdf", is_flag=True, help="Also print it to a PDF beside the HTML (needs Chromium: apt-get install chromium).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="With --federation: reports built at once (default: the machine's cores).")
@store_option
def report_cmd(practices: tuple[str, ...], federation: str | None, week: str | None, out: Path | None, pdf: bool,
               workers: int | None, store_dir: Path) -> None:
    """Write a practice's weekly demand report: one self-contained HTML page.

    The week's calls, callers and same-day capacity against the week before and the four
    before; when demand arrives; demand against capacity; next week's forecast, call-handler
    rota and clinician sessions; how last week's forecast did; data quality. Charts are inside
    the file: it opens offline and prints on A4. No phone number, name or staff identity is in it.

    With --federation, one federation page (a row per practice: demand per 1,000, answered
    share, time to get through, same-day pressure next week, peer position; a funnel plot)
    linking each practice's report, all written to the --out folder; small counts suppressed.

    \b
    Example:
      frontdoor report --practice A81001 --week 2026-W47
      frontdoor report --practice A81001 --week 2026-W47 --out week47.html --pdf
      frontdoor report --practice A81001 --practice A81002 --out reports/
      frontdoor report --federation "Example Valley GP Federation" --out federation/
    """
    if federation and practices:
        raise click.ClickException("Give --practice or --federation, not both (a federation's report covers its practices).")
    if not federation and not practices:
        raise click.ClickException("Give --practice ODS (repeat for several) or --federation NAME.")
    store = open_store(store_dir)
    if federation:
        _report_federation(store, federation, week, out, workers)
        return
    wanted = list(dict.fromkeys(p.strip().upper() for p in practices))
    if len(wanted) > 1 and out is not None and out.suffix.lower() in (".html", ".htm") and not out.is_dir():
        raise click.ClickException(f"{len(wanted)} practices make {len(wanted)} pages: give --out a folder, not the file {out.name}.")
    for p in wanted:
        wk = report_week(week) if week is not None else read_last_complete_week(store, p)
        click.echo(f"Writing the weekly report of {p} for {wk.iso}...", err=True)
        files = write_weekly_report(store, p, wk, out if len(wanted) == 1 else (out or Path(".")), pdf=pdf)
        click.echo(f"Report: {files.html}")
        if files.pdf is not None:
            click.echo(f"PDF: {files.pdf}")


def _report_federation(store, federation: str, week: str | None, out: Path | None, workers: int | None) -> None:
    members = federation_members(read_registry(store), federation)
    wk = report_week(week) if week is not None else read_last_complete_week(store, members[0])
    click.echo(f"Writing the reports of {len(members)} practices of {federation} for {wk.iso}...", err=True)

    def progress(done: int, total: int, practice: str) -> None:
        click.echo(f"  [{done}/{total}] {practice} written", err=True)

    files = write_federation_report(store, federation, wk, out, workers=workers, progress=progress)
    click.echo(f"Federation page: {files.page}")
    for p, path in files.reports.items():
        click.echo(f"Report {p}: {path}")


# ----------------------------------------------------------------------------- benchmark


@main.command("benchmark")
@click.option("--federation", required=True, metavar="NAME", help="The federation to compare (as in 'frontdoor practices list').")
@click.option("--peers", type=click.IntRange(1, 50), default=5, show_default=True, help="Most alike practices per practice.")
@click.option("--period", type=click.Choice(("week", "month", "quarter")), default="week", show_default=True,
              help="Periods to compare.")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", default=None, help="First day (default: the latest complete week).")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", default=None, help="Last day, included.")
@store_option
@format_option
def benchmark_cmd(federation: str, peers: int, period: str, date_from: str | None, date_to: str | None, store_dir: Path,
                  out_format: str) -> None:
    """Compare a federation's practices like for like, with PCN and federation totals and peers.

    NHS England's cloud-telephony (CBT) outcomes derived from each practice's own calls, per
    1,000 registered patients, the phone system each practice's figures come from (and what
    it cannot tell), each practice's most alike peers and its percentile among them (and
    among England's practices once the national CBT table is ingested). Counts under 5 show
    as <5; * marks a figure withheld so that a small count cannot be worked out.

    \b
    Example:
      frontdoor benchmark --federation "Example Valley GP Federation" --peers 5
      frontdoor benchmark --federation "Example Valley GP Federation" --period month --from 2025-01-01 --to 2025-06-30 --format csv
    """
    store = open_store(store_dir)
    if date_from is None or date_to is None:
        members = federation_members(read_registry(store), federation)
        wk = read_last_complete_week(store, members[0])
        date_from = date_from or wk.start.isoformat()
        date_to = date_to or wk.last.isoformat()
    comparison = read_federation_comparison(store, federation, date_from, date_to, period=period, peers=peers)
    table = comparison_table(comparison)
    emit(format_comparison(table) if out_format == "table" else table, out_format)


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
    click.option("--what", type=click.Choice(("offered", "calls", "unique_callers", "same_day_demand", "closed")),
                 default="offered", show_default=True,
                 help="What to forecast (from the store): calls offered to the queue; calls: every inbound attempt "
                      "(what the weekly report forecasts); closed: calls that arrived while closed."),
    freq_option := click.option("--freq", type=click.Choice(("30min", "hour", "day")), default="hour", show_default=True,
                                help="Period length (same_day_demand: day only; unique_callers: hour or day)."),
    click.option("--horizon", default="1w", show_default=True,
                 help="How far ahead: weeks (1w, 13w), days (3d) or a number of periods."),
]


# Opening hours, holidays and closures are facts about the series: learned or stated.
calendar_options = [
    click.option("--open-hours", "open_hours", metavar="HOURS",
                 help='Opening hours, e.g. "Mon-Fri 08:00-18:30" or always (default: the registry\'s for a '
                      "practice, else learned from the data: closed where the last 4 weeks with data show no demand)."),
    click.option("--holidays", type=click.Choice(HOLIDAY_CHOICES), default=None,
                 help="Whose bank holidays are closed (default: the practice's nation, England; none for --input)."),
    click.option("--closures", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                 help="Closed dates or date-and-time spans, one a line: 2026-03-11 or 2026-03-11 13:00-18:30."),
]


def _say_calendars(cals) -> None:
    for uid, cal in cals.items():
        for note in cal.notes:
            _stderr(for_people(f"{uid}: {note}"))


def _with(options):
    def deco(func):
        for option in reversed(options):
            func = option(func)
        return func
    return deco


# forecast: daily totals unless hours are asked for (the finer periods then add up to them)
forecast_options = [
    click.option("--freq", type=click.Choice(("30min", "hour", "day")), default="day", show_default=True,
                 help="Period length: daily totals, or hours / half hours that add up to them "
                 "(same_day_demand: day only; unique_callers: hour or day).")
    if o is freq_option else o
    for o in series_options
]


@main.command("forecast")
@_with(forecast_options)
@_with(calendar_options)
@click.option("--model", default="auto", show_default=True,
              help="Model: auto, seasonal_naive, seasonal_average, ets, mstl, prophet.")
@click.option("--history-weeks", type=click.IntRange(1, 520), metavar="N",
              help="A practice's last N complete weeks of history only, forecasting the weeks after them "
                   "(default: all of it). The weekly report forecasts --what calls from 12.")
@format_option
@store_option
def forecast_cmd(practice, input_file, what, freq, horizon, open_hours, holidays, closures, model, history_weeks,
                 out_format, store_dir) -> None:
    """Forecast demand with intervals: calls offered, unique callers or same-day appointment demand.

    Prints each day's forecast with its 80% and 95% intervals, rounded for reading, from the
    first day after the data (closed days and bank holidays read "closed"). With --freq hour
    (or 30min) the periods of each day add up to that day's total: one forecast at every
    granularity. --format csv|json print the full precision. Opening hours are the registry's
    or --open-hours, else learned from the data (where the last 4 weeks show demand a period is
    never closed). The auto model picks, per series, the seasonal average,
    ETS or their mean, whichever forecast the last two weeks best (two days ahead at a time).

    \b
    Examples:
      frontdoor forecast --practice A81001
      frontdoor forecast --practice A81001 --freq hour --horizon 3d
      frontdoor forecast --practice A81001 --what calls --history-weeks 12   # the weekly report's next week
      frontdoor forecast --practice A81001 --what same_day_demand --horizon 13w --format csv
      frontdoor forecast --input calls.csv --model seasonal_average --horizon 14
    """

    make_model(model)  # an unknown name fails here, listing the known ones
    store = _open_for_series(store_dir, practice, input_file)
    _stderr(f"reading the series ({what}, per {freq})")
    span = {}
    if history_weeks is not None and input_file is None:
        # the report's history: the last complete week and the N before it
        week = read_last_complete_week(store, validate_practice_id(practice))
        span = {"first_date": week.start - _dt.timedelta(weeks=history_weeks), "last_date": week.last}
        _stderr(f"history: {span['first_date']} to {span['last_date']}")
    df, cal = read_practice_series(store, practice, what, freq, input_file,
                                   open_hours=open_hours, holidays=holidays, closures=closures, **span)
    _say_calendars(cal)
    _stderr(f"fitting {model} on {df['unique_id'].nunique()} series of {len(df)} periods")
    if freq == "day":
        fc, _m = forecast_series(df, model, horizon, cal)
    else:
        daily = None if input_file is not None else read_practice_series(store, practice, what, "day", **span)[0]
        days = horizon_days(parse_horizon(horizon, freq), freq_minutes(infer_freq(df["ds"], df["unique_id"])))
        _daily_fc, fc, _dm, _m = coherent_forecasts(df, model, days, cal, daily_history=daily)
    for line in fc.attrs.get("warnings", []):
        _stderr(line)
    if out_format == "table":
        fc = forecast_rows(fc, "D" if freq == "day" else freq)
    emit(fc, out_format)


@main.command("backtest")
@_with(series_options)
@_with(calendar_options)
@click.option("--models", default="seasonal_naive,seasonal_average,ets,auto", show_default=True,
              help="Comma-separated models to compare.")
@click.option("--windows", type=click.IntRange(1, 104), default=8, show_default=True,
              help="Rolling origins, one horizon apart.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save a figure (accuracy by horizon, interval coverage) here, e.g. backtest.png.")
@format_option
@store_option
def backtest_cmd(practice, input_file, what, freq, horizon, open_hours, holidays, closures, models, windows, plot_file,
                 out_format, store_dir) -> None:
    """Compare models by rolling-origin backtest: MASE, WAPE, RMSE, 80% interval coverage, time.

    One row per model, best (lowest MASE) first and marked with best = True. MASE below 1
    beats copying last week. windows and n say how many windows and periods were scored;
    closed periods and data gaps left out, and any window skipped, are said on stderr.

    \b
    Examples:
      frontdoor backtest --practice A81001 --freq hour --horizon 1w --windows 8
      frontdoor backtest --input calls.csv --freq day --horizon 2w --models seasonal_average,ets --plot bt.png
      frontdoor backtest --input arrivals.csv --freq 30min --horizon 48 --windows 28 --holidays none
    """

    names = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown or not names:
        raise PlanError(f"Unknown model(s) {', '.join(unknown) or '(none given)'}; known models: {', '.join(sorted(MODELS))}.")
    store = _open_for_series(store_dir, practice, input_file)
    _stderr(f"reading the series ({what}, per {freq})")
    df, cal = read_practice_series(store, practice, what, freq, input_file,
                                   open_hours=open_hours, holidays=holidays, closures=closures)
    _say_calendars(cal)
    res = backtest_series(df, names, horizon, windows, cal, progress=_stderr)
    table = summarise(res)
    for note in table.attrs.get("notes", []):
        _stderr(note)
    if plot_file is not None:
        plot_backtest(res).savefig(plot_file, dpi=100)
        _stderr(f"plot: {plot_file}")
    if out_format == "table":
        table = table.assign(best=table["best"].map({True: "<- best", False: ""}))
    emit(table, out_format)


#: ``frontdoor staff`` warns when the week starts more than this many weeks after the data.
STAFF_WARN_WEEKS = 3


@main.command("staff")
@click.option("--practice", required=True, metavar="ODS", help="Practice in the store, e.g. A81001.")
@click.option("--week", default=None, metavar="YYYY-Www",
              help="ISO week to staff, after the history, e.g. 2026-W06. Default: the week after the last complete "
              "week with calls in the store (the report's next week).")
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
              help="Play the rota in the queue simulation with redials, and the opening rush's trade-off.")
@click.option("--headcount", metavar="N|DAY=N,...",
              help="People who can be rostered: 4, or per weekday Mon=4,Tue=3 (default: learned from who answered).")
@click.option("--shift-lengths", default="3-8", show_default=True, metavar="HOURS",
              help="Allowed shift lengths in hours: a range (3-8, every half hour) or a list (4,6,8).")
@click.option("--callback-accept", type=click.FloatRange(0, 100), default=30, show_default=True,
              help="Assumed percentage of callers accepting a call-back offer (rush trade-off).")
@click.option("--tranche-share", type=click.FloatRange(0, 100), default=30, show_default=True,
              help="Assumed percentage of the opening hour's same-day callers who ring at a second release instead.")
@click.option("--online-share", type=click.FloatRange(0, 100), default=20, show_default=True,
              help="Assumed percentage of first calls that become online requests.")
@click.option("--replay", type=click.IntRange(1, 12), metavar="N",
              help="Instead: for each of the last N weeks, the rota recommended from the data before it, "
                   "played against that week's actual callers, beside what happened.")
@click.option("--slots-per-session", metavar="ROLE=N,...",
              help="Same-day appointments per clinician session, e.g. GP=18,ANP=12 (default: measured).")
@click.option("--model", default="auto", show_default=True, help="Forecasting model.")
@click.option("--view", type=click.Choice(("rota", "shifts", "rush", "sessions", "both")), default="both", show_default=True,
              help="What to print: cover per half hour (rota), shifts, the rush trade-off, sessions, or all "
                   "(csv/json print one table: rota unless another view is chosen).")
@_with(calendar_options)
@format_option
@store_option
def staff_cmd(practice, week, service_level, max_abandon, shrinkage, aht_s, short_abandon_s, check_redials, headcount,
              shift_lengths, callback_accept, tranche_share, online_share, replay, slots_per_session, model, view,
              open_hours, holidays, closures, out_format, store_dir) -> None:
    """Call-handler shifts within headcount and clinician sessions per day for a week.

    Forecasts the week's callers' first attempts (not calls offered: redials are a symptom of
    under-staffing, not demand; staffing for the 80% interval's upper bound), turns them into
    people needed on the phones with Erlang A, then chooses shifts (an integer program) within
    the people the practice has, leaving the requirement that cannot be met shown, not
    rostered. The rota is played in the queue simulation with redials, and the busiest
    opening is played for each number of handlers and for call-backs, two releases of same-day
    slots and an online form (each on a stated assumption). Then same-day appointment demand
    against the practice's usual clinician sessions (or next week's book): whole sessions moved
    or added, only for the roles doing the same-day work, within the people each role has, per
    am and pm (the same plan as the weekly report's). Without --week: the week after the last
    complete week with calls in the store.

    \b
    Examples:
      frontdoor staff --practice A81001
      frontdoor staff --practice A81001 --week 2026-W06 --headcount Mon=4,Tue=3 --shift-lengths 4-8
      frontdoor staff --practice A81001 --week 2026-W06 --view shifts --format csv
      frontdoor staff --practice A81001 --week 2026-W06 --replay 4
    """

    sl, t = parse_service_level(service_level)
    store = open_store(store_dir)
    last = _last_complete_week(store, [practice])
    if week is None:
        week = last.shift(1).iso
        _stderr(f"staffing {week}: the week after {last.iso}, the last complete week with calls in the store")
    else:
        ahead = (report_week(week).start - last.end).days // 7
        if ahead > STAFF_WARN_WEEKS:
            _stderr(
                f"Warning: {report_week(week).iso} starts {ahead} weeks after {practice.upper()}'s last complete week "
                f"of calls ({last.iso}): the plan rests on a forecast that far ahead and on handling measured then. "
                "Ingest the recent calls, or staff an earlier week."
            )
    heads = parse_headcount(headcount)
    rules = parse_shift_lengths(shift_lengths)
    levers = Levers(callback_accept=callback_accept / 100, tranche_share=tranche_share / 100,
                    online_share=online_share / 100)
    targets = {"target_sl": sl, "target_t_s": t, "max_abandon": max_abandon / 100, "shrinkage": shrinkage / 100}
    if replay:
        rep = replay_store(store, practice, replay, week, model, heads, rules, targets, progress=_stderr)
        emit(rep.table if out_format != "table" else rep.table.round(3), out_format)
        return
    plan = tables = None
    if view != "sessions":
        plan = staff_week(
            store, practice, week, sl, t, max_abandon / 100, shrinkage / 100, aht_s, short_abandon_s,
            check_redials, model, slots_per_session=_roles(slots_per_session), progress=_stderr,
            headcount=heads, shift_rules=rules, levers=levers,
            open_hours=open_hours, holidays=holidays, closures=closures,
        )
        s = plan.summary
        _stderr(f"handle time {s['aht_s']:.0f} s, patience {s['patience_s']:.0f} s; target {s['target']}; "
                f"headcount {headcount_words(s['headcount'])} ({s['headcount_source']}); shifts of {s['shift_lengths']}"
                + ("" if s["met_in_simulation"] is None else f"; met in the simulation: {'yes' if s['met_in_simulation'] else 'no'}")
                + (f" ({s['not_met']['reason']})" if s.get("not_met") else ""))
        tables = rota_tables(plan.handlers)
    if view in ("sessions", "both"):
        _stderr(f"planning same-day clinician sessions with {model}, as the weekly report does")
        same_day = read_same_day_plan(store, validate_practice_id(practice), report_week(week).start, model,
                                      slots_per_session=_roles(slots_per_session))
        if same_day.error is not None:
            raise same_day.error
        if not same_day.has_slots:
            raise PlanError(f"No appointment slots of {practice.upper()} in the store: ingest its slot export to plan sessions.")
        sessions = same_day_table(same_day)
    if out_format != "table":
        if view == "sessions":
            emit(sessions, out_format)
        elif view in ("shifts", "rush"):
            emit(tables[view], out_format)
        else:
            emit(plan.rota, out_format)
        return
    for name in ("shifts", "rota", "rush"):
        if tables is not None and view in (name, "both") and tables.get(name) is not None:
            click.echo(tables[name].to_string(index=False))
            click.echo("")
    if view in ("rush", "both") and plan is not None and plan.rush is not None:
        click.echo(plan.rush.words)
        for lever, words in plan.rush.assumptions.items():
            click.echo(f"  assumed for {lever}: {words}")
        click.echo("")
    if view in ("sessions", "both"):
        click.echo(same_day_rows(sessions).to_string(index=False))
        for note in same_day_notes(same_day):
            _stderr(note)


if __name__ == "__main__":  # pragma: no cover
    main()
