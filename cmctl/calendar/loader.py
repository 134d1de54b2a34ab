"""Calendar file → Calendar model, reporting every problem with its position.

Shape (types, unknown keys, required keys) is checked by the calendar's JSON Schema
(cmctl/calendar/schema.py via cmctl/shape.py); meaning (times, zones, ids, paths)
is checked here. Network rules (lengths, media, accounts) live in rules.py.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import cast

from cmctl import timeutil
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


def load_calendar(path: Path, config: Config, sink: Sink) -> Calendar | None:
    """Read one calendar file. Problems go to ``sink``; None when nothing usable was read."""
    try:
        data = read_bounded(path)
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
    return _Reader(path, config, sink, checker).read(root)


class _Reader:
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
            if not shaped or id_node is None or post_id is None:
                continue
            accounts_node = node.get("accounts")
            accounts = (
                self.accounts(accounts_node) if accounts_node is not None else default_accounts
            )
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
            )
            calendar.posts.append(post)
            self.variant_keys(post, v_node)
        return calendar

    def content(self, node: Map, fallback: Node | None = None) -> Content:
        text_node = node.get("text")
        hashtags = node.get("hashtags")
        media = node.get("media")
        thread = node.get("thread")
        return Content(
            text=_str(text_node),
            title=_str(node.get("title")),
            link=_str(node.get("link")),
            hashtags=_strs(hashtags) if hashtags is not None else None,
            media=self.media(media) if media is not None else None,
            thread=tuple(self.part(p) for p in thread.items) if type(thread) is Seq else None,
            text_pos=self.pos(text_node) if text_node is not None else None,
            pos=self.pos(fallback or node),
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
