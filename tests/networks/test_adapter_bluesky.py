"""The Bluesky adapter against a scripted PDS (httpx.MockTransport, no sockets).

Checked against the reference data in ../shared/conformance/atproto/: the record and
the putRecord input validate against the vendored lexicons, derived record keys pass
the TID syntax fixtures, and the facet worked example of conformance/README.md comes
out byte for byte. Also here: cmctl.media.dimensions, which gives images their
aspectRatio.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmctl import clock
from cmctl.media import dimensions
from cmctl.networks.base import (
    Attachment,
    AuthExpired,
    Outgoing,
    Permanent,
    SendError,
    Sent,
    Transient,
)
from cmctl.networks.bluesky import TID_ALPHABET, TID_SYNTAX, Bluesky, record_key, tid
from cmctl.networks.http import Http
from cmctl.text.units import count_graphemes
from tests.conftest import CONFORMANCE
from tests.networks.helpers import make_outgoing

LEXICONS = CONFORMANCE / "atproto" / "lexicons"
SYNTAX = CONFORMANCE / "atproto" / "syntax"

SERVICE = "https://pds.example"
HANDLE = "brand.bsky.social"
DID = "did:plc:brand7nxzyoun6zhxrhs64oiz"
PASSWORD = "abcd-efgh-ijkl-mnop"
ACCESS = "eyJhbGciOiJIUzI1NiJ9.access-ONE.sig"
REFRESH = "eyJhbGciOiJIUzI1NiJ9.refresh-ONE.sig"
ACCESS2 = "eyJhbGciOiJIUzI1NiJ9.access-TWO.sig"
REFRESH2 = "eyJhbGciOiJIUzI1NiJ9.refresh-TWO.sig"
KEY = "dec:launch@bsky"
NOW = datetime(2026, 12, 1, 8, 30, 0, 123456, tzinfo=UTC)
WORKED = (
    "✨ example mentioning @atproto.com to share the URL 👨‍❤️‍👨 https://en.wikipedia.org/wiki/CBOR."
)
ATPROTO_DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
PINNED_RKEY = "3k4nnqfbkzsjn"  # record_key of "dec:launch@bsky", for ever

Handler = Callable[[httpx.Request], httpx.Response]


# --- helpers ------------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00"
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def outgoing(**changes: Any) -> Outgoing:
    key = changes.pop("key", KEY)
    text = changes.pop("text", "We launch today")
    return make_outgoing(key, text, **changes)


def session(access: str = ACCESS, refresh: str = REFRESH) -> dict[str, Any]:
    return {
        "accessJwt": access,
        "refreshJwt": refresh,
        "handle": HANDLE,
        "did": DID,
        "active": True,
    }


class Pds:
    """A scripted PDS: routes by XRPC method; tests override single methods."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, Handler] = {
            "com.atproto.server.createSession": lambda r: httpx.Response(200, json=session()),
            "com.atproto.server.refreshSession": lambda r: httpx.Response(
                200, json=session(ACCESS2, REFRESH2)
            ),
            "com.atproto.repo.uploadBlob": self.upload,
            "com.atproto.repo.putRecord": self.put,
            "com.atproto.identity.resolveHandle": self.resolve,
        }
        self.handles = {"atproto.com": ATPROTO_DID, "alice.bsky.social": "did:plc:alice"}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        method = request.url.path.removeprefix("/xrpc/")
        route = self.routes.get(method)
        if route is None:
            return httpx.Response(501, json={"error": "MethodNotImplemented"})
        return route(request)

    def methods(self) -> list[str]:
        return [r.url.path.removeprefix("/xrpc/") for r in self.requests]

    def last(self, method: str) -> httpx.Request:
        return [r for r in self.requests if r.url.path == f"/xrpc/{method}"][-1]

    @staticmethod
    def upload(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "blob": {
                    "$type": "blob",
                    "ref": {"$link": "bafkreiblob" + str(len(request.content))},
                    "mimeType": request.headers["content-type"],
                    "size": len(request.content),
                }
            },
        )

    @staticmethod
    def put(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        uri = f"at://{body['repo']}/{body['collection']}/{body['rkey']}"
        return httpx.Response(
            200, json={"uri": uri, "cid": "bafyreinew", "validationStatus": "valid"}
        )

    def resolve(self, request: httpx.Request) -> httpx.Response:
        did = self.handles.get(request.url.params["handle"])
        if did is None:
            return httpx.Response(
                400, json={"error": "HandleNotFound", "message": "Unable to resolve handle"}
            )
        return httpx.Response(200, json={"did": did})


def adapter(tmp_path: Path, pds: Pds | None = None, **options: Any) -> tuple[Bluesky, Pds]:
    pds = pds or Pds()
    http = Http(transport=httpx.MockTransport(pds))
    opts = {"handle": HANDLE, "app_password": PASSWORD, "service": SERVICE, **options}
    return Bluesky("bsky", opts, http, tmp_path / "state"), pds


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


def assert_no_secret(error: SendError) -> None:
    for secret in (PASSWORD, ACCESS, REFRESH, ACCESS2, REFRESH2):
        assert secret not in error.message
        assert secret not in str(error)


# --- a small lexicon checker (the subset these lexicons use) -----------------------


def lexicon(nsid: str) -> dict[str, Any]:
    return json.loads((LEXICONS / f"{nsid}.json").read_text(encoding="utf-8"))


DATETIME = re.compile(
    r"^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\.[0-9]{1,20})?"
    r"(Z|([+-][0-2][0-9]:[0-5][0-9]))$"
)


def validate(value: Any, schema: dict[str, Any], nsid: str, where: str = "$") -> None:
    kind = schema["type"]
    if kind == "ref":
        ref = schema["ref"]
        target, _, name = (nsid + ref if ref.startswith("#") else ref).partition("#")
        validate(value, lexicon(target)["defs"][name or "main"], target, where)
    elif kind in ("object", "record"):
        body = schema.get("record", schema)
        assert isinstance(value, dict), f"{where}: not an object"
        for key in body.get("required", []):
            assert key in value, f"{where}: missing required {key!r}"
            if key not in body.get("nullable", []):
                assert value[key] is not None, f"{where}.{key} is null"
        for key, prop in body.get("properties", {}).items():
            if key in value and not (value[key] is None and key in body.get("nullable", [])):
                validate(value[key], prop, nsid, f"{where}.{key}")
    elif kind == "union":
        assert isinstance(value, dict) and "$type" in value, f"{where}: union without $type"
        refs = [nsid + r if r.startswith("#") else r for r in schema["refs"]]
        assert value["$type"] in refs or value["$type"] + "#main" in refs, where
        validate(value, {"type": "ref", "ref": value["$type"]}, nsid, where)
    elif kind == "array":
        assert isinstance(value, list), f"{where}: not an array"
        assert len(value) <= schema.get("maxLength", len(value)), f"{where}: too long"
        for i, item in enumerate(value):
            validate(item, schema["items"], nsid, f"{where}[{i}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: not a string"
        assert len(value.encode()) <= schema.get("maxLength", 10**9), f"{where}: too many bytes"
        assert count_graphemes(value) <= schema.get("maxGraphemes", 10**9), where
        fmt = schema.get("format")
        if fmt == "datetime":
            assert DATETIME.match(value), f"{where}: {value!r} is not an atproto datetime"
        elif fmt == "did":
            assert re.match(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$", value), where
        elif fmt in ("uri", "at-uri"):
            assert re.match(r"^[a-z][a-z0-9+.-]*:\S+$", value), f"{where}: {value!r}"
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: not an int"
        assert value >= schema.get("minimum", value), f"{where}: below minimum"
    elif kind == "boolean":
        assert isinstance(value, bool), where
    elif kind == "blob":
        assert isinstance(value, dict) and value.get("$type") == "blob", f"{where}: not a blob"
        assert {"ref", "mimeType", "size"} <= value.keys(), where
    elif kind == "unknown":
        assert isinstance(value, dict), where
    else:  # pragma: no cover - a lexicon feature this checker does not know
        raise AssertionError(f"{where}: cannot check lexicon type {kind!r}")


def validate_input(nsid: str, body: Any) -> None:
    validate(body, lexicon(nsid)["defs"]["main"]["input"]["schema"], nsid)


# --- declaration and record keys ----------------------------------------------------


def test_declares_publishing_with_a_forever_idempotency() -> None:
    assert Bluesky.publishes is True
    assert Bluesky.idempotency_window is None


def fixture_lines(name: str) -> list[str]:
    lines = (SYNTAX / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("value", fixture_lines("tid_syntax_valid.txt"))
def test_tid_syntax_accepts_the_valid_fixtures(value: str) -> None:
    assert TID_SYNTAX.match(value)


@pytest.mark.parametrize("value", fixture_lines("tid_syntax_invalid.txt"))
def test_tid_syntax_rejects_the_invalid_fixtures(value: str) -> None:
    assert not TID_SYNTAX.match(value)


def decode_tid(value: str) -> tuple[int, int]:
    number = 0
    for char in value:
        number = number * 32 + TID_ALPHABET.index(char)
    assert number < 2**63, "top bit set"
    return number >> 10, number & 0x3FF


def test_tid_encodes_microseconds_and_clock_id() -> None:
    # Spec example (https://atproto.com/specs/tid): 3jzfcijpj2z2a is a valid TID.
    micros, clock_id = decode_tid("3jzfcijpj2z2a")
    assert tid(micros, clock_id) == "3jzfcijpj2z2a"
    assert tid(0, 0) == "2222222222222"
    assert decode_tid(tid(1_764_577_800_000_000, 1023)) == (1_764_577_800_000_000, 1023)


@settings(max_examples=300, deadline=None)
@given(
    key=st.text(min_size=1, max_size=80),
    moments=st.lists(
        st.datetimes(
            min_value=datetime(1971, 1, 1),  # noqa: DTZ001 (hypothesis: naive)
            max_value=datetime(2200, 1, 1),  # noqa: DTZ001
            timezones=st.just(UTC),
        ),
        min_size=2,
        max_size=2,
    ),
)
def test_derived_record_keys_are_valid_tids_of_the_job_key_alone(
    key: str,
    moments: list[datetime],
) -> None:
    first = outgoing(key=key, scheduled_at=moments[0])
    rkey = record_key(first)
    assert TID_SYNTAX.match(rkey)
    assert rkey[0] in "234567ab"  # top bit 0
    # The same key whatever the post's time or when its ledger row was made (a ledger
    # restored from a backup, a re-created row): only the job key counts.
    later = outgoing(key=key, scheduled_at=moments[1])
    assert record_key(later) == rkey
    micros, _ = decode_tid(rkey)
    # A plausible timestamp: after Bluesky opened (2023), in the past of any post.
    assert datetime(2023, 1, 1, tzinfo=UTC).timestamp() <= micros / 1e6
    assert micros / 1e6 < datetime(2024, 3, 1, tzinfo=UTC).timestamp()


def test_record_keys_are_pinned_forever() -> None:
    # Changing this function would make every retry of an in-flight job a second post.
    assert record_key(outgoing(key="dec:launch@bsky")) == record_key(
        outgoing(key="dec:launch@bsky", scheduled_at=NOW)
    )
    assert record_key(outgoing(key="dec:launch@bsky")) == PINNED_RKEY


def test_thread_parts_at_the_same_second_get_different_keys() -> None:
    keys = {record_key(outgoing(key=f"{KEY}#{part}")) for part in range(200)}
    assert len(keys) == 200


# --- the record ---------------------------------------------------------------------


def test_worked_facet_example_byte_offsets(tmp_path: Path) -> None:
    bsky, _ = adapter(tmp_path)
    assert bsky.facets(WORKED) == [
        {
            "index": {"byteStart": 23, "byteEnd": 35},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": ATPROTO_DID}],
        },
        {
            "index": {"byteStart": 74, "byteEnd": 108},
            "features": [
                {
                    "$type": "app.bsky.richtext.facet#link",
                    "uri": "https://en.wikipedia.org/wiki/CBOR",
                }
            ],
        },
    ]
    data = WORKED.encode()
    assert data[23:35] == b"@atproto.com"
    assert data[74:108] == b"https://en.wikipedia.org/wiki/CBOR"


def test_facets_tags_bare_links_and_mentions_that_do_not_resolve(tmp_path: Path) -> None:
    bsky, pds = adapter(tmp_path)
    text = (
        "Hi @alice.bsky.social @ghost.example @bob@mastodon.social @plain see example.com"
        " #Lançamento"
    )
    facets = bsky.facets(text)
    features = [f["features"][0] for f in facets]
    assert features == [
        {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"},
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"},
        {"$type": "app.bsky.richtext.facet#tag", "tag": "Lançamento"},
    ]
    data = text.encode()
    spans = [data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in facets]
    assert spans == ["@alice.bsky.social", "example.com", "#Lançamento"]
    # Only handles are looked up: not user@domain, not a bare @name.
    asked = [r.url.params["handle"] for r in pds.requests]
    assert asked == ["alice.bsky.social", "ghost.example"]
    bsky.facets(text)
    assert len(pds.requests) == 2  # resolutions are cached


def test_a_failing_resolver_is_transient_not_a_silent_plain_mention(tmp_path: Path) -> None:
    pds = Pds()
    pds.routes["com.atproto.identity.resolveHandle"] = lambda r: httpx.Response(503)
    bsky, _ = adapter(tmp_path, pds)
    with pytest.raises(Transient):
        bsky.facets("hello @alice.bsky.social")


def test_publish_uploads_then_puts_a_record_that_matches_the_lexicon(tmp_path: Path) -> None:
    image = tmp_path / "wide.png"
    image.write_bytes(png(40, 10))
    gif = tmp_path / "tall.gif"
    gif.write_bytes(b"GIF89a" + struct.pack("<HH", 5, 20) + b"\x00" * 20)
    out = outgoing(
        text=WORKED + " #cmctl",
        lang=("en", "fr", "de", "es"),
        media=(
            Attachment(image, "A wide banner"),
            Attachment(gif, None),
        ),
    )
    bsky, pds = adapter(tmp_path)

    sent = bsky.publish(out)

    assert pds.methods() == [
        "com.atproto.server.createSession",
        "com.atproto.repo.uploadBlob",
        "com.atproto.repo.uploadBlob",
        "com.atproto.identity.resolveHandle",
        "com.atproto.repo.putRecord",
    ]
    login = pds.requests[0]
    assert login.method == "POST" and str(login.url).startswith(SERVICE + "/xrpc/")
    assert json.loads(login.content) == {"identifier": HANDLE, "password": PASSWORD}
    validate_input("com.atproto.server.createSession", json.loads(login.content))

    upload = pds.requests[1]
    assert upload.headers["content-type"] == "image/png"
    assert upload.headers["authorization"] == f"Bearer {ACCESS}"
    assert upload.content == image.read_bytes()
    assert pds.requests[2].headers["content-type"] == "image/gif"

    put = pds.last("com.atproto.repo.putRecord")
    assert put.headers["authorization"] == f"Bearer {ACCESS}"
    body = json.loads(put.content)
    validate_input("com.atproto.repo.putRecord", body)
    rkey = record_key(out)
    assert body["repo"] == DID
    assert body["collection"] == "app.bsky.feed.post"
    assert body["rkey"] == rkey
    assert "swapRecord" in body and body["swapRecord"] is None  # create only

    record = body["record"]
    validate(record, lexicon("app.bsky.feed.post")["defs"]["main"], "app.bsky.feed.post")
    assert record["$type"] == "app.bsky.feed.post"
    # shown the way Bluesky's app shows a link: without its scheme (a short path stays whole)
    assert record["text"] == out.text.replace("https://en.wikipedia", "en.wikipedia")
    assert record["createdAt"] == "2026-12-01T08:30:00.123Z"
    assert record["langs"] == ["en", "fr", "de"]  # lexicon: at most 3
    assert [f["features"][0]["$type"].rsplit("#")[1] for f in record["facets"]] == [
        "mention",
        "link",
        "tag",
    ]
    assert record["facets"][2]["features"][0]["tag"] == "cmctl"
    embed = record["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in embed["images"]] == ["A wide banner", ""]
    assert [i["aspectRatio"] for i in embed["images"]] == [
        {"width": 40, "height": 10},
        {"width": 5, "height": 20},
    ]
    assert embed["images"][0]["image"]["mimeType"] == "image/png"
    assert "reply" not in record

    uri = f"at://{DID}/app.bsky.feed.post/{rkey}"
    assert sent == Sent(
        remote_id=uri,
        url=f"https://bsky.app/profile/{HANDLE}/post/{rkey}",
        ref={"uri": uri, "cid": "bafyreinew"},
    )


def test_a_video_is_uploaded_as_a_blob_and_embedded(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    bsky, pds = adapter(tmp_path)
    bsky.publish(outgoing(media=(Attachment(video, "A short clip"),)))
    upload = pds.last("com.atproto.repo.uploadBlob")
    assert upload.headers["content-type"] == "video/mp4"
    embed = json.loads(pds.last("com.atproto.repo.putRecord").content)["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.video"
    assert embed["alt"] == "A short clip"
    assert embed["video"]["mimeType"] == "video/mp4"


def test_a_reply_names_root_and_parent(tmp_path: Path) -> None:
    bsky, pds = adapter(tmp_path)
    root = Sent(
        "at://x/app.bsky.feed.post/root",
        ref={"uri": "at://x/app.bsky.feed.post/root", "cid": "bafyroot"},
    )
    parent = Sent(
        "at://x/app.bsky.feed.post/p1", ref={"uri": "at://x/app.bsky.feed.post/p1", "cid": "bafyp1"}
    )
    bsky.publish(outgoing(key=KEY + "#2", part=2, text="third", root=root, reply_to=parent))
    record = json.loads(pds.last("com.atproto.repo.putRecord").content)["record"]
    validate(record, lexicon("app.bsky.feed.post")["defs"]["main"], "app.bsky.feed.post")
    assert record["reply"] == {
        "root": {"uri": "at://x/app.bsky.feed.post/root", "cid": "bafyroot"},
        "parent": {"uri": "at://x/app.bsky.feed.post/p1", "cid": "bafyp1"},
    }


def test_the_session_is_reused_across_posts(tmp_path: Path) -> None:
    bsky, pds = adapter(tmp_path)
    bsky.publish(outgoing())
    bsky.publish(outgoing(key=KEY + "#1", part=1))
    assert pds.methods().count("com.atproto.server.createSession") == 1


# --- sessions -----------------------------------------------------------------------


def expiring_put(pds: Pds, status: int = 400) -> None:
    """putRecord answers ExpiredToken to the first access token only."""

    def put(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == f"Bearer {ACCESS}":
            return httpx.Response(
                status, json={"error": "ExpiredToken", "message": "Token has expired"}
            )
        return Pds.put(request)

    pds.routes["com.atproto.repo.putRecord"] = put


@pytest.mark.parametrize("status", [400, 401])
def test_expired_token_is_auth_expired_and_refresh_fixes_it(tmp_path: Path, status: int) -> None:
    pds = Pds()
    expiring_put(pds, status)
    bsky, _ = adapter(tmp_path, pds)
    with pytest.raises(AuthExpired) as caught:
        bsky.publish(outgoing())
    assert_no_secret(caught.value)

    assert bsky.refresh() is True
    refresh = pds.last("com.atproto.server.refreshSession")
    assert refresh.method == "POST"
    assert refresh.headers["authorization"] == f"Bearer {REFRESH}"

    sent = bsky.publish(outgoing())
    assert pds.last("com.atproto.repo.putRecord").headers["authorization"] == f"Bearer {ACCESS2}"
    assert sent.remote_id.startswith(f"at://{DID}/")


def test_refresh_logs_in_again_when_the_refresh_token_expired_too(tmp_path: Path) -> None:
    pds = Pds()
    expiring_put(pds)
    logins = iter([session(), session(ACCESS2, REFRESH2)])
    pds.routes["com.atproto.server.createSession"] = lambda r: httpx.Response(
        200, json=next(logins)
    )
    pds.routes["com.atproto.server.refreshSession"] = lambda r: httpx.Response(
        400, json={"error": "ExpiredToken", "message": "Token has expired"}
    )
    bsky, _ = adapter(tmp_path, pds)
    with pytest.raises(AuthExpired):
        bsky.publish(outgoing())
    assert bsky.refresh() is True
    assert pds.methods()[-2:] == [
        "com.atproto.server.refreshSession",
        "com.atproto.server.createSession",
    ]
    bsky.publish(outgoing())
    assert pds.last("com.atproto.repo.putRecord").headers["authorization"] == f"Bearer {ACCESS2}"


def test_a_wrong_app_password_is_permanent_with_a_hint(tmp_path: Path) -> None:
    pds = Pds()
    pds.routes["com.atproto.server.createSession"] = lambda r: httpx.Response(
        401,
        json={
            "error": "AuthenticationRequired",
            "message": f"Invalid identifier or password {PASSWORD}",
        },
    )
    bsky, _ = adapter(tmp_path, pds)
    with pytest.raises(Permanent) as caught:
        bsky.check()
    assert "app password" in caught.value.message
    assert_no_secret(caught.value)


def test_no_jwt_leaks_into_errors(tmp_path: Path) -> None:
    pds = Pds()
    pds.routes["com.atproto.repo.putRecord"] = lambda r: httpx.Response(
        400,
        json={
            "error": "InvalidRequest",
            "message": f"bad {r.headers['authorization']} and {REFRESH}",
        },
    )
    bsky, _ = adapter(tmp_path, pds)
    with pytest.raises(Permanent) as caught:
        bsky.publish(outgoing())
    assert "InvalidRequest" in caught.value.message
    assert_no_secret(caught.value)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_on_put_are_ambiguous_and_resendable(tmp_path: Path, status: int) -> None:
    """The PDS may have stored it: Ambiguous. The publisher resends anyway because
    Bluesky's idempotency window is unbounded (the record key is fixed)."""
    from cmctl.networks.base import Ambiguous
    from cmctl.networks.bluesky import Bluesky

    pds = Pds()
    pds.routes["com.atproto.repo.putRecord"] = lambda r: httpx.Response(status)
    bsky, _ = adapter(tmp_path, pds)
    with pytest.raises(Ambiguous):
        bsky.publish(outgoing())
    assert Bluesky.idempotency_window is None


def test_check_logs_in_and_names_the_account(tmp_path: Path) -> None:
    bsky, pds = adapter(tmp_path)
    assert bsky.check() == f"@{HANDLE} ({DID})"
    assert pds.methods() == ["com.atproto.server.createSession"]


# --- idempotency --------------------------------------------------------------------


def test_invalid_swap_means_already_posted_and_returns_the_existing_record(
    tmp_path: Path,
) -> None:
    pds = Pds()
    pds.routes["com.atproto.repo.putRecord"] = lambda r: httpx.Response(
        400, json={"error": "InvalidSwap", "message": "Record was at bafyreiold"}
    )

    def get_record(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        uri = f"at://{params['repo']}/{params['collection']}/{params['rkey']}"
        return httpx.Response(
            200, json={"uri": uri, "cid": "bafyreiold", "value": {"text": "We launch today"}}
        )

    pds.routes["com.atproto.repo.getRecord"] = get_record
    bsky, _ = adapter(tmp_path, pds)
    out = outgoing()

    sent = bsky.publish(out)

    rkey = record_key(out)
    get = pds.last("com.atproto.repo.getRecord")
    assert get.method == "GET"
    assert dict(get.url.params) == {"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey}
    uri = f"at://{DID}/app.bsky.feed.post/{rkey}"
    assert sent == Sent(
        remote_id=uri,
        url=f"https://bsky.app/profile/{HANDLE}/post/{rkey}",
        ref={"uri": uri, "cid": "bafyreiold"},
    )


def _swap_then(get_record: Handler) -> Pds:
    pds = Pds()
    pds.routes["com.atproto.repo.putRecord"] = lambda r: httpx.Response(
        400, json={"error": "InvalidSwap", "message": "Record was at bafyreiold"}
    )
    pds.routes["com.atproto.repo.getRecord"] = get_record
    return pds


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"error": "InternalServerError"}),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(
            400, json={"error": "RecordNotFound", "message": "Could not locate record"}
        ),  # a lagging read
        httpx.Response(200, json={"value": {}}),  # no uri or cid
        httpx.Response(200, text="not json"),
        httpx.Response(429, json={"error": "RateLimitExceeded"}),
    ],
    ids=["500", "502", "not-found", "no-uri", "not-json", "429"],
)
def test_invalid_swap_with_a_failing_read_is_ambiguous_never_permanent(
    tmp_path: Path,
    answer: httpx.Response,
) -> None:
    from cmctl.networks.base import Ambiguous

    bsky, _ = adapter(tmp_path, _swap_then(lambda r: answer))
    with pytest.raises(SendError) as caught:
        bsky.publish(outgoing())
    assert type(caught.value) is Ambiguous
    assert "InvalidSwap" in caught.value.message and "reads it again" in caught.value.message


def test_invalid_swap_with_a_read_that_times_out_is_ambiguous(tmp_path: Path) -> None:
    from cmctl.networks.base import Ambiguous

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    bsky, _ = adapter(tmp_path, _swap_then(timeout))
    with pytest.raises(Ambiguous):
        bsky.publish(outgoing())


def test_every_attempt_writes_the_same_record_key(tmp_path: Path) -> None:
    bsky, pds = adapter(tmp_path)
    bsky.publish(outgoing())
    bsky.publish(outgoing())
    rkeys = {
        json.loads(r.content)["rkey"] for r in pds.requests if r.url.path.endswith("putRecord")
    }
    assert rkeys == {record_key(outgoing())}


# --- cmctl.media.dimensions ---------------------------------------------------------


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    segments = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    if orientation is not None:
        ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
        tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00"
        exif = b"Exif\x00\x00" + tiff
        segments += b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    segments += b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" * 65  # a quantisation table
    sof = b"\xff\xc2" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + segments + sof + b"\xff\xda\x00\x08" + b"\x00" * 6 + b"\xff\xd9"


def webp(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(640, 480), (640, 480)),
        (b"GIF89a" + struct.pack("<HH", 300, 200) + b"\x00" * 30, (300, 200)),
        (jpeg(1200, 800), (1200, 800)),
        (jpeg(1200, 800, orientation=1), (1200, 800)),
        (jpeg(1200, 800, orientation=6), (800, 1200)),  # a phone photo taken upright
        # lossy: frame tag (3), start code 9d 01 2a, 14-bit width and height
        (
            webp(b"VP8 ", b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", 1024, 768) + b"\0" * 8),
            (1024, 768),
        ),
        # lossless: 0x2f, then width-1 and height-1 on 14 bits each
        (webp(b"VP8L", b"\x2f" + struct.pack("<I", (99) | (49 << 14)) + b"\0" * 8), (100, 50)),
        # extended: flags (4), then canvas width-1 and height-1 on 24 bits each
        (
            webp(
                b"VP8X", b"\x10\0\0\0" + (4999).to_bytes(3, "little") + (2999).to_bytes(3, "little")
            ),
            (5000, 3000),
        ),
    ],
    ids=["png", "gif", "jpeg", "jpeg-exif-1", "jpeg-exif-6", "webp-vp8", "webp-vp8l", "webp-vp8x"],
)
def test_dimensions_from_headers(tmp_path: Path, data: bytes, expected: tuple[int, int]) -> None:
    path = tmp_path / "image"
    path.write_bytes(data)
    assert dimensions(path) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        png(10, 10)[:20],
        jpeg(10, 10)[:30],
        b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20,
    ],
    ids=["empty", "text", "short-png", "short-jpeg", "mp4"],
)
def test_dimensions_is_none_when_unknown_or_truncated(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "file"
    path.write_bytes(data)
    assert dimensions(path) is None


def test_dimensions_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert dimensions(tmp_path / "missing.png") is None


@pytest.mark.parametrize(
    "breaks",
    [
        lambda r: r.pop("createdAt"),
        lambda r: r.update(createdAt="2026-12-01 08:30"),
        lambda r: r["embed"]["images"][0].pop("alt"),
        lambda r: r["embed"]["images"][0].update(aspectRatio={"width": 0, "height": 1}),
        lambda r: r["facets"][0]["index"].pop("byteEnd"),
        lambda r: r["facets"][0]["features"][0].pop("$type"),
        lambda r: r.update(langs=["en", "fr", "de", "es"]),
        lambda r: r.update(reply={"root": {"uri": "at://x/y/z"}, "parent": {}}),
    ],
)
def test_the_lexicon_checker_catches_broken_records(
    breaks: Callable[[dict[str, Any]], Any],
) -> None:
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": "hi #x",
        "createdAt": "2026-12-01T08:30:00.000Z",
        "facets": [
            {
                "index": {"byteStart": 3, "byteEnd": 5},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "x"}],
            }
        ],
        "embed": {
            "$type": "app.bsky.embed.images",
            "images": [
                {
                    "image": {
                        "$type": "blob",
                        "ref": {"$link": "bafk"},
                        "mimeType": "image/png",
                        "size": 1,
                    },
                    "alt": "",
                    "aspectRatio": {"width": 1, "height": 1},
                }
            ],
        },
    }
    schema = lexicon("app.bsky.feed.post")["defs"]["main"]
    validate(record, schema, "app.bsky.feed.post")
    breaks(record)
    with pytest.raises(AssertionError):
        validate(record, schema, "app.bsky.feed.post")
