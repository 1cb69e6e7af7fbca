"""Bad inputs end in one line that says what was wrong and what to do, or in a reject of the row.

Each test feeds the command line (``click.testing.CliRunner`` on ``cli.main``) something people
really hand it: a gzip whose download stopped, a named pipe, a placeholder year 9999, a week or
a period typed with the wrong year, a horizon of centuries. None may end in "unexpected ... (a
Frontdoor bug)", a hang, a traceback, or a half-written store.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import threading

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main

PRACTICE = "A81001"

# A 3CX web-client call report (the layout of tests/data/threecx_report/CallReport.csv) whose
# second, fourth and fifth rows carry years no timestamp holds: a "never" placeholder, a PBX
# clock with a flat battery and .NET's empty DateTime.
REPORT_HEADER = "Call Time,Call ID,From,To,Direction,Status,Ringing,Talking,Cost,Call Activity Details\n"
OUT_OF_RANGE_REPORT = REPORT_HEADER + (
    "05/01/2026 08:00:05,00000191A2B3C4D5_40,07700900201,Reception (800),Inbound Queue,Answered,00:00:30,00:02:00,0.00,Inbound call answered by Sam Jones (202)\n"
    "31/12/9999 23:59:59,00000191A2B3C4D5_41,07700900202,Reception (800),Inbound Queue,Answered,00:00:10,00:01:00,0.00,Inbound call answered by Sam Jones (202)\n"
    "05/01/2026 08:02:00,00000191A2B3C4D5_42,07700900203,Reception (800),Inbound Queue,Abandoned,00:01:10,00:00:00,0.00,Caller hung up in queue Reception (800)\n"
    "01/01/1677 00:00:00,00000191A2B3C4D5_43,07700900204,Reception (800),Inbound Queue,Answered,00:00:12,00:00:40,0.00,Inbound call answered by Sam Jones (202)\n"
    "01/01/0001 00:00:00,00000191A2B3C4D5_44,07700900205,Reception (800),Inbound Queue,Unanswered,00:05:00,00:00:00,0.00,Queue timeout Reception (800)\n"
    "05/01/2026 08:10:30,00000191A2B3C4D5_45,07700900206,Reception (800),Inbound Queue,Answered,00:00:45,00:03:10,0.00,Inbound call answered by Sam Jones (202)\n"
)


def _report_rows(n: int, day: dt.date = dt.date(2026, 1, 5)) -> str:
    """``n`` plausible inbound calls of a 3CX report, a minute apart from 08:00 on ``day``."""
    out = []
    for i in range(n):
        t = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(minutes=i)
        out.append(
            f"{t:%d/%m/%Y %H:%M:%S},00000191A2B3C4D5_{day:%m%d}{i:04d},07700900{i % 1000:03d},Reception (800),"
            f"Inbound Queue,Answered,00:00:{i % 50 + 5:02d},00:02:00,0.00,Inbound call answered by Sam Jones (202)\n"
        )
    return "".join(out)


@pytest.fixture
def runner(key):
    return CliRunner()


def cli(runner, *args):
    return runner.invoke(main, [str(a) for a in args])


def one_line_error(res, *fragments) -> str:
    """The command failed with exit code 1 and one line holding every fragment: that line."""
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    lines = res.output.strip().splitlines()
    err = lines[-1]
    assert err.startswith("Error: ") and "Traceback" not in res.output
    assert "unexpected" not in err and "Frontdoor bug" not in err, err
    for f in fragments:
        assert f in err, err
    return err


@pytest.fixture
def small_store(runner, tmp_path):
    """A store holding two weekdays of a practice's calls (5 and 6 January 2026)."""
    f = tmp_path / "CallReport.csv"
    f.write_text(REPORT_HEADER + _report_rows(40) + _report_rows(40, dt.date(2026, 1, 6)))
    store = tmp_path / "store"
    res = cli(runner, "ingest", "calls", f, "--practice", PRACTICE, "--store", store)
    assert res.exit_code == 0, res.output
    return store


# ----------------------------------------------------------------------------- ingest


def test_ingest_truncated_gzip_is_one_line_and_writes_nothing(runner, tmp_path):
    """A download that stopped: the head decompresses, the rest ends early (EOFError before)."""
    text = (REPORT_HEADER + _report_rows(3000)).encode()
    data = gzip.compress(text)
    f = tmp_path / "CallReport.csv.gz"
    f.write_bytes(data[: len(data) // 2])
    store = tmp_path / "store"
    res = cli(runner, "ingest", "calls", f, "--practice", PRACTICE, "--store", store)
    one_line_error(res, "CallReport.csv.gz: cannot be read: the gzip file is cut short", "nothing was written")
    assert not list(store.glob("calls/**/*.parquet"))
    assert not (store / "ingests.parquet").exists()
    # The same export whole reads.
    f.write_bytes(data)
    res = cli(runner, "ingest", "calls", f, "--practice", PRACTICE, "--store", store)
    assert res.exit_code == 0 and "3,000 written" in res.output, res.output


def test_ingest_appointments_truncated_gzip_is_one_line(runner, tmp_path):
    """An EMIS-style slot report (the layout of tests/data/emis_appointments), gzipped and cut."""
    head = (
        "Appointment Slot Report\nPrinted 05/01/2026 09:14 by practice manager\n"
        "Slot ID,Session Date,Slot Time,Duration,Session Holder,Holder Role,Slot Type,Slot Status,Booked Date,"
        "Patient ID,Delivery Mechanism\n"
    )
    rows = "".join(
        f"E{1000000 + i},05/01/2026,{8 + i % 9:02d}:{i % 6 * 10:02d},10,Dr Pretend Alpha,GP Partner,Same Day,"
        f"Finished,05/01/2026 08:02,PT-FAKE-{i:05d},Telephone\n"
        for i in range(20000)
    )
    data = gzip.compress((head + rows).encode())
    f = tmp_path / "slots.csv.gz"
    f.write_bytes(data[: len(data) // 3])
    res = cli(runner, "ingest", "appointments", f, "--practice", PRACTICE, "--store", tmp_path / "store")
    one_line_error(res, "slots.csv.gz: cannot be read: the gzip file is cut short")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("command", ["calls", "appointments"])
def test_ingest_named_pipe_is_refused_not_waited_on(runner, tmp_path, command):
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    box = {}
    t = threading.Thread(
        target=lambda: box.update(res=cli(runner, "ingest", command, fifo, "--practice", PRACTICE, "--store", tmp_path / "s")),
        daemon=True,
    )
    t.start()
    t.join(20)
    if t.is_alive():  # release the blocked reader, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not t.is_alive(), f"ingest {command} waited on a named pipe"
    one_line_error(box["res"], "export.csv: a named pipe (FIFO), not a file", "save it to a file and pass that")


def test_ingest_rows_with_years_no_timestamp_holds_are_rejected_alone(runner, tmp_path):
    """Years 9999, 1677 and 0001 aborted the whole file (OutOfBoundsDatetime): now each is a
    reject of its row with its line, and the other rows are written."""
    f = tmp_path / "CallReport.csv"
    f.write_text(OUT_OF_RANGE_REPORT)
    store = tmp_path / "store"
    res = cli(runner, "ingest", "calls", f, "--practice", PRACTICE, "--store", store)
    assert res.exit_code == 0, res.output
    assert "6 rows read -> 3 written, 0 duplicates, 3 rejected" in res.output
    rejects = pd.read_csv(next((store / "rejects").glob("*.csv")), dtype=str)
    assert rejects["line"].astype(int).tolist() == [3, 5, 6]
    for year, reason in zip(("9999", "1677", "0001"), rejects["reason"]):
        assert year in reason  # the reason quotes the value it could not use
    assert "07700900" not in rejects.to_csv()  # masked, as every reject
    from telephony.store import open_store

    calls = open_store(store).read_calls([PRACTICE])
    assert sorted(calls["start_utc"].dt.strftime("%H:%M:%S")) == ["08:00:05", "08:02:00", "08:10:30"]


def test_ingest_log_with_crash_padding_of_nul_bytes_keeps_its_rows(runner, tmp_path):
    """A crash leaves a run of NUL bytes where the file's last block was never written: the
    rows before it are written, the NUL run is one reject (the whole file was binary before)."""
    f = tmp_path / "CallReport.csv"
    f.write_bytes((REPORT_HEADER + _report_rows(10)).encode() + b"\x00" * 3000)
    store = tmp_path / "store"
    res = cli(runner, "ingest", "calls", f, "--practice", PRACTICE, "--store", store)
    assert res.exit_code == 0, res.output
    assert "11 rows read -> 10 written, 0 duplicates, 1 rejected" in res.output


# ----------------------------------------------------------------------------- report, staff, forecast


@pytest.mark.parametrize(
    "week, shown",
    [("0001-W01", "0001-W01"), ("1677-W01", "1677-W01"), ("9999-W52", "9999-W52"), ("9999-12-31", "9999-W52"),
     ("0001-01-01", "0001-W01"), ("1969-W52", "1969-W52"), ("2200-W01", "2200-W01")],
)
def test_report_week_in_a_year_out_of_range_is_one_line(runner, small_store, tmp_path, week, shown):
    """0001-W01 and 9999-W52 were OverflowErrors; 1677-W01 wrote a report of nothing."""
    res = cli(runner, "report", "--practice", PRACTICE, "--week", week, "--store", small_store, "--out", tmp_path / "r.html")
    one_line_error(res, f"the week {shown} is outside the years Frontdoor works in (1970 to 2199); check the year")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52", "2261-W52"])
def test_staff_week_in_a_year_out_of_range_is_one_line(runner, small_store, week):
    """9999-W52 overflowed int64; 2261-W52 forecast 236 years of half hours for a minute."""
    res = cli(runner, "staff", "--practice", PRACTICE, "--week", week, "--store", small_store)
    one_line_error(res, f"the week {week} is outside the years Frontdoor works in (1970 to 2199)")


def test_staff_week_years_after_the_history_is_one_line(runner, small_store):
    res = cli(runner, "staff", "--practice", PRACTICE, "--week", "2030-W01", "--store", small_store)
    one_line_error(
        res, "Week 2030-W01 (to 2030-01-06) reaches more than 104 weeks past A81001's history (to 2026-01-06)",
        "too far ahead to forecast",
    )


@pytest.mark.parametrize(
    "horizon, said",
    [("100000w", "Horizon '100000w' is 16,800,000 hourly periods, beyond the 104 weeks (17,472 periods)"),
     ("99999999999999", "Horizon '99999999999999' is 99,999,999,999,999 hourly periods")],
)
def test_forecast_horizon_of_centuries_is_one_line(runner, tmp_path, horizon, said):
    """100000w overflowed int64 addition; a huge number of periods was a 728 TiB MemoryError."""
    f = tmp_path / "calls.csv"
    ds = pd.date_range("2026-01-05", periods=24 * 21, freq="h")
    pd.DataFrame({"ds": ds, "y": (ds.hour >= 8) * 5}).to_csv(f, index=False)
    res = cli(runner, "forecast", "--input", f, "--freq", "hour", "--horizon", horizon, "--model", "seasonal_naive")
    one_line_error(res, said, "give a shorter horizon")


def test_forecast_series_file_with_a_placeholder_year_is_one_line(runner, tmp_path):
    """A ds of 9999 was an OutOfBoundsDatetime from the models' nanosecond arithmetic."""
    f = tmp_path / "calls.csv"
    f.write_text("ds,y\n2026-01-05,3\n2026-01-06,4\n9999-12-31,5\n")
    res = cli(runner, "forecast", "--input", f, "--freq", "day", "--horizon", "7", "--model", "seasonal_naive")
    one_line_error(
        res, "calls.csv: column ds has 1 date(s) outside the years Frontdoor forecasts (1970 to 2199), e.g. '9999-12-31'"
    )


def test_forecast_takes_a_practice_id_in_lower_case(runner, tmp_path):
    """'a81001' was read as a second practice beside the store's A81001: every period twice
    ('repeated timestamps'), then no calendar for it. It is the same practice."""
    f = tmp_path / "CallReport.csv"
    days = [dt.date(2026, 1, 5) + dt.timedelta(days=i) for i in range(21)]
    f.write_text(REPORT_HEADER + "".join(_report_rows(20 + d.weekday(), d) for d in days if d.weekday() < 5))
    store = tmp_path / "store"
    assert cli(runner, "ingest", "calls", f, "--practice", PRACTICE, "--store", store).exit_code == 0
    args = ["forecast", "--freq", "day", "--horizon", "1w", "--model", "seasonal_naive", "--format", "csv", "--store", store]
    upper = cli(runner, *args, "--practice", "A81001")
    lower = cli(runner, *args, "--practice", "a81001")
    assert upper.exit_code == 0 and lower.exit_code == 0, lower.output
    assert lower.stdout == upper.stdout
    assert pd.read_csv(io.StringIO(upper.stdout))["unique_id"].unique().tolist() == ["A81001"]
