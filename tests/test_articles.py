"""Blog networks publish articles: a title, the thread appended, the hashtags as tags.

The core decides from the declaration (``Network.article``), never from a network's
name: the compile units use the scripted network declared as a blog, the CLI tests
the two built-in blog networks' declarations.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cmctl.calendar.model import Calendar, Content, Part, Pos, Post
from cmctl.compile import compile_jobs
from cmctl.config import Account, Config
from tests.conftest import as_json, calendar, post
from tests.networks import scripted

AT = datetime(2027, 3, 1, 8, 30, tzinfo=UTC)
HERE = Pos("blog.yaml", 3, 7)
HOUR = timedelta(hours=1)


@pytest.fixture
def blog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from cmctl.networks import registry

    monkeypatch.setitem(registry.BUILTIN, "scripted", "tests.networks.scripted:Scripted")
    registry.get.cache_clear()
    scripted.declare(article=True, threads=False, max_tags=2)
    yield
    scripted.restore()
    registry.get.cache_clear()


def config(tmp_path: Path) -> Config:
    return Config(
        path=tmp_path / "cmctl.yaml",
        root=tmp_path,
        accounts={"blog": Account("blog", "scripted", {}), "mic": Account("mic", "scripted", {})},
    )


def one_post(**content: Any) -> Calendar:
    thread = (Part("Second part.", (), Pos("blog.yaml", 9, 9)), Part("Third.", (), HERE))
    base = {"text": "Body.", "title": "Launch", "link": "https://ex.com/a", "thread": thread}
    base.update(content)
    content = Content(**base, hashtags=("#news", "tech"))
    p = Post(
        "blog", "launch", AT, AT, ("blog",), content, {}, "approved", HOUR, (), HERE, HERE, HERE
    )
    return Calendar("blog", Path("blog.yaml"), "blog.yaml", "UTC", [p])


def test_an_article_is_one_job_with_the_thread_appended(blog: None, tmp_path: Path) -> None:
    (job,) = compile_jobs([one_post()], config(tmp_path))
    assert job.key == "blog:launch@blog" and job.parts == 1
    assert job.text == "Body.\n\nSecond part.\n\nThird."  # no link, no hashtag line
    assert (job.title, job.link, job.tags) == ("Launch", "https://ex.com/a", ("news", "tech"))


def test_a_thread_stays_a_thread_where_the_network_is_not_a_blog(tmp_path: Path) -> None:
    from cmctl.networks import registry

    registry.BUILTIN["scripted"] = "tests.networks.scripted:Scripted"
    registry.get.cache_clear()
    try:
        jobs = compile_jobs([one_post()], config(tmp_path))
    finally:
        del registry.BUILTIN["scripted"]
        registry.get.cache_clear()
    assert [j.part for j in jobs] == [0, 1, 2]
    assert jobs[0].text == "Body.\n\nhttps://ex.com/a\n\n#news #tech"
    assert jobs[0].title == "Launch"  # carried, the network ignores it


@pytest.mark.parametrize(
    "change",
    [{"title": "Launch day"}, {"link": "https://ex.com/b"}, {"thread": ()}],
)
def test_the_title_link_and_thread_are_part_of_what_was_sent(
    blog: None, tmp_path: Path, change: dict[str, Any]
) -> None:
    (before,) = compile_jobs([one_post()], config(tmp_path))
    (after,) = compile_jobs([one_post(**change)], config(tmp_path))
    assert before.key == after.key  # the same identity...
    assert before.content_hash != after.content_hash  # ...an edit cmctl sees


# --- through the CLI, with the built-in blog networks' declarations -------------------

BLOG_CONFIG = """
accounts:
  wp:
    network: wordpress
    site: https://blog.example
    username: editor
    app_password: ${WP_APP_PASSWORD}
  dev:
    network: devto
    api_key: ${DEVTO_API_KEY}
  masto:
    network: mastodon
    instance: https://mastodon.example
    token: a-long-enough-token
"""


def diagnostics(run: Any) -> list[dict[str, Any]]:
    result = run("validate", "--format", "json")
    found: list[dict[str, Any]] = as_json(result)["diagnostics"]
    return found


def test_a_post_to_a_blog_without_a_title_is_an_error_at_the_post(project: Any, run: Any) -> None:
    project.config(BLOG_CONFIG)
    project.write(
        "calendars/blog.yaml",
        calendar(post("launch", "2026-12-07 09:00", "Body"), accounts="[wp, dev, masto]"),
    )
    found = [d for d in diagnostics(run) if d["rule"] == "article"]
    assert [(d["severity"], d["line"], d["col"]) for d in found] == [("error", 5, 9)] * 2
    assert {d["message"] for d in found} == {
        "WordPress publishes articles: the post needs a 'title'",
        "DEV (dev.to) publishes articles: the post needs a 'title'",
    }
    assert run("validate").exit_code == 1


def test_a_variant_gives_the_blog_its_title_and_a_thread_is_no_error(
    project: Any, run: Any
) -> None:
    project.config(BLOG_CONFIG)
    extra = {
        "variants": {"wordpress": {"title": "Launch"}, "devto": {"title": "Launch on DEV"}},
        "thread": ["More.", "And more."],
    }
    project.write(
        "calendars/blog.yaml",
        calendar(post("launch", "2026-12-07 09:00", "Body", **extra), accounts="[wp, dev]"),
    )
    assert [d for d in diagnostics(run) if d["severity"] == "error"] == []
    jobs = as_json(run("plan", "--json"))["jobs"]
    seen = sorted((j["key"], j["title"], j["text"]) for j in jobs)
    assert seen == [
        ("blog:launch@dev", "Launch on DEV", "Body\n\nMore.\n\nAnd more."),
        ("blog:launch@wp", "Launch", "Body\n\nMore.\n\nAnd more."),
    ]


def test_too_many_tags_for_the_network(project: Any, run: Any) -> None:
    project.config(BLOG_CONFIG)
    tags = ["a", "b", "c", "d", "e"]
    project.write(
        "calendars/blog.yaml",
        calendar(post("launch", "2026-12-07 09:00", "Body", title="T", hashtags=tags),
                 accounts="[wp, dev]"),
    )  # fmt: skip
    found = [d["message"] for d in diagnostics(run) if d["rule"] == "article"]
    assert found == ["5 hashtags; devto takes at most 4 tags"]
