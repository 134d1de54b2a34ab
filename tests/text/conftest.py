"""Conformance data for the cmctl.text tests, read at run time.

The data lives outside the repository, in ``../shared/conformance/`` relative to
the repository root (``CMCTL_CONFORMANCE`` overrides the folder). Test functions
ask for it by argument name and :func:`pytest_generate_tests` parametrises them
with every case of the matching section of twitter-text's ``validate.yml``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def conformance_dir() -> Path:
    override = os.environ.get("CMCTL_CONFORMANCE")
    path = Path(override) if override else REPO_ROOT / ".." / "shared" / "conformance"
    if not (path / "twitter-text" / "validate.yml").is_file():
        raise FileNotFoundError(
            f"conformance data not found in {path} (set CMCTL_CONFORMANCE to its folder)"
        )
    return path.resolve()


@cache
def validate_sections() -> dict[str, list[dict[str, Any]]]:
    with (conformance_dir() / "twitter-text" / "validate.yml").open(encoding="utf-8") as f:
        sections: dict[str, list[dict[str, Any]]] = yaml.safe_load(f)["tests"]
    return sections


# Cases of validate.yml's ``urls`` section that twitter-text's *validator* accepts but
# its *extractor* (which decides what X and Mastodon count as a link, and which
# extract_urls follows) does not take whole. Strict: they fail loudly if they pass.
URL_EXTRACTOR_DIFFERENCES = {
    "Valid url: port and userinfo": (
        "twitter-text's extractor has no userinfo part: 'user:PASSW0RD@' ends the "
        "candidate and '@' may not precede a host, so no URL is extracted"
    ),
    "Valid url: ipv4": "twitter-text's extractor requires a known TLD: IPv4 hosts are not links",
    "Valid url: ipv6": "twitter-text's extractor requires a known TLD: IPv6 hosts are not links",
    "Valid url: sub delims and question marks": (
        "twitter-text's extractor ends a query only on [a-z0-9-_&=#/]: the final '+' "
        "is left out of the link"
    ),
}

# fixture name -> (validate.yml sections, xfail reasons by description)
_PARAMETRISED: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "weighted_case": (("WeightedTweetsWithDiscountedEmojiCounterTest",), {}),
    "directional_case": (("UnicodeDirectionalMarkerCounterTest",), {}),
    "weighted_v2_case": (("WeightedTweetsCounterTest",), {}),
    "url_case": (("urls",), URL_EXTRACTOR_DIFFERENCES),
    "schemeless_url_case": (("urls_without_protocol",), {}),
    "hashtag_case": (("hashtags",), {}),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, (section_names, xfails) in _PARAMETRISED.items():
        if fixture not in metafunc.fixturenames:
            continue
        params = []
        for name in section_names:
            for index, case in enumerate(validate_sections()[name]):
                reason = xfails.get(case["description"])
                marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
                params.append(
                    pytest.param(case, id=f"{index:02d}-{case['description'][:60]}", marks=marks)
                )
        metafunc.parametrize(fixture, params)


@pytest.fixture(scope="session")
def conformance() -> Path:
    return conformance_dir()


@pytest.fixture(scope="session")
def validate_yml() -> dict[str, list[dict[str, Any]]]:
    """twitter-text's ``validate.yml``, section name -> cases."""
    return validate_sections()
