"""Calendar file → Calendar model, reporting every problem with its position.

Shape (types, unknown keys, required keys) is checked by the calendar's JSON Schema
(cmctl/calendar/schema.py via cmctl/shape.py); meaning (times, zones, ids, paths)
is checked here. Network rules (lengths, media, accounts) live in rules.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

from cmctl import clock, timeutil, utm
from cmctl.calendar import recurrence
from cmctl.calendar.model import Calendar, Content, Media, Part, Pos, Post
from cmctl.calendar.schema import SCHEMA
from cmctl.config import Config, display
from cmctl.diagnostics import Sink
from cmctl.shape import Checker, suggest
from cmctl.yamlsrc import Map, Node, Scalar, Seq, YamlProblem, load_file, read_bounded

_EMPTY = Content()


@cache
def _checker() -> Checker:
    return Checker(SCHEMA)


def load_calendar(
    path: Path, config: Config, sink: Sink, now: datetime | None = None, data: bytes | None = None
) -> Calendar | None:
    """Read one calendar file. Problems go to ``sink``; None when nothing usable was read.
    ``data``: the file's bytes as they would be (`cmctl add` checks a file before writing).

    A recurring post becomes one Post per occurrence (id ``post~YYYY-MM-DD``); a rule with
    no end is expanded up to ``now`` + recurrence.HORIZON (``now``: the clock's)."""
    try:
        data = read_bounded(path) if data is None else data
    except (OSError, ValueError) as exc:
        sink.error(1, 1, f"cannot read file: {getattr(exc, 'strerror', None) or exc}", "file")
        return None
    try:
        document = load_file(data)
    except YamlProblem as p:
        sink.error(p.line, p.col, p.message, p.rule)
        return None
    for dup in document.duplicates:
        sink.error(
            dup.line,
            dup.col,
            f"duplicate key '{dup.key}' (first at line {dup.first_line}); "
            "the second one would be ignored",
            "duplicate-key",
        )
    root = document.root
    checker = _checker()
    if root is None:
        sink.error(1, 1, "file is empty; a calendar needs 'posts:'", "structure")
        return None
    if type(root) is not Map:
        checker.check(root, sink)
        return None
    # Check the file's own keys; posts are checked one by one below so that one broken
    # post does not hide the problems of the others.
    top = {**SCHEMA, "properties": {**SCHEMA["properties"], "posts": {"type": "array"}}}
    Checker({**top, "$defs": SCHEMA["$defs"]}).check(root, sink)
    reader = _Reader(path, config, sink, checker)
    reader.now = now or clock.now()
    return reader.read(root)


class _Reader:
    now: datetime

    def __init__(self, path: Path, config: Config, sink: Sink, checker: Checker) -> None:
        self.path = path
        self.folder = path.parent
        self.config = config
        self.sink = sink
        self.checker = checker
        self.shown = sink.path

    def pos(self, node: Node) -> Pos:
        return Pos(self.shown, node.line, node.col)

    def read(self, root: Map) -> Calendar | None:
        sink = self.sink
        tz_node = root.get("timezone")
        tz_name = _str(tz_node) or self.config.timezone
        zone = None
        if tz_name is None:
            sink.error(
                root.line,
                root.col,
                "no time zone for this calendar",
                "timezone",
                "add 'timezone: Europe/Paris' to the file, or defaults.timezone to cmctl.yaml",
            )
        else:
            try:
                zone = timeutil.zone(tz_name)
            except timeutil.TimeProblem as p:
                where = tz_node or root
                sink.error(where.line, where.col, p.message, p.rule, p.hint)
        name = _str(root.get("calendar")) or self.config.calendar_name(self.path)
        calendar = Calendar(
            name=name, path=self.path, display=self.shown, timezone=tz_name or "UTC"
        )

        defaults = root.get("defaults")
        d = defaults if type(defaults) is Map else Map(root.line, root.col)
        base = self.content(d) if type(defaults) is Map else _EMPTY
        default_accounts = self.accounts(d.get("accounts"))
        default_status = _str(d.get("status")) or self.config.status
        default_catch_up = self.duration(d.get("catch_up"), self.config.catch_up)
        default_lang = _strs(d.get("lang")) or _strs(root.get("lang"))
        default_accounts_pos = self.pos(d.get("accounts") or root)

        posts = root.get("posts")
        if type(posts) is not Seq:
            if posts is None:
                sink.error(
                    root.line, root.col, "the file is missing required key 'posts'", "required"
                )
            return calendar
        seen: dict[str, Node] = {}
        for index, node in enumerate(posts.items):
            # Shape problems are reported, but id and time are still checked so that one
            # pass shows everything; only a post without shape problems becomes jobs.
            shaped = self.checker.check_def(node, "post", f"posts[{index}]", sink)
            if type(node) is not Map:
                continue
            id_node = node.items.get("id")
            post_id = _str(id_node)
            if id_node is not None and post_id is not None:
                if post_id in seen:
                    sink.error(
                        id_node.line,
                        id_node.col,
                        f"duplicate post id '{post_id}' (first at line {seen[post_id].line})",
                        "duplicate-id",
                        "ids identify posts for life: give this one its own id",
                    )
                    continue
                seen[post_id] = id_node
            at_node = node.items.get("at")
            queue_node = node.items.get("queue")
            queued = self.queued(node, index, at_node, queue_node, zone)
            if queued is not None:
                at = queued
                at_node = queue_node
            else:
                at_text = _str(at_node)
                if zone is None or at_node is None or at_text is None:
                    continue
                try:
                    at = timeutil.parse_at(at_text, zone)
                except timeutil.TimeProblem as p:
                    sink.error(at_node.line, at_node.col, p.message, p.rule, p.hint)
                    continue
                if at.offset_mismatch:
                    sink.warning(at_node.line, at_node.col, at.offset_mismatch, "time-offset")
            if not shaped or id_node is None or post_id is None or at_node is None:
                continue
            accounts_node = node.get("accounts")
            accounts = (
                self.accounts(accounts_node) if accounts_node is not None else default_accounts
            )
            queue = self.config.queues.get(_str(queue_node) or "") if queued else None
            if queue is not None and accounts_node is None and queue.accounts:
                accounts = queue.accounts
                accounts_node = queue_node
            variants: dict[str, Content] = {}
            v_node = node.get("variants")
            if type(v_node) is Map:
                for key, value in v_node.items.items():
                    variants[key] = self.content(value)  # type: ignore[arg-type]
            post = Post(
                calendar=name,
                id=post_id,
                at=at.utc,
                local=at.local,
                accounts=accounts,
                content=self.content(node, id_node).over(base),
                variants=variants,
                status=_str(node.get("status")) or default_status,
                catch_up=self.duration(node.get("catch_up"), default_catch_up),
                lang=_strs(node.get("lang")) or default_lang,
                pos=self.pos(id_node),
                accounts_pos=self.pos(accounts_node) if accounts_node else default_accounts_pos,
                at_pos=self.pos(at_node),
                queue=queue.name if queue is not None else None,
                after=self.day(node.get("after")) if queue is not None else None,
            )
            self.variant_keys(post, v_node)
            repeat = node.get("repeat")
            if queued is not None:
                if queue is None:
                    continue  # reported by queued()
                if repeat is not None:
                    sink.error(
                        repeat.line,
                        repeat.col,
                        f"post '{post_id}' has both 'repeat:' and 'queue:'",
                        "queue",
                        "a recurring post has its own times: give it 'at:', or drop 'repeat:'",
                    )
                    continue
            if repeat is None:
                if type(node.get("text")) is Seq:
                    text_node = cast(Node, node.get("text"))
                    sink.error(
                        text_node.line,
                        text_node.col,
                        f"post '{post_id}' has a list of texts but no 'repeat:'",
                        "text-list",
                        "a list of texts rotates over the occurrences of a recurring post: "
                        "add 'repeat:', or write one text",
                    )
                    continue
                calendar.posts.append(post)
            else:
                assert zone is not None
                calendar.posts.extend(self.occurrences(post, node, repeat, base, zone))
        return calendar

    def queued(
        self,
        node: Map,
        index: int,
        at_node: Node | None,
        queue_node: Node | None,
        zone: ZoneInfo | None,
    ) -> timeutil.At | None:
        """A queued post's provisional time (its slot is found once every calendar is
        read: cmctl.queues), or None for a post with `at:` (or an error reported)."""
        sink = self.sink
        if queue_node is None:
            after = node.get("after")
            if after is not None:
                sink.error(
                    after.line,
                    after.col,
                    "'after:' goes with 'queue:' (a post with 'at:' has its time)",
                    "queue",
                )
            if at_node is None:
                sink.error(
                    node.line,
                    node.col,
                    f"'posts[{index}]' is missing required key 'at' (or 'queue')",
                    "required",
                )
            return None
        name = _str(queue_node) or ""
        if at_node is not None:
            sink.error(
                queue_node.line,
                queue_node.col,
                "a post has either 'at:' or 'queue:', not both",
                "queue",
                "drop 'at:' to let the queue choose the time, or drop 'queue:'",
            )
        elif name not in self.config.queues:
            known = sorted(self.config.queues)
            sink.error(
                queue_node.line,
                queue_node.col,
                f"unknown queue '{name}'" + suggest(name, known),
                "unknown-queue",
                "queues are declared in cmctl.yaml under 'queues:'"
                + (f": {', '.join(known)}" if known else ""),
            )
        placeholder = datetime(timeutil.MIN_YEAR, 1, 1, tzinfo=UTC)
        return timeutil.At(placeholder, placeholder.astimezone(zone or UTC))

    def occurrences(
        self, post: Post, node: Map, repeat: Node, base: Content, zone: ZoneInfo
    ) -> list[Post]:
        """The post once per occurrence of its ``repeat:``, each with its own identity."""
        sink = self.sink
        start = post.local.replace(tzinfo=None)
        try:
            if type(repeat) is Scalar:
                rule = recurrence.rrule_string(str(repeat.value), start, zone)
            else:
                rule = recurrence.readable_rule(self.readable(cast(Map, repeat)), start)
        except recurrence.RepeatProblem as p:
            sink.error(repeat.line, repeat.col, p.message, p.rule, p.hint)
            return []
        excluded = self.excluded(repeat)
        if not rule.bounded and recurrence.most_in_a_year(rule, start) > recurrence.MAX_PER_YEAR:
            sink.error(
                repeat.line,
                repeat.col,
                f"post '{post.id}' would go out more than {recurrence.MAX_PER_YEAR} times a year",
                "repeat-too-often",
                "give the rule an end (until or count), or repeat it less often",
            )
            return []
        found = recurrence.expand(rule, post.local, zone, excluded, self.now + recurrence.HORIZON)
        if len(found.occurrences) > recurrence.MAX_OCCURRENCES:
            sink.error(
                repeat.line,
                repeat.col,
                f"post '{post.id}' has more than {recurrence.MAX_OCCURRENCES} occurrences",
                "repeat-too-often",
                "give the rule an earlier end, or split it into several posts",
            )
            return []
        if self.config.blackouts:  # skipped like `except:` (count counts them first)
            self.blackouts(post, repeat, found)
        days: dict[date, datetime] = {}
        for one in found.occurrences:
            day = one.local.date()
            if day in days:
                sink.error(
                    repeat.line,
                    repeat.col,
                    f"post '{post.id}' would go out twice on {day} ({days[day]:%H:%M} and "
                    f"{one.local:%H:%M}): a recurring post goes out at most once a day",
                    "repeat-twice-a-day",
                    "write one post per time of day",
                )
                return []
            days[day] = one.local
        if found.at_off_rule:
            sink.warning(
                repeat.line,
                repeat.col,
                f"'at' ({post.local:%a %Y-%m-%d}) is not a day the rule gives: post "
                f"'{post.id}' goes out then too (RFC 5545: 'at' is the first occurrence)",
                "repeat-start",
                "set 'at' to the first day the rule gives",
            )
        gaps = [one for one in found.occurrences if one.gap]
        if gaps:
            shown = ", ".join(f"{one.local:%Y-%m-%d}" for one in gaps[:5])
            more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
            sink.warning(
                repeat.line,
                repeat.col,
                f"{post.local:%H:%M} does not exist in {zone.key} on {shown}{more} (clocks "
                f"jump forward): post '{post.id}' goes out at {gaps[0].local:%H:%M} then",
                "dst-gap",
                "pick a time outside the DST gap if that matters",
            )
        contents = self.texts(post, node, base)
        made = []
        for one in found.occurrences:
            made.append(
                Post(
                    calendar=post.calendar,
                    id=recurrence.occurrence_id(post.id, one.local.date()),
                    at=one.utc,
                    local=one.local,
                    accounts=post.accounts,
                    content=contents[one.index % len(contents)],
                    variants=post.variants,
                    status=post.status,
                    catch_up=post.catch_up,
                    lang=post.lang,
                    pos=post.pos,
                    accounts_pos=post.accounts_pos,
                    at_pos=post.at_pos,
                )
            )
        return made

    def blackouts(self, post: Post, repeat: Node, found: recurrence.Expansion) -> None:
        """Drop the occurrences on a blackout date of cmctl.yaml, and say which."""
        find = self.config.blackouts.find
        skipped = [(one, b) for one in found.occurrences if (b := find(one.local.date()))]
        if not skipped:
            return
        dropped = {id(one) for one, _ in skipped}
        found.occurrences = [one for one in found.occurrences if id(one) not in dropped]
        shown = "; ".join(f"{one.local:%Y-%m-%d}, {b.describe()}" for one, b in skipped[:5])
        more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        self.sink.warning(
            repeat.line,
            repeat.col,
            f"post '{post.id}' skips the blackout dates of {display(self.config.path)}: "
            f"it does not go out on {shown}{more}",
            "blackout-skip",
            "nothing to do if that is what you want; add a dated post for another day otherwise",
        )

    def texts(self, post: Post, node: Map, base: Content) -> list[Content]:
        """The post's content once per text of its list (one when ``text`` is a string)."""
        text_node = node.get("text")
        if type(text_node) is not Seq:
            return [post.content]
        own = self.content(node)
        made = []
        for index, item in enumerate(text_node.items, start=1):
            value = item.value if type(item) is Scalar else None
            if not isinstance(value, str) or not value.strip():
                self.sink.error(
                    item.line,
                    item.col,
                    f"text {index} of post '{post.id}' is empty",
                    "empty",
                    "write a text, or remove this item from the list",
                )
            one = Content(
                text=value if isinstance(value, str) else None,
                title=own.title,
                link=own.link,
                hashtags=own.hashtags,
                media=own.media,
                thread=own.thread,
                utm=own.utm,
                text_pos=self.pos(item),
                pos=post.content.pos,
            )
            made.append(one.over(base))
        return made or [post.content]

    def readable(self, node: Map) -> recurrence.Readable:
        on = node.get("on")
        items = on.items if type(on) is Seq else [on] if on is not None else []
        values: list[str | int] = []
        for item in items:
            value = item.value if type(item) is Scalar else None
            if isinstance(value, int | str) and not isinstance(value, bool):
                values.append(value)
        count = node.get("count")
        return recurrence.Readable(
            every=_str(node.get("every")) or "",
            on=tuple(values),
            until=self.day(node.get("until")),
            count=count.value if type(count) is Scalar and type(count.value) is int else None,
        )

    def day(self, node: Node | None) -> date | None:
        text = _str(node)
        if node is None or text is None:
            return None
        try:
            day = date.fromisoformat(text)
        except ValueError:
            self.sink.error(node.line, node.col, f"'{text}' is not a date", "repeat")
            return None
        if not timeutil.MIN_YEAR <= day.year <= timeutil.MAX_YEAR:
            self.sink.error(node.line, node.col, timeutil.RANGE_HINT, "time-range")
            return None
        return day

    def excluded(self, repeat: Node) -> tuple[date, ...]:
        if type(repeat) is not Map:
            return ()
        node = repeat.get("except")
        if type(node) is not Seq:
            return ()
        return tuple(d for d in (self.day(item) for item in node.items) if d is not None)

    def content(self, node: Map, fallback: Node | None = None) -> Content:
        text_node = node.get("text")
        hashtags = node.get("hashtags")
        media = node.get("media")
        thread = node.get("thread")
        utm_node = node.get("utm")
        return Content(
            text=_str(text_node),
            title=_str(node.get("title")),
            link=_str(node.get("link")),
            hashtags=_strs(hashtags) if hashtags is not None else None,
            media=self.media(media) if media is not None else None,
            thread=tuple(self.part(p) for p in thread.items) if type(thread) is Seq else None,
            text_pos=self.pos(text_node) if text_node is not None else None,
            pos=self.pos(fallback or node),
            utm=utm.read(utm_node, self.sink) if type(utm_node) is Map else None,
        )

    def part(self, node: Node) -> Part:
        if type(node) is Scalar:
            return Part(str(node.value).strip(), (), self.pos(node))
        assert type(node) is Map
        text_node = node.get("text")
        media = node.get("media")
        return Part(
            (_str(text_node) or "").strip(),
            self.media(media) if media is not None else (),
            self.pos(text_node or node),
        )

    def media(self, node: Node) -> tuple[Media, ...]:
        if type(node) is not Seq:
            return ()
        items = []
        for item in node.items:
            # The shape check has reported anything else; keep what is usable.
            path_node = item.items.get("path") if type(item) is Map else None
            if path_node is None or not isinstance(getattr(path_node, "value", None), str):
                continue
            source = str(path_node.value)  # type: ignore[attr-defined]
            items.append(
                Media(
                    source,
                    (self.folder / source).absolute(),
                    _str(cast(Map, item).get("alt")),
                    self.pos(path_node),
                    self.config.root,
                )
            )
        return tuple(items)

    def accounts(self, node: Node | None) -> tuple[str, ...]:
        """Account names, each once: a name listed twice is an error at the second one."""
        names = _strs(node)
        if len(set(names)) == len(names):
            return names
        seen: dict[str, Node] = {}
        items = node.items if type(node) is Seq else []
        for item in items:
            name = str(getattr(item, "value", ""))
            if name in seen:
                self.sink.error(
                    item.line,
                    item.col,
                    f"account '{name}' is listed twice (first at line "
                    f"{seen[name].line}, column {seen[name].col})",
                    "duplicate-account",
                    "list each account once",
                )
            else:
                seen[name] = item
        return tuple(dict.fromkeys(names))

    def duration(self, node: Node | None, default: timedelta) -> timedelta:
        if type(node) is not Scalar:
            return default
        try:
            return timeutil.parse_duration(node.value)
        except timeutil.TimeProblem as p:
            if p.rule == "duration-range":  # the schema checks the form, not the range
                self.sink.error(node.line, node.col, p.message, p.rule, p.hint)
            return default

    def variant_keys(self, post: Post, node: Node | None) -> None:
        """A variant must name a network or an account the post goes to."""
        if type(node) is not Map:
            return
        networks = {a.network for n, a in self.config.accounts.items() if n in post.accounts}
        for key, key_node in node.keys.items():
            if key in post.accounts or key in networks:
                continue
            known = key in self.config.accounts or _is_network(key)
            message = (
                f"variant '{key}' is not used: post '{post.id}' does not go to it"
                if known
                else f"variant '{key}' is neither a network nor an account in "
                f"{display(self.config.path)}"
            )
            if known:
                self.sink.warning(key_node.line, key_node.col, message, "unused-variant")
            else:
                self.sink.error(
                    key_node.line,
                    key_node.col,
                    message + suggest(key, [*post.accounts, *networks]),
                    "unknown-variant",
                )


def _is_network(name: str) -> bool:
    from cmctl.networks import registry

    return registry.known(name)


def _str(node: Node | None) -> str | None:
    if type(node) is Scalar and isinstance(node.value, str):
        return node.value
    return None


def _strs(node: Node | None) -> tuple[str, ...]:
    if type(node) is Scalar:
        return (str(node.value),) if node.value is not None else ()
    if type(node) is Seq:
        return tuple(str(n.value) for n in node.items if type(n) is Scalar)
    return ()
