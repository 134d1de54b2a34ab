"""Network rules: judge each post the way the networks it goes to will judge it.

Runs on loaded calendars and their compiled jobs (the text as it will be sent, with
variants, link and hashtags applied). Problems of a draft are reported as warnings:
a draft never publishes, but it should be ready when it is approved. What each
network accepts comes from its declaration (cmctl/networks/): no network is named here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cmctl import media as media_facts
from cmctl import media_url, quota, spacing, timeutil
from cmctl.calendar import recurrence
from cmctl.calendar.model import Calendar, Media, Pos, Post
from cmctl.compile import Job
from cmctl.config import Config, display
from cmctl.diagnostics import Diagnostic, Severity
from cmctl.media import MediaFacts
from cmctl.networks import registry
from cmctl.networks.base import Network
from cmctl.shape import suggest


class _Out:
    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def add(
        self, severity: Severity, pos: Pos, message: str, rule: str, hint: str | None = None
    ) -> None:
        self.items.append(Diagnostic(pos.path, pos.line, pos.col, severity, message, rule, hint))


def check(
    calendars: list[Calendar], jobs: list[Job], config: Config, now: datetime
) -> list[Diagnostic]:
    out = _Out()
    posts: dict[tuple[str, str], Post] = {}
    media: dict[Media, MediaFacts | None] = {}  # every file read once, whoever uses it
    # A recurring post's occurrences share their accounts, variants and media: judged
    # once, with its first occurrence (and `past` with its last).
    last: dict[tuple[str, str], Post] = {}
    for calendar in calendars:
        for post in calendar.posts:
            series, day = recurrence.split_id(post.id)
            if day is not None:
                last[(post.calendar, series)] = post
    for calendar in calendars:
        for post in calendar.posts:
            posts[(post.calendar, post.id)] = post
            series, day = recurrence.split_id(post.id)
            if day is not None:
                if (post.calendar, series) not in last:
                    continue
                _post(post, config, now, out, last.pop((post.calendar, series)))
            else:
                _post(post, config, now, out)
            severity: Severity = "warning" if post.status == "draft" else "error"
            for item in _all_media(post):
                if item not in media:
                    media[item] = _media_file(item, config, out, severity)
    # What the post's own content already reported as empty, per position: a variant
    # (or a variant's thread) that empties a part is reported once more, where written.
    empty = {(d.path, d.line, d.col) for d in out.items if d.rule == "empty"}
    alts: set[tuple[Pos, str, int]] = set()
    # Each distinct text of a recurring post is judged once per account and part, not
    # once per occurrence: (calendar, post as written, account, part, content hash).
    judged: set[tuple[str, str, str, int, str]] = set()
    distinct: list[Job] = []
    for job in jobs:
        series, day = recurrence.split_id(job.post_id)
        if day is not None:
            seen = (job.calendar, series, job.account, job.part, job.content_hash)
            if seen in judged:
                continue
            judged.add(seen)
        distinct.append(job)
        post = posts[(job.calendar, job.post_id)]
        severity = "warning" if post.status == "draft" else "error"
        suffix = " (draft)" if post.status == "draft" else ""
        where = f" in thread part {job.part}" if job.part else ""
        network = registry.get(job.network)
        for problem in job.problems:
            out.add(severity, job.pos, f"{problem}{where}{suffix}", "length", _length_hint(job))
        if network.article:
            for problem, hint in network.check_article(job.title, job.tags):
                out.add(severity, post.pos, f"{problem}{suffix}", "article", hint)
        if (
            not job.text.strip()
            and not job.media
            and tuple(job.pos) not in empty
            and post.content_for(job.account, job.network) is not post.content
        ):
            empty.add(tuple(job.pos))  # type: ignore[arg-type]
            what = f"thread part {job.part}" if job.part else recurrence.describe(job.post_id)
            out.add(
                severity,
                job.pos,
                f"{what} has no text and no media for account '{job.account}'{suffix}",
                "empty",
                "give this variant a text, or remove its empty 'text:'",
            )
        account = config.accounts.get(job.account)
        _fields(network, account.options if account else None, job, severity, suffix, alts, out)
        facts = [f for f in (media.get(item) for item in job.media) if f is not None]
        if len(facts) == len(job.media):  # judge the set only when every file was read
            for index, message in network.check_media(facts):
                pos = job.media[index].pos if index is not None else job.pos
                out.add(severity, pos, f"{message}{where}{suffix}", "media")
    out.items.extend(media_url.check(distinct, config))
    return out.items


# One approved job as the quota rule sees it, as each calendar file reports it (the
# project's "twins"): (account, part, UTC time, content hash), (line, col of the post's
# id, job key, line, col of its `at`).
Sighting = tuple[tuple[str, int, datetime, str], tuple[int, int, str, int, int]]


def check_quotas(
    config: Config, files: Iterable[tuple[str, Iterable[Sighting]]]
) -> list[Diagnostic]:
    """Warn (rule ``quota``, never an error: ``Project.errors`` counts without this check)
    where an account's approved jobs go over a declared quota.

    Quotas span calendar files, so this runs once over the whole project, from what each
    file reported: ``files`` holds (file as displayed, its sightings). Per account and
    quota, the times that count are sorted and one sliding window passes over them
    (cmctl.quota.over): 100,000 jobs cost a sort and one pass. The warning stands at the
    first post over the quota and says which quota, which window, and how many follow.
    """
    limited: dict[str, type[Network]] = {}  # the accounts whose network declares quotas
    for name, account in config.accounts.items():
        try:
            network = registry.get(account.network)
        except KeyError:  # config already said so
            continue
        if network.quotas:
            limited[name] = network
    if not limited:
        return []
    by_account: dict[str, list[tuple[datetime, int, str, int, int, str]]] = {}
    for shown, sightings in files:
        for (account_name, part, at, _), (line, col, key, _, _) in sightings:
            if account_name in limited:
                by_account.setdefault(account_name, []).append((at, part, shown, line, col, key))
    try:
        zone = timeutil.zone(config.timezone) if config.timezone else UTC
    except timeutil.TimeProblem:  # config already said so
        zone = UTC
    found: list[Diagnostic] = []
    for name, mine in sorted(by_account.items()):
        network = limited[name]
        mine.sort()
        for limit in network.quotas:
            counted = (
                mine if limit.counts == "posts" else [m for m in mine if limit.applies_to(m[1])]
            )
            over = quota.over(limit, [m[0] for m in counted])
            if over is None:
                continue
            at, part, shown, line, col, key = counted[over.index]
            post = _job_post(key)
            what = f"thread part {part} of {post}" if part else post
            since = over.since.astimezone(zone)
            more = over.total - 1
            later = f"; {more} later post{'s' if more > 1 else ''} too" if more else ""
            found.append(
                Diagnostic(
                    shown,
                    line,
                    col,
                    "warning",
                    f"{what} is post {limit.posts + 1} of account '{name}' within "
                    f"{quota.window(limit.per)} (from {since:%Y-%m-%d %H:%M %Z}): "
                    f"{limit.describe(network.title)}{later}",
                    "quota",
                    "spread these posts out: the network refuses posts over its quota, so "
                    "cmctl waits for the window before sending them",
                )
            )
    return found


def check_gaps(
    config: Config, files: Iterable[tuple[str, Iterable[Sighting]]], now: datetime
) -> list[Diagnostic]:
    """Warn (rule ``min-gap``, never an error: ``Project.errors`` counts without this
    check) where two approved posts to one account are closer than its
    ``min_gap`` (cmctl.yaml), from any calendar files.

    Only the posts count, not their thread replies (part 0). Per account, the times are
    sorted and each compared with the one before (spacing.too_close): 100,000 jobs cost
    a sort. The warning stands at the later post's ``at`` and names both posts; not when
    the later post's time has gone by (nothing can be done about it any more).
    """
    gaps = {name: gap for name in config.accounts if (gap := config.min_gap_for(name))}
    if not gaps:
        return []
    by_account: dict[str, list[tuple[datetime, str, int, int, str]]] = {}
    for shown, sightings in files:
        for (account_name, part, at, _), (_, _, key, line, col) in sightings:
            if part == 0 and account_name in gaps:
                by_account.setdefault(account_name, []).append((at, shown, line, col, key))
    found: list[Diagnostic] = []
    for name, mine in sorted(by_account.items()):
        gap = gaps[name]
        mine.sort()
        for index in spacing.too_close([m[0] for m in mine], gap):
            at, shown, line, col, key = mine[index]
            before, before_shown, before_line, _, before_key = mine[index - 1]
            if at < now or key == before_key:  # past, or one job twice (duplicate-calendar)
                continue
            apart = (
                f"{timeutil.format_duration(at - before)} after"
                if at > before
                else "at the same time as"
            )
            found.append(
                Diagnostic(
                    shown,
                    line,
                    col,
                    "warning",
                    f"{_job_post(key)} is {apart} {_job_post(before_key)} "
                    f"({before_shown}:{before_line}) on account '{name}': closer than its "
                    f"min_gap of {timeutil.format_duration(gap)}",
                    "min-gap",
                    "move one of them, or lower min_gap in cmctl.yaml",
                )
            )
    return found


def _job_post(key: str) -> str:
    """The post of a job key (``calendar:post~day@account#part``), as messages name it."""
    return recurrence.describe(key.rpartition("@")[0].partition(":")[2])


def _fields(
    network: type[Network],
    options: Mapping[str, Any] | None,
    job: Job,
    severity: Severity,
    suffix: str,
    seen: set[tuple[Pos, str, int]],
    out: _Out,
) -> None:
    """Per-field limits the network declares (alt text, ...), beyond the post's text."""
    limit = network.alt_limit(options)
    if limit is None:
        return
    for item in job.media:
        if item.alt is None or (item.pos, network.name, limit) in seen:
            continue
        length = len(item.alt)
        if length > limit:
            seen.add((item.pos, network.name, limit))
            out.add(
                severity,
                item.pos,
                f"alt text is {length}/{limit} characters for {network.name}{suffix}",
                "alt-text-length",
                "shorten the alt text",
            )


def _all_media(post: Post) -> list[Media]:
    items: list[Media] = []
    for content in (post.content, *post.variants.values()):
        items.extend(content.media or ())
        for part in content.thread or ():
            items.extend(part.media)
    return items


def _length_hint(job: Job) -> str | None:
    if job.part == 0:
        return f"shorten it, or add a '{job.network}' variant with a shorter text"
    return "shorten it"


def _post(post: Post, config: Config, now: datetime, out: _Out, last: Post | None = None) -> None:
    """One post's own rules; for a recurring post, ``post`` is its first occurrence and
    ``last`` its last (the post is in the past when its last occurrence is)."""
    draft = post.status == "draft"
    severity: Severity = "warning" if draft else "error"
    name = recurrence.split_id(post.id)[0]
    if not post.accounts:
        out.add(
            severity,
            post.accounts_pos,
            f"post '{name}' goes to no account",
            "accounts",
            "set 'accounts:' on the post or in the file's defaults",
        )
    for name in post.accounts:
        account = config.accounts.get(name)
        if account is None:
            known = sorted(config.accounts)
            out.add(
                "error",
                post.accounts_pos,
                f"unknown account '{name}'" + suggest(name, known),
                "unknown-account",
                f"accounts are declared in {display(config.path)}"
                + (f": {', '.join(known)}" if known else ""),
            )
            continue
        network = registry.get(account.network)
        content = post.content_for(name, account.network)
        if content.thread and not (network.threads or network.article):
            pos = content.pos or post.pos
            out.add(
                severity,
                pos,
                f"{network.title} cannot publish threads (account '{name}')",
                "thread",
                f"add a '{account.network}' variant with 'thread: []' and the gist in its text",
            )
    base = post.content
    if not (base.text or "").strip() and not base.media and not base.link:
        out.add(severity, post.pos, f"post '{name}' has no text and no media", "empty")
    for index, part in enumerate(base.thread or (), start=1):
        if not part.text.strip() and not part.media:
            out.add(severity, part.pos, f"thread part {index} has no text and no media", "empty")
    if last is not None:
        if not draft and last.at < now:
            series = recurrence.split_id(post.id)[0]
            out.add(
                "warning",
                post.at_pos,
                f"every occurrence of post '{series}' is in the past (the last one: "
                f"{last.local:%Y-%m-%d %H:%M %Z})",
                "past",
            )
    elif post.queue is None:
        _blackout(post, config, now, out)
    if last is None and not draft and post.queue is None and post.at < now:
        out.add(
            "warning",
            post.at_pos,
            f"post '{post.id}' is in the past ({post.local:%Y-%m-%d %H:%M %Z}) and has not "
            "been published",
            "past",
        )


def _blackout(post: Post, config: Config, now: datetime, out: _Out) -> None:
    """A dated post whose local date is in a blackout: an error (a warning for a draft,
    and for a post whose time has gone by: it went out, or will not any more)."""
    found = config.blackouts.find(post.local.date()) if config.blackouts else None
    if found is None:
        return
    severity: Severity = "warning" if post.status == "draft" or post.at < now else "error"
    out.add(
        severity,
        post.at_pos,
        f"post '{post.id}' is on {post.local:%Y-%m-%d}, inside the {found.describe()}: "
        "nothing may go out then",
        "blackout",
        f"move the post out of {found.dates}, or change the blackout in {display(config.path)}",
    )


def _media_file(item: Media, config: Config, out: _Out, severity: Severity) -> MediaFacts | None:
    """Check a media file's name, place and type before reading it (cmctl.media)."""
    try:
        media_facts.check_name(item.source)
        found = media_facts.facts(item.path, item.root or config.root)
    except media_facts.MediaProblem as p:
        level: Severity = "error" if p.rule == "media-path" else severity
        hint = f"keep media inside {config.root}" if "outside" in p.message else None
        out.add(level, item.pos, p.message, p.rule, hint)
        return None
    except OSError as exc:
        out.add(severity, item.pos, f"cannot read media '{item.source}': {exc.strerror}", "media")
        return None
    if item.alt is None or not item.alt.strip():
        out.add(
            "warning",
            item.pos,
            f"media '{item.source}' has no alt text",
            "alt-text",
            'describe the image for people who cannot see it: alt: "..."',
        )
    return found
