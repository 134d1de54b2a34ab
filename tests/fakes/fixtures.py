"""Pytest fixtures that start the fake network servers, one fresh server per test.

Registered as a plugin by tests/conftest.py (``pytest_plugins``). Each fixture yields
a started server and stops it after the test (stop() takes well under a second, even
with a hanging handler).

- ``fake_mastodon``: FakeMastodon, token "good-token", account "brand".
- ``fake_bluesky``: FakeBluesky, handle "brand.test", app password "app-pass-1234".
- ``fake_facebook``: FakeFacebook, Page ``PAGE_ID`` with the Page token ``PAGE_TOKEN``
  (and a user token ``USER_TOKEN``), tests/fakes/facebook.py.
- ``fake_devto``: FakeDevTo, API key ``tests.fakes.devto.API_KEY``, user "brand".
- ``fake_webhook``: FakeWebhookReceiver checking signatures with ``WEBHOOK_SECRET``
  (``fake_webhook.secret``).
- ``fake_slack``: FakeSlack, bot token ``tests.fakes.slack.TOKEN``, channel ``CHANNEL``.
- ``fake_wordpress``: FakeWordPress, users "editor" and "author" with the application
  password ``tests.fakes.wordpress.APP_PASSWORD``.
- ``fake_webhook_unsigned``: FakeWebhookReceiver without a secret (accepts any POST).
- ``fake_telegram``: FakeTelegram, bot token ``tests.fakes.telegram.TOKEN``, channel
  "@brand_news" (id -1001234567890).
- ``fake_discord``: FakeDiscord, one channel webhook at ``fake_discord.webhook_url``.
- ``fake_x``: FakeX, user ``tests.fakes.x.USERNAME``, a public OAuth 2.0 app
  (``CLIENT_ID``) and OAuth 1.0a keys (``API_KEY``...).
- ``fake_threads``: FakeThreads, app ``APP_ID``/``APP_SECRET``, user ``USER_ID`` with
  a long-lived ``TOKEN`` (tests/fakes/threads.py).
- ``fake_linkedin``: FakeLinkedIn, member token ``TOKEN``, page token ``PAGE_TOKEN``
  (tests/fakes/linkedin.py).
- ``fake_instagram``: FakeInstagram, app ``APP_ID``/``APP_SECRET``, account ``USER_ID``
  with the long-lived token ``TOKEN`` (tests/fakes/instagram.py); it serves media under
  ``/cdn/`` (``serve``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.devto import FakeDevTo
from tests.fakes.discord import FakeDiscord
from tests.fakes.facebook import FakeFacebook
from tests.fakes.instagram import FakeInstagram
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.threads import FakeThreads
from tests.fakes.webhook import WEBHOOK_SECRET, FakeWebhookReceiver
from tests.fakes.wordpress import FakeWordPress
from tests.fakes.x import FakeX


@pytest.fixture
def fake_mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


@pytest.fixture
def fake_bluesky() -> Iterator[FakeBluesky]:
    with FakeBluesky() as server:
        yield server


@pytest.fixture
def fake_webhook() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(WEBHOOK_SECRET) as server:
        yield server


@pytest.fixture
def fake_webhook_unsigned() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as server:
        yield server


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server


@pytest.fixture
def fake_facebook() -> Iterator[FakeFacebook]:
    with FakeFacebook() as server:
        yield server


@pytest.fixture
def fake_devto() -> Iterator[FakeDevTo]:
    with FakeDevTo() as server:
        yield server


@pytest.fixture
def fake_wordpress() -> Iterator[FakeWordPress]:
    with FakeWordPress() as server:
        yield server


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    with FakeX() as server:
        yield server


@pytest.fixture
def fake_threads() -> Iterator[FakeThreads]:
    with FakeThreads() as server:
        yield server


@pytest.fixture
def fake_linkedin() -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn() as server:
        yield server


@pytest.fixture
def fake_instagram() -> Iterator[FakeInstagram]:
    with FakeInstagram() as server:
        yield server
