"""The JSON Schema of calendar files: what `cmctl schema` prints and what the loader checks.

Keep it the single description of a calendar's shape: cmctl.shape runs it against
the YAML nodes, so an editor using this schema and `cmctl validate` agree.
"""

from __future__ import annotations

from typing import Any

from cmctl import utm

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
SLUG_HINT = "use lowercase letters, digits, '-' and '_' (e.g. 'black-friday-teaser')"
DURATION = r"^(0|([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?)$"
DURATION_HINT = "write a duration like 90s, 30m, 1h, 2h30m, 1d or 0"

_string = {"type": "string"}
_strings_or_one: dict[str, Any] = {"anyOf": [_string, {"type": "array", "items": _string}]}
# A BCP 47 language tag (RFC 5646) whose language is an ISO 639 code (2 or 3 letters:
# what Mastodon and Bluesky accept), with optional script, region, variants,
# extensions and private use: fr, pt-BR, zh-Hant-TW, sr-Latn, es-419, en-x-private.
BCP47 = (
    r"^[A-Za-z]{2,3}(-[A-Za-z]{3}){0,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?"
    r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*(-[0-9A-WYZa-wyz](-[A-Za-z0-9]{2,8})+)*"
    r"(-[Xx](-[A-Za-z0-9]{1,8})+)?$"
)
_lang_tag = {
    "type": "string",
    "pattern": BCP47,
    "x-hint": "write a BCP 47 language tag such as fr, en, pt-BR",
}
_langs: dict[str, Any] = {"anyOf": [_lang_tag, {"type": "array", "items": _lang_tag}]}

_AT_DOC = (
    "When the post goes out: local time in the calendar's time zone "
    "('2026-12-01 09:30', seconds optional) or ISO 8601 with an offset "
    "('2026-12-01T09:30:00+01:00'). A local time inside a DST gap is an error; one "
    "inside a DST overlap needs an offset."
)

DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_date = {"type": "string", "pattern": DATE, "x-hint": "write a date like 2027-01-04"}
_on_item: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {
            "type": "string",
            "pattern": r"^\s*((first|second|third|fourth|last)\s+)?"
            r"(mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|"
            r"saturday|sunday)\s*$",
            "x-hint": "write mon...sun, a day of the month 1 to 31, or 'first tuesday', "
            "'last friday'",
        },
    ]
}
_REPEAT_DOC = (
    "Repeat the post (docs/calendar-format.md, 'Recurring posts'): the readable form "
    "{every, on, until or count, except}, or an RFC 5545 RRULE string such as "
    "'FREQ=WEEKLY;BYDAY=MO' ('RRULE:' prefix optional). `at` is the first occurrence and "
    "gives the local time of every occurrence, across DST changes."
)
_repeat: dict[str, Any] = {
    "description": _REPEAT_DOC,
    "anyOf": [
        {
            "type": "string",
            "pattern": r"FREQ=",
            "x-hint": "write an RRULE such as FREQ=WEEKLY;BYDAY=MO, or every: week",
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["every"],
            "properties": {
                "every": {
                    "type": "string",
                    "pattern": r"^\s*([0-9]+\s+)?(day|week|month|year)s?\s*$",
                    "x-hint": "write day, week, month, year, or '2 weeks', '3 months'",
                    "description": "How often: day, week, month, year, or '2 weeks'...",
                },
                "on": {
                    "anyOf": [
                        *_on_item["anyOf"],
                        {"type": "array", "minItems": 1, "items": _on_item},
                    ],
                    "description": "Which days: weekdays (mon...sun), days of the month "
                    "(1...31), or 'first tuesday' / 'last friday' (every: month or year).",
                },
                "until": {**_date, "description": "Last day (inclusive), local date."},
                "count": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "How many occurrences, `at` included, counted before "
                    "`except` removes any.",
                },
                "except": {
                    "type": "array",
                    "items": _date,
                    "description": "Local dates on which the post does not go out.",
                },
            },
        },
    ],
}

_content_props: dict[str, Any] = {
    "text": {"type": "string", "description": "The text of the post."},
    "title": {
        "type": "string",
        "minLength": 1,
        "description": "The title of an article (blog networks: required there; other "
        "networks ignore it). A variant may override it.",
    },
    "link": {
        "type": "string",
        "minLength": 1,
        "description": "A URL appended on its own line after the text.",
    },
    "hashtags": {
        "type": "array",
        "items": {
            "type": "string",
            "pattern": r"^#?[^\s#]+$",
            "x-hint": "one hashtag per item, without spaces",
        },
        "description": "Hashtags appended as a last line ('#a #b'); [] removes the defaults.",
    },
    "media": {"type": "array", "items": {"$ref": "#/$defs/media"}},
    "utm": utm.SCHEMA,
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://cmctl.dev/schema/calendar.json",
    "title": "cmctl editorial calendar",
    "type": "object",
    "additionalProperties": False,
    "required": ["posts"],
    "properties": {
        "timezone": {
            "type": "string",
            "description": "IANA time zone of the posts' local times, e.g. Europe/Paris.",
        },
        "calendar": {
            "type": "string",
            "pattern": r"^[a-z0-9][a-z0-9_./-]*$",
            "x-hint": SLUG_HINT,
            "description": "Name of this calendar (default: its path without extension).",
        },
        "lang": {**_langs, "description": "BCP 47 language tag(s) of the posts."},
        "defaults": {"$ref": "#/$defs/defaults"},
        "posts": {"type": "array", "items": {"$ref": "#/$defs/post"}},
    },
    "$defs": {
        "media": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {
                    "type": "string",
                    "minLength": 1,
                    "description": "File path, relative to the calendar file.",
                },
                "alt": {"type": "string", "description": "Alt text for screen readers."},
            },
        },
        "duration": {
            "anyOf": [
                {"type": "string", "pattern": DURATION, "x-hint": DURATION_HINT},
                {"type": "integer", "enum": [0]},
            ],
            "description": "How late a missed post may still go out (90s, 30m, 1h, 1d, 0).",
        },
        "status": {
            "type": "string",
            "enum": ["approved", "draft"],
            "description": "draft never publishes; approved does.",
        },
        "part": {
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "text": _content_props["text"],
                        "media": _content_props["media"],
                    },
                },
            ]
        },
        "variant": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **_content_props,
                "thread": {"type": "array", "items": {"$ref": "#/$defs/part"}},
            },
        },
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **_content_props,
                "accounts": _strings_or_one,
                "status": {"$ref": "#/$defs/status"},
                "catch_up": {"$ref": "#/$defs/duration"},
                "lang": _langs,
            },
        },
        "post": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id"],
            # A time, or a queue that gives one (the loader says which is missing).
            "oneOf": [{"required": ["at"]}, {"required": ["queue"]}],
            "properties": {
                "id": {
                    "type": "string",
                    "pattern": SLUG,
                    "x-hint": SLUG_HINT,
                    "description": "Identity of the post, unique in its calendar. Never "
                    "change it once published: it is what prevents double posting.",
                },
                "at": {"type": "string", "description": _AT_DOC},
                "queue": {
                    "type": "string",
                    "description": "Instead of 'at': the queue (cmctl.yaml `queues:`) whose "
                    "next free slot the post takes.",
                },
                "after": {
                    "type": "string",
                    "description": "With 'queue': not before this day (2027-01-11).",
                },
                **_content_props,
                "text": {
                    "anyOf": [
                        {"type": "string"},
                        {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    ],
                    "description": "The text of the post. A recurring post may give a list: "
                    "the n-th occurrence takes the n-th text, cycling.",
                },
                "repeat": _repeat,
                "accounts": {
                    **_strings_or_one,
                    "description": "Account name(s) from cmctl.yaml.",
                },
                "variants": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/$defs/variant"},
                    "description": "Overrides per network name or account name.",
                },
                "thread": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/part"},
                    "description": "Follow-up parts published as replies, in order.",
                },
                "status": {"$ref": "#/$defs/status"},
                "catch_up": {"$ref": "#/$defs/duration"},
                "lang": _langs,
            },
        },
    },
}


def for_editors() -> dict[str, Any]:
    """The schema without cmctl's private keywords (x-hint), for `cmctl schema`."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if not k.startswith("x-")}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    result: dict[str, Any] = clean(SCHEMA)
    return result
