"""The 14 built-in network declarations: they load, they are consistent, and the
base-class checks behave as each network's documented limits say.

Counting rules themselves (X weights, Mastodon URLs) are tested in tests/text/; here
they are only used through ``check_text``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

from cmctl.networks import registry
from cmctl.networks.base import MB, MediaFacts, Network
from tests.conftest import as_json, calendar, post

NAMES = sorted(registry.BUILTIN)
# A 4x4 baseline JPEG header (SOI, JFIF, SOF0, EOI): enough for cmctl to know the file.
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xc0\x00\x11\x08\x00\x04\x00\x04\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    b"\xff\xd9"
)
SECRET_WORDS = ("token", "password", "secret", "key")


def net(name: str) -> type[Network]:
    return registry.get(name)


def media(*types: str, size: int = 1000) -> list[MediaFacts]:
    return [MediaFacts(mime_type=t, size=size) for t in types]


def messages(problems: list[tuple[int | None, str]]) -> list[str]:
    return [message for _, message in problems]


# --- every declaration ---------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_loads_through_registry_under_its_own_name(name: str) -> None:
    cls = net(name)
    assert issubclass(cls, Network)
    assert cls.name == name
    module_name, _, class_name = registry.BUILTIN[name].partition(":")
    assert cls.__module__ == module_name
    assert cls.__name__ == class_name
    assert cls.title.strip()
    assert cls.docs_url.startswith("https://")


@pytest.mark.parametrize("name", NAMES)
def test_text_limits_are_positive(name: str) -> None:
    cls = net(name)
    assert cls.max_length is None or cls.max_length > 0
    assert cls.max_bytes is None or cls.max_bytes > 0
    if cls.caption_max_length is not None:
        assert cls.caption_max_length > 0
        assert cls.max_length is not None and cls.caption_max_length <= cls.max_length
    assert cls.length_unit.strip()
    if cls.length_field is not None:
        field = cls.field(cls.length_field)
        assert field is not None, f"{name}: length_field names no account field"
        assert field.type == "integer"
        assert not field.required


@pytest.mark.parametrize("name", NAMES)
def test_media_declaration_is_consistent(name: str) -> None:
    cls = net(name)
    if not cls.media_kinds:
        assert cls.max_media == 0
        assert not cls.media_required
        return
    kinds = [k.kind for k in cls.media_kinds]
    assert len(kinds) == len(set(kinds)), f"{name}: duplicate media kinds"
    assert set(kinds) <= {"image", "gif", "video"}
    seen: set[str] = set()
    for kind in cls.media_kinds:
        assert kind.mime_types, f"{name}: {kind.kind} has no mime type"
        for mime in kind.mime_types:
            assert mime.count("/") == 1 and mime == mime.lower(), mime
            assert mime not in seen, f"{name}: {mime} belongs to two kinds"
            seen.add(mime)
        assert kind.max_bytes > 0
        assert 0 < kind.max_count <= cls.max_media, f"{name}: {kind.kind} max_count"


@pytest.mark.parametrize("name", NAMES)
def test_account_fields_are_consistent(name: str) -> None:
    cls = net(name)
    names = [f.name for f in cls.account_fields]
    assert len(names) == len(set(names))
    assert "network" not in names
    for f in cls.account_fields:
        assert f.type in {"string", "integer"}
        assert f.help.strip(), f"{name}.{f.name} has no help"
        if f.required:
            assert f.default is None, f"{name}.{f.name}: required fields take no default"
        if any(word in f.name for word in SECRET_WORDS) and not f.url:  # token_url: a host
            assert f.secret, f"{name}.{f.name} looks like a secret but is not marked"
        if f.secret:
            assert f.default is None, f"{name}.{f.name}: a secret has no default"


@pytest.mark.parametrize("name", NAMES)
def test_count_returns_an_int_for_any_text(name: str) -> None:
    cls = net(name)
    sample = "Hello 👋🏽 world, café 日本 🇫🇷 https://example.com/a/long/path #tag"
    length = cls.count(sample)
    assert isinstance(length, int) and length > 0
    assert cls.count("") == 0


@pytest.mark.parametrize("name", NAMES)
def test_declaration_file_documents_credentials_and_sources(name: str) -> None:
    module = importlib.import_module(registry.BUILTIN[name].partition(":")[0])
    source = inspect.getsource(module)
    assert source.startswith("# "), "the file opens with a header comment"
    header = source.split("from __future__", 1)[0]
    assert "Credentials" in header
    assert "https://" in header
    assert "import httpx" not in source and "from httpx" not in source


def test_unlimited_networks_check_no_length() -> None:
    unlimited = [name for name in NAMES if net(name).max_length is None]
    assert unlimited  # the feed and the webhook at least
    for name in unlimited:
        _, limit, problems = net(name).check_text("x" * 1_000_000, has_media=False)
        assert limit is None and problems == []


# --- what validate makes of each declaration, through the CLI ---------------------------
# Not the declared values restated: what `cmctl validate` refuses because of them.


def one_account_config(name: str) -> str:
    """cmctl.yaml with one account ``acct`` of network ``name``, its required fields set."""
    lines = ["accounts:", "  acct:", f"    network: {name}"]
    for f in net(name).account_fields:
        if f.required:
            value = "${SECRET_VALUE}" if f.secret else "https://example.test/out.xml"
            lines.append(f"    {f.name}: {value}")
    if net(name).media_by_url:
        lines.append("media_url: https://media.example.test")
    return "\n".join([*lines, "defaults:", "  timezone: Europe/Paris", ""])


def validate_one(
    project: Any, run: Any, name: str, **fields: Any
) -> tuple[int, set[str], list[tuple[str, str]]]:
    project.config(one_account_config(name))
    media = ["pic.jpg"] if net(name).media_required else []
    if net(name).article:  # a blog network's post needs a title (tests/test_articles.py)
        fields = {"title": "A title", **fields}
    for path in media:
        project.write(f"calendars/{path}", JPEG)
    extra = {"media": [{"path": m, "alt": "a photo"} for m in media], **fields} if media else fields
    project.calendar(calendar(post("a", at="2026-12-20 10:00", **extra), accounts="[acct]"))
    result = run("validate", "--format", "json")
    diagnostics = [(d["rule"], d["message"]) for d in as_json(result)["diagnostics"]]
    return result.exit_code, {rule for rule, _ in diagnostics}, diagnostics


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_VALUE", "s3cret-value")


@pytest.mark.parametrize("name", NAMES)
def test_a_short_post_validates_on_every_network(project: Any, run: Any, name: str) -> None:
    code, _, diagnostics = validate_one(project, run, name, text="Bonjour")
    assert code == 0, diagnostics


@pytest.mark.parametrize("name", [n for n in NAMES if net(n).max_length is not None])
def test_validate_refuses_one_unit_over_the_declared_length(
    project: Any, run: Any, name: str
) -> None:
    limit = net(name).length_limit(has_media=net(name).media_required)
    assert limit is not None
    code, rules, diagnostics = validate_one(project, run, name, text="a" * limit)
    assert code == 0 and "length" not in rules, diagnostics
    code, rules, diagnostics = validate_one(project, run, name, text="a" * (limit + 1))
    assert code == 1 and "length" in rules, diagnostics
    [message] = [message for rule, message in diagnostics if rule == "length"]
    assert f"{limit + 1}/{limit}" in message


@pytest.mark.parametrize("name", NAMES)
def test_validate_refuses_a_thread_where_the_network_cannot_publish_one(
    project: Any, run: Any, name: str
) -> None:
    code, rules, diagnostics = validate_one(project, run, name, text="one", thread=["two"])
    takes_it = net(name).threads or net(name).article  # an article appends its thread
    assert ("thread" in rules) is (not takes_it), diagnostics
    assert code == (0 if takes_it else 1), diagnostics


@pytest.mark.parametrize(
    "name", [n for n in NAMES if any(f.required for f in net(n).account_fields)]
)
def test_a_required_account_field_left_out_is_a_config_error(
    project: Any, run: Any, name: str
) -> None:
    project.config(f"accounts:\n  acct:\n    network: {name}\n")
    project.calendar(calendar(post("a", at="2026-12-20 10:00"), accounts="[acct]"))
    result = run("validate")
    assert result.exit_code == 2, result.output
    required = [f.name for f in net(name).account_fields if f.required]
    assert any(field in result.output for field in required), result.output


def x_conformance_cases() -> list[Any]:
    from tests.text.conftest import validate_sections

    try:
        cases = validate_sections()["WeightedTweetsWithDiscountedEmojiCounterTest"]
    except FileNotFoundError:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no conformance data"))]
    return [pytest.param(case, id=case["description"]) for case in cases]


@pytest.mark.parametrize("case", x_conformance_cases())
def test_validate_judges_x_posts_as_twitter_text_does(
    project: Any, run: Any, case: dict[str, Any]
) -> None:
    """twitter-text's own cases: over 280 weighted characters exactly when it says so."""
    over = case["expected"]["weightedLength"] > 280
    _, rules, diagnostics = validate_one(project, run, "x", text=case["text"])
    assert ("length" in rules) is over, diagnostics


# --- Bluesky: graphemes and bytes ---------------------------------------------------


def test_bluesky_rejects_301_graphemes() -> None:
    bluesky = net("bluesky")
    length, limit, problems = bluesky.check_text("a" * 301, has_media=False)
    assert (length, limit) == (301, 300)
    assert problems == ["text is 301/300 graphemes for bluesky"]
    assert bluesky.check_text("a" * 300, has_media=False)[2] == []


def test_bluesky_counts_an_emoji_family_as_one_grapheme() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme, 25 UTF-8 bytes
    assert len(family.encode("utf-8")) == 25
    bluesky = net("bluesky")
    # 120 families: 120 graphemes, exactly 3000 bytes: accepted.
    length, _, problems = bluesky.check_text(family * 120, has_media=False)
    assert length == 120
    assert problems == []
    # 300 thumbs up: 300 graphemes, 1200 bytes: accepted.
    assert bluesky.check_text("👍" * 300, has_media=False)[2] == []


def test_bluesky_byte_limit_applies_under_the_grapheme_limit() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    text = family * 121  # 121 graphemes (fine) but 3025 bytes (too many)
    length, limit, problems = net("bluesky").check_text(text, has_media=False)
    assert length == 121 and limit == 300
    assert problems == ["text is 3025/3000 UTF-8 bytes for bluesky"]


def test_bluesky_media() -> None:
    bluesky = net("bluesky")
    assert bluesky.check_media(media("image/jpeg", "image/png", "image/webp", "image/gif")) == []
    assert messages(bluesky.check_media(media(*["image/jpeg"] * 5))) == [
        "5 attachments; bluesky accepts 4"
    ]
    assert messages(bluesky.check_media(media("image/jpeg", "video/mp4"))) == [
        "bluesky cannot mix image and video in one post"
    ]
    assert bluesky.check_media(media("image/jpeg", size=2_000_000)) == []
    assert bluesky.check_media(media("image/jpeg", size=2_000_001)) != []
    assert bluesky.check_media(media("video/quicktime"))[0][0] == 0


# --- Telegram: the caption limit -------------------------------------------------------


def test_telegram_caption_limit_switches_with_media() -> None:
    telegram = net("telegram")
    text = "a" * 2000
    assert telegram.check_text(text, has_media=False) == (2000, 4096, [])
    length, limit, problems = telegram.check_text(text, has_media=True)
    assert (length, limit) == (2000, 1024)
    assert problems == ["caption is 2000/1024 characters for telegram"]
    assert telegram.check_text("a" * 4097, has_media=False)[2] == [
        "text is 4097/4096 characters for telegram"
    ]


def test_telegram_counts_utf16_code_units() -> None:
    # 600 emoji are 600 code points but 1200 UTF-16 code units: too long for a caption.
    length, limit, problems = net("telegram").check_text("😀" * 600, has_media=True)
    assert (length, limit) == (1200, 1024)
    assert problems


def test_telegram_albums_mix_photos_and_videos_but_a_gif_goes_alone() -> None:
    telegram = net("telegram")
    assert telegram.check_media(media("image/jpeg", "video/mp4", "image/png")) == []
    assert telegram.check_media(media("image/gif")) == []
    assert messages(telegram.check_media(media("image/gif", "image/jpeg"))) == [
        "a gif must be the only attachment of a telegram post"
    ]
    assert messages(telegram.check_media(media(*["image/jpeg"] * 11))) == [
        "11 attachments; telegram accepts 10"
    ]


# --- Instagram: media required -------------------------------------------------------------


def test_instagram_requires_media() -> None:
    instagram = net("instagram")
    assert messages(instagram.check_media([])) == ["instagram requires at least one image or video"]
    assert instagram.check_media(media("image/jpeg")) == []
    assert instagram.check_media(media("image/jpeg", "video/mp4")) == []  # carousel
    problems = instagram.check_media(media("image/png"))
    assert problems and problems[0][0] == 0 and "image/png is not accepted" in problems[0][1]


def test_instagram_caption_limit() -> None:
    instagram = net("instagram")
    assert instagram.check_text("a" * 2200, has_media=True)[2] == []
    assert instagram.check_text("a" * 2201, has_media=True)[2] == [
        "text is 2201/2200 characters for instagram"
    ]


# --- X: media combinations ---------------------------------------------------------------


def test_x_rejects_mixing_image_and_video() -> None:
    problems = messages(net("x").check_media(media("image/jpeg", "video/mp4")))
    assert problems == ["x cannot mix image and video in one post"]


def test_x_rejects_a_fifth_image() -> None:
    x = net("x")
    assert x.check_media(media(*["image/jpeg"] * 4)) == []
    assert messages(x.check_media(media(*["image/jpeg"] * 5))) == ["5 attachments; x accepts 4"]


def test_x_limits_gifs_separately() -> None:
    x = net("x")
    assert x.check_media(media("image/gif", size=15 * MB)) == []
    assert messages(x.check_media(media("image/gif", "image/gif"))) == ["2 gifs; x accepts 1"]
    assert messages(x.check_media(media("image/gif", "image/png"))) == [
        "x cannot mix gif and image in one post"
    ]
    assert x.check_media(media("image/png", size=5 * MB)) == []
    (index, message), *rest = x.check_media(media("image/png", size=5 * MB + 1))
    assert index == 0 and not rest
    assert message.endswith("x accepts at most 5 MB")


def test_x_checks_text_with_its_weighted_count() -> None:
    x = net("x")
    assert x.check_text("a" * 280, has_media=False)[2] == []
    assert x.check_text("a" * 281, has_media=False)[2] == ["text is 281/280 characters for x"]
    # CJK weighs 2: 141 ideographs are 282.
    length, _, problems = x.check_text("日" * 141, has_media=False)
    assert length == 282 and problems


# --- Mastodon: the instance's own limit ----------------------------------------------------


def test_mastodon_honours_the_max_characters_account_override() -> None:
    mastodon = net("mastodon")
    text = "a" * 800
    length, limit, problems = mastodon.check_text(text, has_media=False)
    assert (length, limit) == (800, 500)
    assert problems == ["text is 800/500 characters for mastodon"]
    account = {"network": "mastodon", "instance": "https://example.social", "max_characters": 1000}
    assert mastodon.check_text(text, has_media=False, account=account) == (800, 1000, [])
    # Only a positive integer overrides (a YAML `true` is not 1).
    for bad in (True, 0, -5, "1000"):
        assert mastodon.length_limit(has_media=False, account={"max_characters": bad}) == 500


def test_mastodon_media() -> None:
    mastodon = net("mastodon")
    assert mastodon.check_media(media("image/jpeg", "image/gif", "image/png", "image/webp")) == []
    assert messages(mastodon.check_media(media("video/mp4", "image/jpeg"))) == [
        "mastodon cannot mix image and video in one post"
    ]
    assert messages(mastodon.check_media(media("video/mp4", "video/mp4"))) == [
        "2 videos; mastodon accepts 1"
    ]
    assert mastodon.check_media(media("video/mp4", size=99 * MB)) == []
    assert mastodon.check_media(media("image/jpeg", size=16 * MB + 1)) != []


# --- Threads: emoji count their UTF-8 bytes -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("café", 4),  # é is one character, not an emoji
        ("e\u0301", 1),  # one grapheme
        ("日本", 2),
        ("👍", 4),
        ("👍🏽", 8),  # emoji + skin tone modifier, one cluster
        ("👨\u200d👩\u200d👧", 18),
        ("🇫🇷", 8),
        ("1\ufe0f\u20e3", 7),  # keycap 1️⃣
        ("hi 👋", 7),
    ],
)
def test_threads_counts_emoji_as_utf8_bytes(text: str, expected: int) -> None:
    assert net("threads").count(text) == expected


def test_threads_limit_with_emoji() -> None:
    threads = net("threads")
    assert threads.check_text("a" * 500, has_media=False)[2] == []
    # 125 thumbs up are 125 characters on screen but 500 bytes: exactly at the limit.
    assert threads.check_text("👍" * 125, has_media=False)[2] == []
    assert threads.check_text("👍" * 125 + "a", has_media=False)[2] == [
        "text is 501/500 characters for threads"
    ]


# --- networks without media ---------------------------------------------------------------


def test_a_network_without_attachments_refuses_them() -> None:
    # every built-in network takes some media today: the rule is the base class's
    from cmctl.networks.base import Network

    class TextOnly(Network):
        name = "textonly"
        title = "Text only"
        max_length = None

    assert TextOnly.check_media([]) == []
    assert messages(TextOnly.check_media(media("image/png"))) == [
        "textonly does not accept media attachments"
    ]


def test_devto_takes_one_cover_image_and_nothing_else() -> None:
    devto = net("devto")  # main_image, fetched by URL: one image
    assert devto.media_by_url and devto.check_media(media("image/png")) == []
    assert messages(devto.check_media(media("image/png", "image/jpeg"))) == [
        "2 attachments; devto accepts 1"
    ]
    assert messages(devto.check_media(media("video/mp4"))) == [
        "video/mp4 is not accepted by devto (image/gif, image/jpeg, image/png, image/webp)"
    ]
