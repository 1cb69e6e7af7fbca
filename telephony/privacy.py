"""Pseudonymisation of phone numbers and agents, and masking of digits in text.

Caller numbers are personal data. Each is normalised to E.164 (UK default region) and replaced
by a keyed HMAC-SHA256 pseudonym. The key lives outside the data: ``FRONTDOOR_KEY`` in the
environment, or a key file that :func:`ensure_key_file` creates with 0600 permissions when a
store is created. Under one key the same number gives the same pseudonym whatever spelling or
phone system it came from (``07700 900123``, ``+447700900123``, ``"Jo" <447700900123>``).
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import traceback
from pathlib import Path

import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from telephony.errors import KeyMissingError

KEY_ENV = "FRONTDOOR_KEY"
KEY_FILE_NAME = ".frontdoor-key"
PSEUDONYM_HEX_CHARS = 20  # 80 bits: collision-free at national scale for practical purposes

# Words phone systems and portals write for a number that is not given.
WITHHELD_WORDS = frozenset(
    {
        "", "anonymous", "withheld", "unknown", "private", "restricted", "unavailable",
        "null", "none", "n/a", "na", "-", "--", "number withheld", "private number",
        "anonymous caller", "unknown caller", "not available", "blocked", "nan",
    }
)

_STRIP = re.compile(r"[\s\-().\u00a0/]")
_ANGLE = re.compile(r"<([^<>]*)>")
_URI = re.compile(r"^(?:sip|sips|tel|pjsip):([^@;]+)", re.IGNORECASE)
_UK_NATIONAL = re.compile(r"^0(\d{9,10})$")
_UK_PLUS = re.compile(r"^\+44(\d{9,10})$")
_UK_44 = re.compile(r"^44(\d{10})$")
_UK_NO_ZERO = re.compile(r"^([1-37-9]\d{9})$")  # leading zero eaten by a spreadsheet
_EXTENSION = re.compile(r"^\d{2,6}$")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{2,}$")
_COUNTRY_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def normalise_number(raw: object, region: str = "GB") -> str | None:
    """Normalise a caller number to E.164, or ``None`` when withheld or absent.

    Parameters
    ----------
    raw : object
        The number as the export spells it: national, international, with spaces, in
        ``"Name" <number>`` form, as a SIP URI, or with the leading zero lost by a spreadsheet.
    region : str
        Default region for national numbers.

    Returns
    -------
    str or None
        ``+447700900123`` style E.164; ``ext:201`` for a short internal extension;
        ``raw:<cleaned>`` for anything that is not a possible phone number (still pseudonymised,
        so distinct values stay distinct); ``None`` for withheld or empty.
    """
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    s = str(raw).strip()
    if s.lower() in WITHHELD_WORDS:
        return None
    m = _ANGLE.search(s)
    if m:
        s = m.group(1).strip()
        if s.lower() in WITHHELD_WORDS:
            return None
    m = _URI.match(s)
    if m:
        s = m.group(1)
    elif "@" in s:
        # SIP callers as Avaya and others log them, "07700900123@192.0.2.10": the number is the
        # part before the host, or one caller would get a new pseudonym per gateway.
        s = s.split("@", 1)[0]
    if s.endswith(".0") and s[:-2].isdigit():  # a spreadsheet turned it into a float
        s = s[:-2]
    s = _STRIP.sub("", s)
    if s.lower() in WITHHELD_WORDS:
        return None
    if s.startswith("00"):
        s = "+" + s[2:]
    if region == "GB":
        for pattern in (_UK_NATIONAL, _UK_PLUS, _UK_44, _UK_NO_ZERO):
            m = pattern.match(s)
            if m:
                return "+44" + m.group(1)
    if _EXTENSION.match(s):
        return "ext:" + s
    if _INTERNATIONAL.match(s) and not any(int(s[1:k]) in _COUNTRY_CODES for k in (2, 3, 4)):
        # No assigned country code: phonenumbers would refuse it too (after a costly try).
        return "raw:" + s.lower()
    try:
        num = phonenumbers.parse(s, region)
        if phonenumbers.is_possible_number(num):
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException as exc:
        # phonenumbers keeps the exception it re-raises in a local of its own frame: a reference
        # cycle that would keep this call's frames, and through them the caller's (a whole
        # chunk of data), alive until a full garbage collection. Clearing the frames breaks it.
        traceback.clear_frames(exc.__traceback__)
    return "raw:" + s.lower()


class Pseudonymiser:
    """Keyed pseudonyms for caller numbers and agents, cached per distinct value.

    Parameters
    ----------
    key : bytes
        The secret HMAC key.
    region : str
        Default region for national numbers.
    """

    _CACHE_LIMIT = 2_000_000

    def __init__(self, key: bytes, region: str = "GB"):
        if not key:
            raise KeyMissingError("the pseudonymisation key is empty")
        self._key = key
        self._region = region
        self._callers: dict[object, str | None] = {}
        self._agents: dict[object, str | None] = {}
        self._named: dict[str, dict[object, str | None]] = {}

    def _digest(self, text: str) -> str:
        return hmac.digest(self._key, text.encode("utf-8"), "sha256").hex()[:PSEUDONYM_HEX_CHARS]

    def digest(self, text: str) -> str:
        """The full keyed HMAC-SHA256 of ``text`` (hex): for ids built from a row's fields."""
        return hmac.digest(self._key, text.encode("utf-8"), "sha256").hex()

    def caller_key(self, raw: object) -> str | None:
        """Pseudonym of one caller number (``None`` when withheld)."""
        e164 = normalise_number(raw, self._region)
        return None if e164 is None else self._digest(e164)

    def agent_key(self, raw: object) -> str | None:
        """Pseudonym of one agent or extension (``None`` when empty)."""
        if raw is None or (isinstance(raw, float) and raw != raw):
            return None
        s = str(raw).strip()
        if s.lower() in WITHHELD_WORDS:
            return None
        return self._digest("agent:" + s.lower())

    def key(self, raw: object, namespace: str) -> str | None:
        """Pseudonym of one identifier in ``namespace`` (``None`` when empty).

        Identifiers are compared with case and runs of spaces ignored (``"Dr A  Patel"`` =
        ``"dr a patel"``). The namespace is part of the hashed text, so the same text in two
        namespaces (a patient id and a clinician, or a phone number) gives unrelated pseudonyms.
        """
        _check_namespace(namespace)
        if raw is None or (isinstance(raw, float) and raw != raw):
            return None
        s = " ".join(str(raw).split()).casefold()
        if s in WITHHELD_WORDS:
            return None
        return self._digest(namespace + ":" + s)

    def keys(self, values: pd.Series, namespace: str) -> pd.Series:
        """Pseudonymise a column of identifiers in ``namespace`` (see :meth:`key`).

        Parameters
        ----------
        values : pandas.Series
            Raw identifiers (patient ids, clinician names...); empty or withheld words give null.
        namespace : str
            Lower-case letters and ``_``, e.g. ``"patient"``, ``"clinician"``; not ``agent``,
            ``ext`` or ``raw``, the prefixes of agent and phone-number pseudonyms.

        Returns
        -------
        pandas.Series
            ``string`` dtype, aligned with ``values``.
        """
        _check_namespace(namespace)
        cache = self._named.setdefault(namespace, {})
        return self._map(values, cache, lambda v: self.key(v, namespace))

    def _map(self, values: pd.Series, cache: dict, fn) -> pd.Series:
        if len(cache) > self._CACHE_LIMIT:
            cache.clear()
        if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
            # Fast path: one Python call per distinct value, the rows mapped by Arrow.

            arr = pa.array(values.array)
            enc = pc.dictionary_encode(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr)
            keys = []
            for u in enc.dictionary.to_pylist():
                k = cache.get(u, cache)
                if k is cache:
                    k = cache[u] = fn(u)
                keys.append(k)
            if arr.null_count and None not in cache:
                cache[None] = fn(None)
            mapped = pa.array(keys, pa.string()).take(enc.indices)
            if arr.null_count and cache[None] is not None:
                mapped = pc.fill_null(mapped, cache[None])
            return pd.Series(pd.arrays.ArrowStringArray(mapped), index=values.index)
        uniques = pd.unique(values.to_numpy(dtype=object, na_value=None))
        for u in uniques:
            if u not in cache:
                cache[u] = fn(u)
        out = values.astype(object).map(cache)
        return out.astype("string")

    def callers(self, values: pd.Series) -> pd.Series:
        """Pseudonymise a column of raw caller numbers."""
        return self._map(values, self._callers, self.caller_key)

    def agents(self, values: pd.Series) -> pd.Series:
        """Pseudonymise a column of raw agent names or extensions."""
        return self._map(values, self._agents, self.agent_key)


_NAMESPACE = re.compile(r"^[a-z][a-z_]{0,31}$")
# Prefixes of the texts hashed for agents ("agent:") and phone numbers ("ext:", "raw:"; E.164
# starts with "+"): a namespace may not reuse one, or its pseudonyms could equal theirs.
_RESERVED_NAMESPACES = frozenset({"agent", "ext", "raw"})


def _check_namespace(namespace: str) -> None:
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace) or namespace in _RESERVED_NAMESPACES:
        raise ValueError(
            f"pseudonym namespace {namespace!r} must be lower-case letters and _ and not one of "
            f"{', '.join(sorted(_RESERVED_NAMESPACES))}"
        )


def ensure_key_file(store_dir: Path) -> Path:
    """Create the store's key file (0600, 32 random bytes as hex) if it does not exist."""
    path = Path(store_dir) / KEY_FILE_NAME
    if not path.exists():
        # Written whole under a temporary name, then linked into place: two processes creating
        # the same store at once both end up reading one complete key, never a half-written one.
        tmp = path.with_name(f"{KEY_FILE_NAME}.tmp-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            tmp.unlink()
    return path


def load_key(store_dir: Path | None) -> bytes:
    """Return the key: ``FRONTDOOR_KEY`` if set, else the store's key file.

    Raises
    ------
    KeyMissingError
        When neither exists.
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    if store_dir is not None:
        path = Path(store_dir) / KEY_FILE_NAME
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            raise KeyMissingError(
                f"{path} is a directory, not a key file: move it away and restore the store's key file "
                f"(or set {KEY_ENV} to the store's key)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyMissingError(f"cannot read the key file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        else:
            if not text:
                raise KeyMissingError(f"the key file {path} is empty: restore the store's key file (or set {KEY_ENV})")
            return text.encode("utf-8")
    raise KeyMissingError(
        f"no pseudonymisation key: set {KEY_ENV} or create the store with "
        "'frontdoor ingest' so it writes its key file"
    )


# Dates and times are kept; anything else with seven or more digits is treated as a number,
# its digits separated by what normalise_number strips (spaces, - ( ) . /): "07700/900123".
# Dates the separators would otherwise catch are kept first: ISO, year-first with slashes
# (Avaya's 2026/01/05), and day-first with / . or - (05/01/2026, 05.01.2026, 05-01-2026).
_MASK = re.compile(
    r"(?P<keep>\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"
    r"|\d{4}/\d{1,2}/\d{1,2}(?: \d{1,2}:\d{2}(?::\d{2})?)?(?!\d)"
    r"|\d{1,2}(?P<sep>[/.\-])\d{1,2}(?P=sep)(?:\d{4}|\d{2}(?!\d))(?: \d{1,2}:\d{2}(?::\d{2})?)?(?!\d)"
    r"|\d{1,2}:\d{2}(?::\d{2})?)"
    # Separators: any spaces but line breaks (a no-break space, a tab, several spaces), - ( ) . /
    r"|(?P<num>\+?\d(?:(?:[^\S\r\n]|[\-()./]){0,4}\d){6,})"
)


def mask_digits(text: object) -> str:
    """Mask every phone-number-like run of seven or more digits in ``text``.

    Dates and clock times are left readable so a reject still says when. The mask keeps the
    length, so a reader can see that something was there: ``07700 900123`` → ``XXXXX XXXXXX``.
    """
    s = "" if text is None else str(text)

    def repl(m: re.Match) -> str:
        if m.group("keep"):
            return m.group("keep")
        return re.sub(r"\d", "X", m.group("num"))

    return _MASK.sub(repl, s)
