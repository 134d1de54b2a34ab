"""AT Protocol pieces the fake PDS needs: syntax checks, DAG-CBOR CIDs, TIDs and a
Lexicon validator driven by the lexicon JSON files in ``shared/conformance``.

Sources:
- Syntax (string formats): https://atproto.com/specs/lexicon#string-formats and the
  reference implementation ``packages/syntax/src/*.ts`` of bluesky-social/atproto
  (commit d6296a1): TID ``^[234567abcdefghij][234567a-z]{12}$``, record key
  ``^[a-zA-Z0-9_~.:-]{1,512}$`` minus ``.``/``..``, the datetime regex plus "no
  ``-00:00``" and "must parse", handle/DID/NSID/AT-URI/BCP-47 rules. The interop
  files ``shared/conformance/atproto/syntax/*_syntax_{valid,invalid}.txt`` are the
  test oracle (tests/fakes/test_fakes.py runs every line).
- TIDs: https://atproto.com/specs/tid (53-bit microseconds, 10-bit clock id,
  base32-sortable).
- CIDs: https://atproto.com/specs/data-model (CIDv1, dag-cbor 0x71 for records, raw
  0x55 for blobs, sha-256, base32 multibase ``b``); DAG-CBOR map keys sorted by
  length then bytes (https://ipld.io/specs/codecs/dag-cbor/spec/), ``$link`` as tag 42.
- Lexicon validation semantics and messages: https://atproto.com/specs/lexicon
  (``maxLength`` counts UTF-8 bytes, ``maxGraphemes`` grapheme clusters, blob
  ``accept``/``maxSize``, unions open unless ``closed``) and the messages of
  ``packages/lex/lex-schema/src/core/validation-issue.ts`` ("grapheme too big
  (maximum 300, got 301) at $.record.text", ``Missing required key "createdAt"``,
  ``Invalid datetime (got "...")``...).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cmctl.text.units import count_graphemes

__all__ = [
    "LEXICON_DIR",
    "LexIssue",
    "Lexicons",
    "blob_cid",
    "dag_cbor",
    "is_at_uri",
    "is_cid",
    "is_datetime",
    "is_did",
    "is_handle",
    "is_language",
    "is_nsid",
    "is_record_key",
    "is_tid",
    "is_uri",
    "make_tid",
    "parse_at_uri",
    "record_cid",
    "walk_blobs",
]

_REPO = Path(__file__).resolve().parents[2]
CONFORMANCE = Path(os.environ.get("CMCTL_CONFORMANCE", _REPO.parent / "shared" / "conformance"))
LEXICON_DIR = CONFORMANCE / "atproto" / "lexicons"

# -- syntax --------------------------------------------------------------------------

_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_RECORD_KEY = re.compile(r"^[a-zA-Z0-9_~.:-]{1,512}$")
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_DATETIME = re.compile(
    r"^(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[012])-(?P<day>[0-2][0-9]|3[01])"
    r"T(?P<hour>[0-1][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9]|60)"
    r"(?P<frac>\.[0-9]+)?(?P<offset>Z|[+-](?:[0-1][0-9]|2[0-3]):[0-5][0-9])$"
)
_AT_URI = re.compile(
    r"^at://(?P<authority>[^/?#\s]+)(?:/(?P<collection>[^/?#\s]+)(?:/(?P<rkey>[^/?#\s]+))?)?"
    r"(?P<slash>/)?(?:\?(?P<query>[^#\s]*))?(?:#(?P<hash>[^\s]*))?$"
)
_URI = re.compile(r"^\w+:(?://)?[^\s/][^\s]*$")
_BCP47 = re.compile(
    r"^((en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo"
    r"|i-pwn|i-tao|i-tay|i-tsu|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE)|(art-lojban|cel-gaulish|no-bok"
    r"|no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang))$"
    r"|^(([A-Za-z]{2,3}(-([A-Za-z]{3}(-[A-Za-z]{3}){0,2}))?)|[A-Za-z]{4}|[A-Za-z]{5,8})"
    r"(-([A-Za-z]{4}))?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(-([0-9A-WY-Za-wy-z](-[A-Za-z0-9]{2,8})+))*(-([xX](-[A-Za-z0-9]{1,8})+))?$"
    r"|^([xX](-[A-Za-z0-9]{1,8})+)$"
)
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_S32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, for TIDs


def is_tid(value: object) -> bool:
    return isinstance(value, str) and _TID.match(value) is not None


def is_record_key(value: object) -> bool:
    return (
        isinstance(value, str) and _RECORD_KEY.match(value) is not None and value not in (".", "..")
    )


def is_did(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 2048 and _DID.match(value) is not None


def is_handle(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 253 and _HANDLE.match(value) is not None


def is_nsid(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 253 + 1 + 63:
        return False
    if not re.fullmatch(r"[a-zA-Z0-9.-]+", value):
        return False
    segments = value.split(".")
    if len(segments) < 3:
        return False
    for segment in segments[:-1]:
        if not 1 <= len(segment) <= 63 or segment[0] == "-" or segment[-1] == "-":
            return False
    if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9]{0,62}", segments[-1]):
        return False
    return segments[0][0].isalpha()


def is_datetime(value: object) -> bool:
    """atproto datetime: RFC 3339 and ISO 8601, 'Z' or +-hh:mm, a real date, years 0-9999."""
    if not isinstance(value, str) or len(value) > 64 or value.endswith("-00:00"):
        return False
    match = _DATETIME.match(value)
    if match is None or match["second"] == "60":  # JS Date (the reference) rejects :60
        return False
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    if day > days:
        return False
    offset = (
        0
        if match["offset"] == "Z"
        else (
            (1 if match["offset"][0] == "+" else -1)
            * (int(match["offset"][1:3]) * 60 + int(match["offset"][4:6]))
        )
    )
    minutes = int(match["hour"]) * 60 + int(match["minute"])
    if year == 0 and month == 1 and day == 1 and minutes - offset < 0:
        return False  # normalizes to a negative year
    return not (year == 9999 and month == 12 and day == 31 and minutes - offset >= 24 * 60)


def is_language(value: object) -> bool:
    return isinstance(value, str) and _BCP47.match(value) is not None


def is_uri(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 8192 and _URI.match(value) is not None


def parse_at_uri(value: str) -> tuple[str, str | None, str | None] | None:
    """(authority, collection, rkey) of an AT-URI, or None when it is not one."""
    match = _AT_URI.match(value)
    if match is None:
        return None
    return match["authority"], match["collection"], match["rkey"]


def is_at_uri(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 8192:
        return False
    if re.search(r"[^a-zA-Z0-9._~:@!$&'()*+,;=%/\[\]#?-]", value):
        return False
    parts = parse_at_uri(value)
    if parts is None:
        return False
    authority, collection, rkey = parts
    if not (is_did(authority) or is_handle(authority)):
        return False
    if collection is not None and not is_nsid(collection):
        return False
    return rkey is None or is_record_key(rkey)


def _b32decode(text: str) -> bytes:
    bits = 0
    value = 0
    out = bytearray()
    for char in text:
        index = _B32.find(char)
        if index < 0:
            raise ValueError(f"not base32: {char!r}")
        value = (value << 5) | index
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((value >> bits) & 0xFF)
    return bytes(out)


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def cid_bytes(cid: str) -> bytes:
    """Binary form of a base32 CIDv1 string (raises ValueError otherwise)."""
    if not cid.startswith("b") or len(cid) < 10:
        raise ValueError("only base32 CIDv1 strings are supported")
    raw = _b32decode(cid[1:])
    if raw[0] != 0x01:
        raise ValueError("not a CIDv1")
    return raw


def is_cid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    if re.fullmatch(r"Qm[1-9A-HJ-NP-Za-km-z]{44}", value):  # CIDv0
        return True
    try:
        raw = cid_bytes(value)
    except (ValueError, IndexError):
        return False
    return len(raw) >= 4


def _cid(codec: int, data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "b" + _b32encode(bytes([0x01]) + _varint(codec) + bytes([0x12, 0x20]) + digest)


def blob_cid(data: bytes) -> str:
    """CID of a blob: CIDv1, raw codec, sha-256 ("bafkrei...")."""
    return _cid(0x55, data)


def record_cid(record: Any) -> str:
    """CID of a record: CIDv1, dag-cbor, sha-256 ("bafyrei...")."""
    return _cid(0x71, dag_cbor(record))


# -- DAG-CBOR ------------------------------------------------------------------------


class DataModelError(ValueError):
    """A JSON value outside the atproto data model (floats, bad $link/$bytes)."""


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    if value < 0x100:
        return bytes([major << 5 | 24, value])
    if value < 0x10000:
        return bytes([major << 5 | 25]) + struct.pack(">H", value)
    if value < 0x100000000:
        return bytes([major << 5 | 26]) + struct.pack(">I", value)
    return bytes([major << 5 | 27]) + struct.pack(">Q", value)


def dag_cbor(value: Any) -> bytes:
    """DAG-CBOR encoding of a JSON value in the atproto data model."""
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        if not -(2**63) <= value < 2**64:
            raise DataModelError("integer out of range")
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        raise DataModelError("floats are not allowed in the atproto data model")
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(dag_cbor(v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"$link"}:
            link = value["$link"]
            if not isinstance(link, str):
                raise DataModelError("$link must be a string")
            try:
                raw = b"\x00" + cid_bytes(link)
            except (ValueError, IndexError) as exc:
                raise DataModelError(f"invalid $link: {exc}") from None
            return b"\xd8\x2a" + _head(2, len(raw)) + raw
        if set(value) == {"$bytes"}:
            try:
                raw = base64.b64decode(str(value["$bytes"]) + "==")
            except ValueError as exc:
                raise DataModelError(f"invalid $bytes: {exc}") from None
            return _head(2, len(raw)) + raw
        keys = sorted(value, key=lambda k: (len(k.encode("utf-8")), k.encode("utf-8")))
        out = bytearray(_head(5, len(keys)))
        for key in keys:
            out += dag_cbor(key) + dag_cbor(value[key])
        return bytes(out)
    raise DataModelError(f"unsupported value of type {type(value).__name__}")


# -- TID -----------------------------------------------------------------------------


def make_tid(micros: int, clock_id: int = 0) -> str:
    """A TID for a timestamp in microseconds since the epoch."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_S32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


# -- blobs ---------------------------------------------------------------------------


def walk_blobs(value: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every typed blob ref (``{"$type": "blob", ...}``) inside a JSON value, with its path."""
    if isinstance(value, dict):
        if value.get("$type") == "blob":
            yield path, value
            return
        for key, item in value.items():
            yield from walk_blobs(item, _join(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_blobs(item, f"{path}[{index}]")


# -- lexicon validation --------------------------------------------------------------


class LexIssue(Exception):
    """One validation failure, worded like @atproto/lex-schema: "<message> at <path>"."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(f"{message} at {path}")
        self.message = message
        self.path = path


_FORMAT_NAMES = {
    "at-identifier": "AT identifier",
    "did": "DID",
    "nsid": "NSID",
    "cid": "CID string",
    "tid": "TID string",
    "record-key": "record key",
}


def _check_format(fmt: str, value: str) -> bool:
    checks = {
        "datetime": is_datetime,
        "language": is_language,
        "did": is_did,
        "handle": is_handle,
        "at-identifier": lambda v: is_did(v) or is_handle(v),
        "nsid": is_nsid,
        "at-uri": is_at_uri,
        "uri": is_uri,
        "cid": is_cid,
        "tid": is_tid,
        "record-key": is_record_key,
    }
    check = checks.get(fmt)
    return True if check is None else bool(check(value))


def format_issue(fmt: str, value: Any, path: str) -> LexIssue:
    return LexIssue(f"Invalid {_FORMAT_NAMES.get(fmt, fmt)} (got {_show(value)})", path)


def _show(value: Any) -> str:
    """A short preview of a value, like lex-schema's stringifyValue."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value if len(value) < 256 else value[:255] + "…", ensure_ascii=False)
    if isinstance(value, list):
        shown = ", ".join(_show(v) for v in value[:2])
        return f"[{shown}{', ...' if len(value) > 2 else ''}]"
    if isinstance(value, dict):
        keys = list(value)
        shown = ", ".join(f"{json.dumps(k)}: ..." for k in keys[:2])
        return "{" + shown + (", ..." if len(keys) > 2 else "") + "}"
    return type(value).__name__


def _join(path: str, key: str) -> str:
    if re.fullmatch(r"[a-zA-Z_$][a-zA-Z0-9_]*", key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


class Lexicons:
    """Lexicon documents loaded from a folder; validates values against their defs."""

    def __init__(self, directory: Path = LEXICON_DIR, *, closed_unions: bool = False) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        for file in sorted(directory.glob("*.json")):
            doc = json.loads(file.read_text(encoding="utf-8"))
            self.docs[doc["id"]] = doc
        #: Treat every union as closed (reject a $type not among its refs). The
        #: reference PDS accepts unknown $types in open unions; the fake's strict mode
        #: closes them to catch typos.
        self.closed_unions = closed_unions

    def get(self, lex_id: str, name: str = "main") -> dict[str, Any] | None:
        doc = self.docs.get(lex_id)
        return None if doc is None else doc["defs"].get(name)

    def _resolve(self, ref: str, context: str) -> tuple[str, str, dict[str, Any] | None]:
        if ref.startswith("#"):
            lex_id, name = context, ref[1:]
        elif "#" in ref:
            lex_id, name = ref.split("#", 1)
        else:
            lex_id, name = ref, "main"
        return lex_id, name, self.get(lex_id, name)

    def validate_record(self, collection: str, record: Any, path: str = "$.record") -> None:
        """Validate ``record`` against the record def of ``collection`` (raises LexIssue)."""
        definition = self.get(collection)
        if definition is None or definition.get("type") != "record":
            raise KeyError(collection)
        self.validate(record, definition["record"], collection, path)

    def validate_input(self, nsid: str, body: Any) -> None:
        """Validate a procedure's JSON input body (raises LexIssue)."""
        definition = self.get(nsid)
        if definition is None:
            raise KeyError(nsid)
        schema = definition.get("input", {}).get("schema")
        if schema is not None:
            self.validate(body, schema, nsid, "$")

    def validate(self, value: Any, schema: dict[str, Any], context: str, path: str) -> None:
        kind = schema.get("type")
        if kind == "ref":
            lex_id, _, target = self._resolve(schema["ref"], context)
            if target is not None:
                self.validate(value, target, lex_id, path)
            return
        if kind == "union":
            self._union(value, schema, context, path)
            return
        if kind in ("object", "params"):
            self._object(value, schema, context, path)
            return
        if kind == "record":
            self._object(value, schema["record"], context, path)
            return
        if kind == "string":
            self._string(value, schema, path)
            return
        if kind == "integer":
            self._integer(value, schema, path)
            return
        if kind == "boolean":
            if not isinstance(value, bool):
                raise LexIssue(f"Expected boolean value type (got {_show(value)})", path)
            if "const" in schema and value != schema["const"]:
                raise LexIssue(f"Expected {_show(schema['const'])} (got {_show(value)})", path)
            return
        if kind == "array":
            self._array(value, schema, context, path)
            return
        if kind == "blob":
            self._blob(value, schema, path)
            return
        if kind == "unknown":
            if not isinstance(value, dict):
                raise LexIssue(f"Expected object value type (got {_show(value)})", path)
            return
        if kind == "cid-link":
            if not (isinstance(value, dict) and set(value) == {"$link"} and is_cid(value["$link"])):
                raise LexIssue(f"Expected cid value type (got {_show(value)})", path)
            return
        if kind == "bytes":
            if not (isinstance(value, dict) and set(value) == {"$bytes"}):
                raise LexIssue(f"Expected bytes value type (got {_show(value)})", path)
            return
        # null, token and anything newer: nothing more to check here

    def _object(self, value: Any, schema: dict[str, Any], context: str, path: str) -> None:
        if not isinstance(value, dict):
            raise LexIssue(f"Expected object value type (got {_show(value)})", path)
        nullable = set(schema.get("nullable", []))
        for key in schema.get("required", []):
            if key not in value:
                raise LexIssue(f'Missing required key "{key}"', path)
        for key, prop in schema.get("properties", {}).items():
            if key not in value:
                continue
            item = value[key]
            if item is None and key in nullable:
                continue
            self.validate(item, prop, context, _join(path, key))

    def _string(self, value: Any, schema: dict[str, Any], path: str) -> None:
        if not isinstance(value, str):
            raise LexIssue(f"Expected string value type (got {_show(value)})", path)
        size = len(value.encode("utf-8", "surrogatepass"))
        if "minLength" in schema and size < schema["minLength"]:
            raise LexIssue(f"string too small (minimum {schema['minLength']}, got {size})", path)
        if "maxLength" in schema and size > schema["maxLength"]:
            raise LexIssue(f"string too big (maximum {schema['maxLength']}, got {size})", path)
        if "minGraphemes" in schema or "maxGraphemes" in schema:
            graphemes = count_graphemes(value)
            low, high = schema.get("minGraphemes"), schema.get("maxGraphemes")
            if low is not None and graphemes < low:
                raise LexIssue(f"grapheme too small (minimum {low}, got {graphemes})", path)
            if high is not None and graphemes > high:
                raise LexIssue(f"grapheme too big (maximum {high}, got {graphemes})", path)
        if "const" in schema and value != schema["const"]:
            raise LexIssue(f"Expected {_show(schema['const'])} (got {_show(value)})", path)
        if "enum" in schema and value not in schema["enum"]:
            options = " or ".join(_show(v) for v in schema["enum"])
            raise LexIssue(f"Expected one of {options} (got {_show(value)})", path)
        fmt = schema.get("format")
        if fmt is not None and not _check_format(fmt, value):
            raise format_issue(fmt, value, path)

    def _integer(self, value: Any, schema: dict[str, Any], path: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise LexIssue(f"Expected integer value type (got {_show(value)})", path)
        if "minimum" in schema and value < schema["minimum"]:
            raise LexIssue(f"integer too small (minimum {schema['minimum']}, got {value})", path)
        if "maximum" in schema and value > schema["maximum"]:
            raise LexIssue(f"integer too big (maximum {schema['maximum']}, got {value})", path)
        if "enum" in schema and value not in schema["enum"]:
            raise LexIssue(f"Expected one of {schema['enum']} (got {value})", path)
        if "const" in schema and value != schema["const"]:
            raise LexIssue(f"Expected {schema['const']} (got {value})", path)

    def _array(self, value: Any, schema: dict[str, Any], context: str, path: str) -> None:
        if not isinstance(value, list):
            raise LexIssue(f"Expected array value type (got {_show(value)})", path)
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise LexIssue(
                f"array too small (minimum {schema['minLength']}, got {len(value)})", path
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise LexIssue(f"array too big (maximum {schema['maxLength']}, got {len(value)})", path)
        items = schema.get("items")
        if items is not None:
            for index, item in enumerate(value):
                self.validate(item, items, context, f"{path}[{index}]")

    def _blob(self, value: Any, schema: dict[str, Any], path: str) -> None:
        ok = (
            isinstance(value, dict)
            and value.get("$type") == "blob"
            and isinstance(value.get("ref"), dict)
            and set(value["ref"]) == {"$link"}
            and is_cid(value["ref"]["$link"])
            and isinstance(value.get("mimeType"), str)
            and isinstance(value.get("size"), int)
            and not isinstance(value.get("size"), bool)
            and value["size"] >= 0
        )
        if not ok:
            raise LexIssue(f"Expected blob value type (got {_show(value)})", path)
        accept = schema.get("accept")
        mime = value["mimeType"]
        if accept and not _matches_mime(mime, accept):
            shown = " or ".join(_show(a) for a in accept)
            raise LexIssue(f"Expected {shown} (got {_show(mime)})", _join(path, "mimeType"))
        max_size = schema.get("maxSize")
        if max_size is not None and value["size"] > max_size:
            raise LexIssue(f"blob too big (maximum {max_size}, got {value['size']})", path)

    def _union(self, value: Any, schema: dict[str, Any], context: str, path: str) -> None:
        if not (isinstance(value, dict) and isinstance(value.get("$type"), str)):
            raise LexIssue(
                'Expected an object which includes the "$type" property value type '
                f"(got {_show(value)})",
                path,
            )
        wanted = value["$type"].removesuffix("#main")
        for ref in schema.get("refs", []):
            lex_id, name, target = self._resolve(ref, context)
            full = lex_id if name == "main" else f"{lex_id}#{name}"
            if full == wanted:
                if target is not None:
                    self.validate(value, target, lex_id, path)
                return  # a known ref whose lexicon we do not have: accept
        if schema.get("closed") or self.closed_unions:
            refs = []
            for ref in schema.get("refs", []):
                lex_id, name, _ = self._resolve(ref, context)
                refs.append(lex_id if name == "main" else f"{lex_id}#{name}")
            shown = " or ".join(_show(r) for r in refs)
            got = _show(value["$type"])
            raise LexIssue(f"Expected one of {shown} (got {got})", path + ".$type")


def _matches_mime(mime: str, accept: list[str]) -> bool:
    if "*/*" in accept or mime in accept:
        return True
    return any(a.endswith("/*") and mime.startswith(a[:-1]) for a in accept)
