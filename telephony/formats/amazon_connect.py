"""Amazon Connect contact trace records (CTRs).

Reads CTRs as Amazon Connect streams them (Kinesis Data Firehose → S3: JSON objects back to
back, or one per line), as a JSON array, or as CSV with the nested fields flattened
(``Queue.Name`` / ``queue_name``, as an Athena query over the CTR bucket gives)::

    {"ContactId": "a1b2...", "InitialContactId": null, "PreviousContactId": null,
     "Channel": "VOICE", "InitiationMethod": "INBOUND",
     "InitiationTimestamp": "2026-01-05T08:00:12Z", "DisconnectTimestamp": "2026-01-05T08:05:00Z",
     "CustomerEndpoint": {"Address": "+447700900101", "Type": "TELEPHONE_NUMBER"},
     "SystemEndpoint": {"Address": "+441632960000", "Type": "TELEPHONE_NUMBER"},
     "Queue": {"Name": "Reception", "EnqueueTimestamp": "...", "DequeueTimestamp": "...",
               "Duration": 48},
     "Agent": {"Username": "sam.jones", "ConnectedToAgentTimestamp": "...",
               "AgentInteractionDuration": 240},
     "DisconnectReason": "CUSTOMER_DISCONNECT", "Attributes": {...}}

One call per *initial* contact: ``TRANSFER``/``QUEUE_TRANSFER`` contacts are legs of the contact
named by their ``InitialContactId`` and are joined to it. Outcomes of an inbound contact:

==============================================================  ==================
the contact and its legs                                        outcome
==============================================================  ==================
connected to an agent (``Agent.ConnectedToAgentTimestamp``)     answered
a callback was created for it (a later ``CALLBACK`` contact     callback
whose ``PreviousContactId`` is this one, or an attribute
such as ``callbackRequested`` saying yes), not answered
queued, not answered: by who disconnected                       :data:`QUEUED_OUTCOMES`
                                                                (customer: abandoned)
never queued: by who disconnected                               :data:`UNQUEUED_OUTCOMES`
                                                                (customer: ivr_abandoned)
==============================================================  ==================

``OUTBOUND``, ``API`` and ``CALLBACK`` contacts are the practice calling out (``outbound``):
answered when the customer's end answered (``ConnectedToSystemTimestamp``), else missed or
failed by the disconnect reason.

Notes
-----
- Timestamps are ISO 8601 UTC; ``start`` (``InitiationTimestamp``) is tz-aware UTC.
- Only ``VOICE`` contacts are calls: chats, tasks and emails are skipped and counted by channel.
  ``MONITOR`` contacts (a supervisor listening in) are skipped too.
- ``wait_s`` is from the first ``Queue.EnqueueTimestamp`` to the agent's connection (answered)
  or to leaving the queue (otherwise); null for contacts never queued and outbound calls.
  ``talk_s`` is the sum of ``Agent.AgentInteractionDuration`` over the call's legs.
- A contact never queued and ended by the contact flow (``CONTACT_FLOW_DISCONNECT``) is taken
  as ``closed``: in a GP set-up that is the flow's out-of-hours branch. Change
  :data:`UNQUEUED_OUTCOMES` if a site's flow hangs up for other reasons.
- A callback contact can only mark its original contact while that contact is still held
  (:data:`CALLBACK_HORIZON` after it); a callback made later leaves the original as an
  abandon. Transfer contacts whose initial contact is not in the file are rejected with that
  reason (export a period holding both).
- An ``InitiationMethod`` not in :data:`METHODS` keeps the contact as a call of its own with
  direction ``unknown``: ``answered`` when an agent took it, else outcome ``unknown``. A
  ``DisconnectReason`` not in :data:`DISCONNECT_REASONS` leaves the outcome ``unknown`` where
  it would have decided it (an unanswered contact). Both words are counted, never rejected.
- Only an attribute whose name holds ``callback`` and a request word
  (:data:`CALLBACK_ATTRIBUTE_WORDS`: ``callbackRequested``, ``CallbackAccepted``...) with a yes
  value marks a callback request. Flows keep callback *settings* in attributes too
  (``CallbackNumber``, a configuration id, a whisper text: seen in a real CTR); those say
  nothing about this caller and are ignored.
- Amazon Connect writes a contact's record again when it is updated (a real stream held three
  versions of one contact, differing in ``LastUpdateTimestamp`` and attributes): the latest
  version stands for the contact, the others are counted as rows of the same call.
- ``ivr_s`` is the time in the contact flow: from ``InitiationTimestamp`` to the first
  ``Queue.EnqueueTimestamp``, or to the disconnect for an inbound contact never queued nor
  answered; null for outbound contacts.
- A time with a year before 1678 or after 2261 (a placeholder ``9999``, a wrong clock) or a
  duration that is not a number of seconds up to a day (``1e999999``) rejects its record with
  the reason; the rest of the file is read.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from typing import Iterator

import numpy as np
import pandas as pd

from telephony.timeutil import BAD_DURATION, OUT_OF_RANGE, plausible_seconds, years_out_of_range
from telephony.privacy import mask_digits
from telephony.sources import Reject, Source, norm_name
from telephony.formats._base import Format, GroupCarry, ParsedChunk, ReadContext, raw_frame, rejects_from, require_columns, row_text
from telephony.formats._records import column, head_table, looks_like_json, parse_utc, record_batches, seconds

NAME = "amazon_connect_ctr"

# Vendor column (norm_name form, nested fields flattened "Queue.Name" -> "queuename") ->
# canonical column.
VARIABLE_MAP: dict[str, str] = {
    "contactid": "contact_id",
    "initialcontactid": "initial",
    "previouscontactid": "previous",
    "nextcontactid": "next",
    "channel": "channel",
    "initiationmethod": "method",
    "initiationtimestamp": "t_init",
    "disconnecttimestamp": "t_disc",
    "connectedtosystemtimestamp": "t_sys",
    "queuename": "queue_name",
    "queuearn": "queue_arn",
    "queueenqueuetimestamp": "t_enq",
    "queuedequeuetimestamp": "t_deq",
    "queueduration": "queue_duration",
    "agentusername": "agent_user",
    "agentarn": "agent_arn",
    "agentconnectedtoagenttimestamp": "t_agent",
    "agentagentinteractionduration": "agent_interaction",
    "customerendpointaddress": "customer",
    "systemendpointaddress": "system",
    "disconnectreason": "disconnect_reason",
    "lastupdatetimestamp": "t_update",
}
REQUIRED = ["contact_id", "method", "t_init"]

# InitiationMethod -> role of the contact.
METHODS: dict[str, str] = {
    "INBOUND": "inbound",
    "WEBRTC_API": "inbound",
    "OUTBOUND": "outbound",
    "API": "outbound",
    "EXTERNAL_OUTBOUND": "outbound",
    "CALLBACK": "callback",
    "TRANSFER": "leg",
    "QUEUE_TRANSFER": "leg",
    "DISCONNECT": "leg",
    "MONITOR": "skip",
}
# DisconnectReason -> who ended the contact.
DISCONNECT_REASONS: dict[str, str] = {
    "CUSTOMER_DISCONNECT": "customer",
    "AGENT_DISCONNECT": "agent",
    "THIRD_PARTY_DISCONNECT": "third_party",
    "CONTACT_FLOW_DISCONNECT": "system",
    "API": "system",
    "EXPIRED": "system",
    "OTHER": "system",
    "BARGED": "agent",
    "AGENT_CONNECTION_NOT_ESTABLISHED": "system",
    "TELECOM_PROBLEM": "failed",
    "CUSTOMER_CONNECTION_NOT_ESTABLISHED": "failed",
    "OUTBOUND_DESTINATION_ENDPOINT_ERROR": "failed",
    "OUTBOUND_RESOURCE_ERROR": "failed",
    "OUTBOUND_ATTEMPT_FAILED": "failed",
    "DISCARDED": "failed",
}
# Who ended an unanswered inbound contact -> outcome, when it was queued / never queued.
QUEUED_OUTCOMES: dict[str, str] = {
    "customer": "abandoned",
    "system": "missed",
    "agent": "missed",
    "third_party": "missed",
    "failed": "failed",
}
UNQUEUED_OUTCOMES: dict[str, str] = {
    "customer": "ivr_abandoned",
    "system": "closed",
    "agent": "ivr_abandoned",
    "third_party": "ivr_abandoned",
    "failed": "failed",
}
# Who ended an unanswered outbound contact -> outcome.
OUTBOUND_UNANSWERED: dict[str, str] = {"failed": "failed"}  # anything else: missed
# A contact attribute records a callback request when its name holds "callback" and one of
# these words, and its value says yes. Flows also keep callback settings in attributes
# (CallbackNumber, CallbackConfigurationId, a whisper message: seen in a real CTR) that say
# nothing about whether this caller asked for one.
CALLBACK_ATTRIBUTE_WORDS: tuple[str, ...] = ("request", "accept", "book", "queued", "scheduled", "created")
CALLBACK_ATTRIBUTE_YES = frozenset({"true", "yes", "y", "1", "requested", "accepted", "booked"})
# Time columns read, with the names the export gives them (for reasons).
TIME_FIELDS: dict[str, str] = {
    "t_init": "InitiationTimestamp",
    "t_disc": "DisconnectTimestamp",
    "t_sys": "ConnectedToSystemTimestamp",
    "t_enq": "Queue.EnqueueTimestamp",
    "t_deq": "Queue.DequeueTimestamp",
    "t_agent": "Agent.ConnectedToAgentTimestamp",
    "t_update": "LastUpdateTimestamp",
}
DURATION_FIELDS: dict[str, str] = {
    "queue_duration": "Queue.Duration",
    "agent_interaction": "Agent.AgentInteractionDuration",
}



# How long a contact is held waiting for a callback contact that names it.
CALLBACK_HORIZON = pd.Timedelta(hours=12)
_ALIAS_LIMIT = 200_000


def sniff(source: Source) -> float:
    """1.0 for CTRs (JSON, or CSV with ContactId and InitiationMethod columns)."""
    if looks_like_json(source):
        head = source.head
        if not re.search(r'"ContactId"\s*:', head):
            return 0.0
        if re.search(r'"InitiationMethod"\s*:\s*"[A-Z_]+"', head) and re.search(r'"Channel"\s*:', head):
            return 1.0
        return 0.6
    head = head_table(source, VARIABLE_MAP, {"contact_id", "method"})
    if head is None:
        return 0.0
    for r in head.rows or []:
        if head.complete(r) and head.value(r, "method").upper() in METHODS and "t_init" in head.canon:
            return 1.0
    return 0.6


class _Reader:
    """State across chunks: which contact belongs to which call."""

    def __init__(self, source: Source):
        self.source = source
        self.alias: OrderedDict[str, str] = OrderedDict()
        self.carry = GroupCarry("key", "t", horizon=CALLBACK_HORIZON)

    def _key_of(self, contact: str) -> str:
        return self.alias.get(contact, contact)

    def _remember(self, contact: str, key: str) -> None:
        self.alias[contact] = key
        if len(self.alias) > _ALIAS_LIMIT:
            self.alias.popitem(last=False)

    def rows(self, batch) -> tuple[pd.DataFrame, list[Reject], Counter, Counter]:
        f = batch.frame
        skipped: Counter = Counter()
        unknown: Counter = Counter()
        if f.empty and not len(f.columns):
            return pd.DataFrame(), [], skipped, unknown
        require_columns(f, REQUIRED, self.source, NAME)
        channel = column(f, "channel").str.upper()
        method = column(f, "method").str.upper()
        role = method.map(METHODS).astype("string")
        not_voice = ((channel != "") & (channel != "VOICE")).to_numpy(dtype=bool)
        for ch in channel[not_voice]:
            skipped[f"channel {ch} (not a phone call)"] += 1
        monitor = (role == "skip").fillna(False).to_numpy(dtype=bool) & ~not_voice
        if monitor.any():
            skipped["InitiationMethod MONITOR (supervisor monitoring)"] += int(monitor.sum())
        voice = ~not_voice & ~monitor
        # An InitiationMethod this table does not know keeps the contact as a call of its own,
        # direction unknown; the word is counted.
        m = role.isna().to_numpy(dtype=bool) & voice
        for w in column(f, "method")[m]:
            unknown[mask_digits(f"InitiationMethod {w!r}")] += 1
        role = role.fillna("unknown")

        reason = pd.Series("", index=f.index, dtype="object")
        # A time with a year pandas cannot hold is blanked before parsing (it would stop the
        # whole file) and rejects its record.
        times: dict[str, pd.Series] = {}
        for name, label in TIME_FIELDS.items():
            text = column(f, name)
            oor = years_out_of_range(text)
            times[name] = parse_utc(text.where(~oor, ""))
            m = oor & voice & (reason == "").to_numpy()
            reason[m] = [f"{label} out of range ({v!r}): {OUT_OF_RANGE}" for v in text[m]]
        t_init = times["t_init"]
        m = t_init.isna().to_numpy() & voice & (reason == "").to_numpy()
        reason[m] = [
            f"InitiationTimestamp missing or unreadable ({v!r}); expected ISO 8601 such as 2026-01-05T08:00:12Z"
            for v in column(f, "t_init")[m]
        ]
        durations: dict[str, pd.Series] = {}
        for name, label in DURATION_FIELDS.items():
            text = column(f, name)
            d = seconds(text)
            implausible = (text != "").to_numpy(dtype=bool) & ~plausible_seconds(d)
            durations[name] = d.where(~implausible)
            m = implausible & voice & (reason == "").to_numpy()
            reason[m] = [f"{label} unreadable ({v[:20]!r}): {BAD_DURATION}" for v in text[m]]
        cid = column(f, "contact_id")
        m = (cid == "").to_numpy() & voice & (reason == "").to_numpy()
        reason[m] = "ContactId missing"
        dr = column(f, "disconnect_reason").str.upper()
        dr_unknown = (dr != "") & ~dr.isin(list(DISCONNECT_REASONS))
        for w in column(f, "disconnect_reason")[dr_unknown.to_numpy(dtype=bool) & voice & (reason == "").to_numpy()]:
            unknown[mask_digits(f"DisconnectReason {w!r}")] += 1
        bad = (reason != "").to_numpy()
        rejects = rejects_from(batch.original, batch.lines, bad, reason)
        keep = voice & ~bad

        # An attribute recording a callback request (CALLBACK_ATTRIBUTE_WORDS) that says yes.
        cb_attr = pd.Series(False, index=f.index)
        for c in batch.original.columns:
            n = norm_name(c)
            if n.startswith("attributes") and "callback" in n and any(w in n for w in CALLBACK_ATTRIBUTE_WORDS):
                v = batch.original[c].astype("string").fillna("").str.strip().str.lower()
                cb_attr |= v.isin(list(CALLBACK_ATTRIBUTE_YES))
        t_sys_given = "t_sys" in f.columns
        texts = row_text(batch.original).to_numpy(dtype=object) if len(f) else np.array([], dtype=object)

        # Each voice contact's call key: its own id, or its initial contact's for a leg.
        keys: list[str] = []
        marker_keys: list[str | None] = []
        initial, previous = column(f, "initial"), column(f, "previous")
        for i, (c, r, ini, prev, k) in enumerate(zip(cid, role.fillna(""), initial, previous, keep)):
            if not k:
                keys.append("")
                marker_keys.append(None)
                continue
            if r == "leg":
                key = ini or (self._key_of(prev) if prev else "") or c
                key = self._key_of(key)
            else:
                key = c
            self._remember(c, key)
            keys.append(key)
            marker_keys.append(self._key_of(prev) if r == "callback" and prev else None)

        rows = pd.DataFrame(
            {
                "key": keys,
                "contact_id": cid,
                "role": role,
                "is_marker": False,
                "t": t_init,
                "t_disc": times["t_disc"],
                "t_sys": times["t_sys"],
                "t_enq": times["t_enq"],
                "t_deq": times["t_deq"],
                "t_agent": times["t_agent"],
                "t_update": times["t_update"],
                "queue_duration": durations["queue_duration"],
                "interaction": durations["agent_interaction"],
                "queue_name": column(f, "queue_name"),
                "agent": column(f, "agent_user").where(column(f, "agent_user") != "", column(f, "agent_arn")),
                "customer": column(f, "customer"),
                "system": column(f, "system"),
                "ender": dr.map(DISCONNECT_REASONS).astype("string"),
                "dr_word": column(f, "disconnect_reason"),
                "cb_attr": cb_attr,
                "t_sys_given": t_sys_given,
                "source_line": batch.lines,
                "text": texts,
            },
            index=f.index,
        )
        mk = np.array([m is not None for m in marker_keys], dtype=bool)
        markers = rows.loc[mk].copy()
        if len(markers):
            # A callback contact says its original contact ended in a callback request.
            markers["key"] = [m for m in marker_keys if m is not None]
            markers["is_marker"] = True
        rows = pd.concat([rows.loc[keep], markers], ignore_index=True)
        return rows, rejects, skipped, unknown


def _assemble(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[Reject]]:
    """One raw call per initial contact."""
    if rows is None or rows.empty or "key" not in rows.columns:
        return raw_frame(0), []
    rows = rows.sort_values(["key", "t", "source_line"], kind="stable").reset_index(drop=True)
    has_cb_marker = rows.loc[rows["is_marker"], "key"].unique()
    real = rows[~rows["is_marker"]]
    if real.empty:
        # Callbacks whose original contact was released earlier (or is in another file).
        return raw_frame(0), []
    g = real.groupby("key", sort=False)
    n_rows = g.size()
    first_line = g["source_line"].min()
    # Amazon Connect writes a contact's record again when it is updated (attributes set after
    # the call, a late recording): the same ContactId, a later LastUpdateTimestamp. The latest
    # version stands for the contact; the earlier ones are rows of the same call (n_rows).
    real = (
        real.sort_values(["contact_id", "t_update", "source_line"], kind="stable", na_position="first")
        .drop_duplicates("contact_id", keep="last")
        .sort_values(["key", "t", "source_line"], kind="stable")
    )
    g = real.groupby("key", sort=False)
    main = real[real["contact_id"] == real["key"]].drop_duplicates("key", keep="first").set_index("key")
    rejects: list[Reject] = []
    orphans = n_rows.index.difference(main.index)
    if len(orphans):
        text = real.drop_duplicates("key", keep="first").set_index("key")["text"]
        for k in orphans:
            rejects.append(
                Reject(
                    int(first_line[k]),
                    f"transfer contact of initial contact {k!r}, which is not in this file; "
                    "export a period holding both",
                    str(text[k]),
                    rows=int(n_rows[k]),
                )
            )
        real = real[real["key"].isin(main.index)]
        if real.empty:
            return raw_frame(0), rejects
        g = real.groupby("key", sort=False)
    k = main.index
    inbound = main["role"] == "inbound"
    unknown_role = main["role"] == "unknown"

    agent_rows = real[real["t_agent"].notna()].sort_values(["key", "t_agent"], kind="stable")
    first_agent = agent_rows.drop_duplicates("key", keep="first").set_index("key")
    queued_rows = real[real["t_enq"].notna()].sort_values(["key", "t_enq"], kind="stable")
    first_q = queued_rows.drop_duplicates("key", keep="first").set_index("key")
    last_q = queued_rows.drop_duplicates("key", keep="last").set_index("key")
    last = real.sort_values(["key", "t_disc", "source_line"], kind="stable").drop_duplicates("key", keep="last").set_index("key")

    answered_in = k.isin(first_agent.index)
    queued = k.isin(first_q.index)
    callback = k.isin(has_cb_marker) | g["cb_attr"].any().reindex(k).fillna(False).to_numpy(dtype=bool)
    ender = last["ender"].reindex(k)
    cust_answered = np.where(main["t_sys_given"], main["t_sys"].notna(), answered_in)

    outcome = pd.Series(pd.NA, index=k, dtype="string")
    unans_q = ender.map(QUEUED_OUTCOMES).fillna("missed")
    unans_u = ender.map(UNQUEUED_OUTCOMES).fillna("closed")
    out_unans = ender.map(OUTBOUND_UNANSWERED).fillna("missed")
    ib = inbound.to_numpy(dtype=bool)
    unk = unknown_role.to_numpy(dtype=bool)
    ob = ~ib & ~unk
    outcome[ib] = np.where(queued[ib], unans_q[ib], unans_u[ib])
    outcome[ib & callback] = "callback"
    outcome[ib & answered_in] = "answered"
    outcome[ob] = np.where(cust_answered[ob], "answered", out_unans[ob])
    # A contact whose InitiationMethod is unknown: answered when an agent took it, else
    # unknown (inbound and outbound read unanswered contacts differently).
    outcome[unk] = np.where(answered_in[unk], "answered", "unknown")

    # An unknown disconnect reason leaves the outcome unknown where it would have chosen it
    # (the word was counted when read).
    decided_by_reason = (ib & ~answered_in & ~callback) | (ob & ~cust_answered)
    unknown_reason = ender.isna().to_numpy() & (last["dr_word"].reindex(k).fillna("") != "").to_numpy()
    outcome[decided_by_reason & unknown_reason] = "unknown"

    interaction = g["interaction"].sum(min_count=1).reindex(k)
    span = (last["t_disc"].reindex(k) - first_agent["t_agent"].reindex(k)).dt.total_seconds()
    talk = interaction.fillna(span).where(outcome == "answered", 0.0).fillna(0.0)
    q_end = last_q["t_deq"].fillna(last_q["t_disc"]).reindex(k)
    wait_unans = (q_end - first_q["t_enq"].reindex(k)).dt.total_seconds()
    wait_unans = wait_unans.fillna(first_q["queue_duration"].reindex(k))
    wait_ans = (first_agent["t_agent"].reindex(k) - first_q["t_enq"].reindex(k)).dt.total_seconds()
    wait = pd.Series(np.nan, index=k)
    # Queue facts mean the same whatever the direction: an unknown one gets them too.
    wait = wait.mask((ib | unk) & queued, wait_unans).mask((ib | unk) & queued & answered_in, wait_ans)
    # In the contact flow (menus, messages) from arrival to the first queue; a contact never
    # queued spent all of its time there.
    ivr_queued = (first_q["t_enq"].reindex(k) - main["t"]).dt.total_seconds()
    ivr_never = (last["t_disc"].reindex(k) - main["t"]).dt.total_seconds()
    ivr = pd.Series(np.nan, index=k)
    ivr = ivr.mask((ib | unk) & queued, ivr_queued).mask(ib & ~queued & ~answered_in, ivr_never)
    ivr = ivr.where(ivr >= 0)

    line = first_q["queue_name"].reindex(k)
    line = line.where(line.fillna("") != "", main["system"].where(inbound, pd.NA))
    agent = first_agent["agent"].reindex(k)
    agent = agent.where(outcome == "answered", pd.NA)
    calls = raw_frame(
        len(k),
        call_id=pd.Series(k, index=k),
        start=main["t"],
        direction=np.select([ib, unk], ["inbound", "unknown"], default="outbound"),
        line=line.where(line.fillna("") != "", pd.NA),
        caller=main["customer"].where(main["customer"] != "", pd.NA),
        outcome=outcome,
        ivr_s=ivr,
        wait_s=wait,
        talk_s=talk,
        agent=agent.where(agent.fillna("") != "", pd.NA),
        source_line=first_line.reindex(k),
        n_rows=n_rows.reindex(k),
    )
    calls = calls.sort_values("source_line", kind="stable").reset_index(drop=True)
    return calls, rejects


def read(source: Source, ctx: ReadContext) -> Iterator[ParsedChunk]:
    """Read Amazon Connect CTRs (JSON objects/lines/array, or flattened CSV) as raw calls.

    Raises
    ------
    BadInputError
        The file holds no contact trace records.
    """
    batches = record_batches(
        source,
        VARIABLE_MAP,
        set(REQUIRED),
        f"not a {NAME} export: no ContactId, InitiationMethod and InitiationTimestamp columns "
        "found (expected CTR JSON or a flattened CSV of it)",
    )
    reader = _Reader(source)
    for batch in batches:
        rows, rejects, skipped, unknown = reader.rows(batch)
        skipped.update(batch.skipped)
        calls, bad = _assemble(reader.carry.push(rows if len(rows) else None))
        yield ParsedChunk(calls, batch.rejects + rejects + bad, batch.rows_read, skipped, unknown, batch.notes)
    calls, bad = _assemble(reader.carry.push(None, final=True))
    yield ParsedChunk(calls, bad, 0)


FORMATS = [
    Format(
        name=NAME,
        title="Amazon Connect contact trace records (JSON lines/objects as streamed to S3, or flattened CSV)",
        example="ctr-2026-01-05.json",
        sniff=sniff,
        read=read,
        evidence="real",
        evidence_note=(
            "public CTRs of real instances (JSON, inbound contacts answered after queueing and "
            "transferred, one contact written three times as it was updated); flattened CSV not checked"
        ),
    )
]
