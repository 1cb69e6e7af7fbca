"""The command line: exit codes, exact one-line errors, help on every command."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from cli import main

QUEUE_LOG = (
    "1767603600|1767603600.1|main|NONE|ENTERQUEUE||07700900101|1\n"
    "1767603645|1767603600.1|main|PJSIP/202|CONNECT|45|1767603645.2|3\n"
    "1767603885|1767603600.1|main|PJSIP/202|COMPLETECALLER|45|240|1\n"
    "1767603700|1767603700.3|main|NONE|ENTERQUEUE||07700900102|2\n"
    "1767603790|1767603700.3|main|NONE|ABANDON|1|2|90\n"
)


@pytest.fixture
def runner(key):
    return CliRunner()


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path", [p for p, _ in _commands(main)], ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(runner, path):
    cmd = dict(_commands(main))[path]
    res = runner.invoke(main, [*path, "--help"])
    assert res.exit_code == 0
    assert cmd.help and len(cmd.help.strip()) > 10
    if not isinstance(cmd, click.Group):
        assert "Example" in res.output, f"'frontdoor {' '.join(path)} --help' shows no example"


def test_formats_lists_call_and_appointment_registries_as_json(runner):
    from demand.appointments.ingest import appointment_formats
    from telephony.formats import FORMATS

    res = runner.invoke(main, ["formats", "--format", "json"])
    assert res.exit_code == 0
    rows = json.loads(res.output)
    assert list(rows[0]) == ["kind", "name", "reads", "example file", "checked"]
    assert {r["checked"] for r in rows} <= {"real exports", "documentation only"}
    # Generated from the registries, calls first: every name once, with its kind.
    assert [(r["kind"], r["name"]) for r in rows] == [("calls", n) for n in FORMATS] + [
        ("appointments", n) for n in appointment_formats()
    ]
    appts = {r["name"]: r for r in rows if r["kind"] == "appointments"}
    assert set(appts) == {
        "emis_appointments", "systmone_appointments", "gpad",
        "systmone_booked_grid", "systmone_slot_summary", "systmone_dna_summary",
    }
    assert appts["gpad"]["reads"] == "NHS Digital GPAD practice-level monthly CSV"
    assert "xon_surgery_connect" in {r["name"] for r in rows if r["kind"] == "calls"}


def test_ingest_calls_prints_a_reconciled_summary(runner, tmp_path):
    f = tmp_path / "queue_log"
    f.write_text(QUEUE_LOG)
    store = tmp_path / "store"
    res = runner.invoke(main, ["ingest", "calls", str(f), "--practice", "a81001", "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(
        "queue_log: asterisk_queue_log, 2026-01-05 to 2026-01-05: 5 rows read (3 legs joined) -> "
        "2 written, 0 duplicates, 0 rejected"
    )
    again = runner.invoke(main, ["ingest", "calls", str(f), "--practice", "A81001", "--store", str(store)])
    assert "2 written, 0 duplicates, 0 rejected; replacing 2 rows of its earlier ingest (" in again.output
    info = runner.invoke(main, ["store", "info", "--store", str(store), "--format", "csv"])
    assert info.exit_code == 0
    assert "calls,A81001,1,2," in info.output


def test_summaries_agree_in_number():
    from telephony.ingest import IngestResult

    one = IngestResult("f.csv", "fmt", "A81001", rows_read=1, rows_skipped=1, rows_merged=1, written=1,
                       duplicates=1, rejected=1, split_calls=1)
    assert one.summary() == (
        "f.csv: fmt: 1 row read (1 leg joined; 1 non-call row skipped; 1 call split in the file, later parts "
        "rejected) -> 1 written, 1 duplicate, 1 rejected"
    )
    many = IngestResult("f.csv", "fmt", "A81001", rows_read=1200, rows_skipped=2, rows_merged=3, written=0,
                        duplicates=0, rejected=0, split_calls=2, skipped_noun="row")
    assert many.summary() == (
        "f.csv: fmt: 1,200 rows read (3 legs joined; 2 rows skipped; 2 calls split in the file, later parts "
        "rejected) -> 0 written, 0 duplicates, 0 rejected"
    )


def test_not_a_call_log_is_a_one_line_error_and_writes_nothing(runner, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("Dear practice manager,\nplease find the figures attached.\n")
    store = tmp_path / "store"
    res = runner.invoke(main, ["ingest", "calls", str(f), "--practice", "A81001", "--store", str(store)])
    assert res.exit_code == 1
    assert res.output == (
        "Error: notes.txt: not a call log Frontdoor recognises. Force one with --format NAME, "
        "or describe the export in a mapping file (--mapping FILE; see 'frontdoor formats').\n"
    )
    assert not list((store / "calls").glob("**/*.parquet")) if (store / "calls").exists() else True


@pytest.mark.parametrize(
    "args, message",
    [
        (["--practice", "../etc"], "Error: practice id '../etc' is not an ODS code: use 3-10 letters and digits, e.g. A81001\n"),
        (["--practice", "A81001", "--format", "xon"], "Error: unknown format 'xon'. Known formats: "),
        (["--practice", "A81001", "--timezone", "Mars/Olympus"], "unknown timezone 'Mars/Olympus'"),
    ],
)
def test_bad_options_give_clear_errors(runner, tmp_path, args, message):
    f = tmp_path / "queue_log"
    f.write_text(QUEUE_LOG)
    res = runner.invoke(main, ["ingest", "calls", str(f), *args, "--store", str(tmp_path / "s")])
    assert res.exit_code in (1, 2)
    assert message in res.output
    assert "Traceback" not in res.output


def test_missing_file_is_an_error_not_a_traceback(runner, tmp_path):
    res = runner.invoke(main, ["ingest", "calls", str(tmp_path / "nope.csv"), "--practice", "A81001", "--store", str(tmp_path / "s")])
    assert res.exit_code == 1
    assert res.output == f"Error: {tmp_path / 'nope.csv'}: no such file\n"


def test_store_info_on_a_missing_store(runner, tmp_path):
    res = runner.invoke(main, ["store", "info", "--store", str(tmp_path / "none")])
    assert res.exit_code == 1
    assert "no store at" in res.output


def test_demo_writes_and_ingests_a_small_federation(runner, tmp_path):
    out = tmp_path / "demo"
    res = runner.invoke(main, ["demo", "--out", str(out), "--weeks", "2", "--seed", "5"])
    assert res.exit_code == 0, res.output
    assert f"Exports: {out / 'exports'} (" in res.output
    assert f"Store: {out / 'store'}" in res.output
    for line in ("queue_log: asterisk_queue_log,", "CallReport_2025-01.csv: threecx_report,",
                 "SurgeryConnect_CallReport_2025-01.csv: xon_surgery_connect,",
                 "Appointment_Slot_Report_2025-01.csv: emis_appointments,",
                 "Appointments_2025-01.csv: systmone_appointments,"):
        assert line in res.output
    summaries = [ln for ln in res.output.splitlines() if " rows read" in ln]
    assert len(summaries) == 6 and all(ln.endswith(", 0 duplicates, 0 rejected") for ln in summaries)
    for practice in ("A81001", "A81002", "A81003"):
        assert (out / "store" / "calls" / f"practice_id={practice}").is_dir()
    assert (out / "store" / "practices.parquet").is_file()
    # Running it again replaces the earlier demo rather than adding to it.
    again = runner.invoke(main, ["demo", "--out", str(out), "--weeks", "2", "--seed", "5"])
    assert again.exit_code == 0
    assert [ln for ln in again.output.splitlines() if " rows read" in ln] == summaries


def test_demo_refuses_a_folder_with_other_data(runner, tmp_path):
    (tmp_path / "store").mkdir()
    res = runner.invoke(main, ["demo", "--out", str(tmp_path), "--weeks", "1"])
    assert res.exit_code == 1
    assert res.output == (
        f"Error: {tmp_path} already has store not written by 'frontdoor demo'; choose another folder for --out\n"
    )


def test_timezone_not_given_is_none_and_recorded_as_used(runner, tmp_path, monkeypatch):
    """--timezone shows its default in the help, but is passed on as "not given" (None), so a
    mapping's own zone can apply; the manifest records the zone used."""
    res = runner.invoke(main, ["ingest", "calls", "--help"])
    assert "--timezone" in res.output and "[default: (Europe/London)]" in " ".join(res.output.split())
    import cli as cli_mod
    import telephony.ingest as ingest_mod

    seen = []
    real = ingest_mod.ingest_file

    def spy(store, path, practice, **kw):
        seen.append(kw["timezone"])
        return real(store, path, practice, **kw)

    monkeypatch.setattr(cli_mod, "ingest_file", spy)
    log = tmp_path / "queue_log"
    log.write_text(QUEUE_LOG)
    store = tmp_path / "store"
    for extra in ([], ["--timezone", "Europe/London"]):
        res = runner.invoke(main, ["ingest", "calls", str(log), "--practice", "A81001", "--store", str(store), *extra])
        assert res.exit_code == 0, res.output
    assert seen == [None, "Europe/London"]
    from telephony.store import Store

    assert Store(store).manifest()["timezone"].tolist() == ["Europe/London", "Europe/London"]


def test_an_unexpected_error_is_one_masked_line_unless_debugging(runner, tmp_path, monkeypatch):
    import cli as cli_mod

    def broken(*args, **kwargs):
        raise ValueError("could not handle row 07700 900123,2026-01-05 08:00:01")

    monkeypatch.setattr(cli_mod, "ingest_file", broken)
    f = tmp_path / "queue_log"
    f.write_text(QUEUE_LOG)
    args = ["ingest", "calls", str(f), "--practice", "A81001", "--store", str(tmp_path / "s")]
    res = runner.invoke(main, args)
    assert res.exit_code == 1
    assert res.output == (
        "Error: unexpected ValueError: could not handle row XXXXX XXXXXX,2026-01-05 08:00:01 "
        "(a Frontdoor bug: please report it; set FRONTDOOR_DEBUG=1 to see the traceback)\n"
    )
    monkeypatch.setenv("FRONTDOOR_DEBUG", "1")
    res = runner.invoke(main, args)
    assert isinstance(res.exception, ValueError)
