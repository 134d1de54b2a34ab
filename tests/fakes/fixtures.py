"""Pytest fixtures that start the fake network servers, one fresh server per test.

Registered as a plugin by tests/conftest.py (``pytest_plugins``). Each fixture yields
a started server and stops it after the test (stop() takes well under a second, even
with a hanging handler).

- ``fake_mastodon``: FakeMastodon, token "good-token", account "brand".
- ``fake_bluesky``: FakeBluesky, handle "brand.test", app password "app-pass-1234".
- ``fake_webhook``: FakeWebhookReceiver checking signatures with ``WEBHOOK_SECRET``
  (``fake_webhook.secret``).
- ``fake_wordpress``: FakeWordPress, users "editor" and "author" with the application
  password ``tests.fakes.wordpress.APP_PASSWORD``.
- ``fake_webhook_unsigned``: FakeWebhookReceiver without a secret (accepts any POST).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.webhook import WEBHOOK_SECRET, FakeWebhookReceiver
from tests.fakes.wordpress import FakeWordPress


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
def fake_wordpress() -> Iterator[FakeWordPress]:
    with FakeWordPress() as server:
        yield server
