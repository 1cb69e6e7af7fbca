"""The canonical call record: one row per call attempt that reached a practice's phone system.

Every parser maps its vendor's columns onto this schema; nothing downstream sees a vendor column.

Glossary
--------
============= ==================== ====== =========================================================
column        type                 unit   meaning
============= ==================== ====== =========================================================
practice_id   string                      ODS code of the practice, e.g. ``A81001``
call_id       string                      unique per practice, stable across re-imports: the
                                          source's own id where it has one, else a hash of the
                                          source row's identifying fields
source_format string                      parser that produced the row, e.g. ``asterisk_queue_log``
start_utc     timestamp[us, UTC]           when the call reached the system
direction     string                      ``inbound``, ``outbound``, ``internal``, or ``unknown``
                                          (a party-type word the reader does not know yet)
line          string                      queue, IVR branch or dialled line as a label (``main``,
                                          ``prescriptions``, or a keyed ``line-3f9a2c`` for a
                                          number): never a raw number; null if unknown
caller_key    string                      keyed HMAC-SHA256 pseudonym of the caller's number in
                                          E.164; null when withheld
outcome       string                      one of :data:`OUTCOMES`
ivr_s         float64              s      in menus or messages before joining a queue (or
                                          ringing); null when the source does not say
wait_s        float64              s      from entering the queue (or ringing) to answer or
                                          hang-up, IVR time excluded; null if never queued
talk_s        float64              s      talking after answer; 0 when not answered
agent_key     string                      pseudonym of the answering extension or agent; null if
                                          none
ingest_id     string                      the ingest that last wrote the row (``frontdoor store
                                          remove --ingest ID`` takes exactly these rows back)
============= ==================== ====== =========================================================

Outcomes (chosen so NHS England's cloud-based telephony definitions can be derived exactly):

============== =================================================================================
outcome        meaning
============== =================================================================================
answered       spoke to a person
callback       accepted a call-back offer (never an abandon)
abandoned      caller hung up while queued
ivr_abandoned  caller hung up before reaching a queue: in menus or messages
missed         queued or rang, ended by the system unanswered (timeout, no agents)
voicemail      left in voicemail
closed         arrived outside opening hours
busy           line busy / congestion
failed         the call failed technically
unknown        the export's word for how the call ended is not known to the reader yet: the
               call is kept and counted as demand, the word is listed in the ingest summary
               and the report's data quality, and it counts in no outcome group (not offered,
               not answered; NHS category ``other``) until the word is mapped and the file
               re-ingested
============== =================================================================================

Directions: ``inbound``, ``outbound``, ``internal`` and ``unknown`` (a party-type word the reader
does not know: kept, listed, and left out of every inbound metric until mapped).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from telephony.timeutil import MAX_DURATION_S, PERIOD_YEARS

OUTCOMES: tuple[str, ...] = (
    "answered",
    "callback",
    "abandoned",
    "ivr_abandoned",
    "missed",
    "voicemail",
    "closed",
    "busy",
    "failed",
    "unknown",
)
DIRECTIONS: tuple[str, ...] = ("inbound", "outbound", "internal", "unknown")

CALL_SCHEMA = pa.schema(
    [
        pa.field("practice_id", pa.string(), nullable=False),
        pa.field("call_id", pa.string(), nullable=False),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("start_utc", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("direction", pa.string(), nullable=False),
        pa.field("line", pa.string()),
        pa.field("caller_key", pa.string()),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("ivr_s", pa.float64()),
        pa.field("wait_s", pa.float64()),
        pa.field("talk_s", pa.float64(), nullable=False),
        pa.field("agent_key", pa.string()),
        pa.field("ingest_id", pa.string()),
    ]
)
CALL_COLUMNS: tuple[str, ...] = tuple(CALL_SCHEMA.names)

GLOSSARY: tuple[tuple[str, str, str, str], ...] = (
    ("practice_id", "string", "", "ODS code of the practice, e.g. A81001"),
    ("call_id", "string", "", "unique per practice and stable across re-imports"),
    ("source_format", "string", "", "parser that produced the row"),
    ("start_utc", "timestamp[us, UTC]", "", "when the call reached the system"),
    ("direction", "string", "", "inbound, outbound, internal or unknown"),
    ("line", "string", "", "queue, IVR branch or keyed label of a dialled number; null if unknown"),
    ("caller_key", "string", "", "keyed pseudonym of the caller's E.164 number; null if withheld"),
    ("outcome", "string", "", "one of " + ", ".join(OUTCOMES)),
    ("ivr_s", "float64", "s", "time in menus or messages before queueing; null if not given"),
    ("wait_s", "float64", "s", "queue or ring time before answer or hang-up; null if never queued"),
    ("talk_s", "float64", "s", "talk time after answer; 0 when not answered"),
    ("agent_key", "string", "", "pseudonym of the answering agent or extension; null if none"),
    ("ingest_id", "string", "", "the ingest that last wrote the row"),
)



#: The span of start times a call may have (:data:`~telephony.timeutil.PERIOD_YEARS`).
EARLIEST = pd.Timestamp(f"{PERIOD_YEARS[0]}-01-01", tz="UTC")
LATEST = pd.Timestamp(f"{PERIOD_YEARS[1] + 1}-01-01", tz="UTC")


def validate_calls(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Check canonical call rows and split off the invalid ones.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows with (at least) the columns of :data:`CALL_SCHEMA`.

    Returns
    -------
    valid : pandas.DataFrame
        The rows that satisfy the schema, with exactly the schema's columns, in order.
    reasons : pandas.Series
        For each invalid row (indexed like ``df``), why it failed. Empty when all are valid.

    Notes
    -----
    All failures of a row are reported together, separated by ``"; "``, so one pass over a bad
    file tells everything that is wrong with it.
    """
    missing = [c for c in CALL_COLUMNS if c not in df.columns]
    if missing:
        # A programming error in a parser, not bad input.
        raise ValueError(f"canonical frame lacks columns {missing}")
    problems: list[pd.Series] = []

    def flag(mask: pd.Series, reason: str) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            problems.append(pd.Series(reason, index=df.index[mask.to_numpy()]))

    for col in ("practice_id", "call_id", "source_format"):
        flag(df[col].isna() | (df[col].astype("string") == ""), f"{col} is empty")
    flag(df["start_utc"].isna(), "start time missing or unreadable")
    start = pd.to_datetime(df["start_utc"], utc=True, errors="coerce")
    flag(
        (start < EARLIEST) | (start >= LATEST),
        f"start time before {PERIOD_YEARS[0]} or after {PERIOD_YEARS[1]} (a phone system with a wrong clock?)",
    )
    flag(~df["direction"].isin(DIRECTIONS), "direction not one of " + "/".join(DIRECTIONS))
    flag(~df["outcome"].isin(OUTCOMES), "outcome not recognised")
    for col in ("ivr_s", "wait_s", "talk_s"):
        v = pd.to_numeric(df[col], errors="coerce")
        flag(v < 0, f"{col} is negative")
        flag(v > MAX_DURATION_S, f"{col} longer than a day")
    flag(pd.to_numeric(df["talk_s"], errors="coerce").isna(), "talk_s missing")
    if problems:
        allp = pd.concat(problems)
        reasons = allp.groupby(level=0, sort=True).agg("; ".join)
    else:
        reasons = pd.Series([], dtype="string")
    valid = df.loc[~df.index.isin(reasons.index), list(CALL_COLUMNS)]
    return valid, reasons


def to_arrow(df: pd.DataFrame) -> pa.Table:
    """Convert validated canonical rows to an Arrow table with exactly :data:`CALL_SCHEMA`."""
    arrays = []
    for field in CALL_SCHEMA:
        col = df[field.name]
        if pa.types.is_timestamp(field.type):
            col = pd.to_datetime(col, utc=True).astype("datetime64[us, UTC]")
            arrays.append(pa.array(col, type=field.type))
        elif pa.types.is_floating(field.type):
            arrays.append(pa.array(pd.to_numeric(col, errors="coerce"), type=field.type, from_pandas=True))
        else:
            arrays.append(pa.array(col.astype("object").where(col.notna(), None), type=field.type))
    return pa.Table.from_arrays(arrays, schema=CALL_SCHEMA)


def empty_calls() -> pd.DataFrame:
    """An empty canonical frame with the schema's dtypes."""
    return CALL_SCHEMA.empty_table().to_pandas()
