"""`cmctl schema` agrees with the loader: the samples pass it, broken files fail both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import REPO, calendar, post

SAMPLES = sorted((REPO / "calendars").glob("**/*.yaml")) + sorted(
    (REPO / "examples" / "calendars").glob("**/*.yaml")
)


class _StrDates(yaml.SafeLoader):
    """YAML as an editor's language server sees it: timestamps stay strings."""


_StrDates.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> jsonschema.Validator:
    from click.testing import CliRunner

    from cmctl.cli import cli

    schema = json.loads(CliRunner().invoke(cli, ["schema"]).stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_there_are_samples() -> None:
    assert len(SAMPLES) >= 3


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_samples_pass_the_schema(validator: jsonschema.Validator, path: Path) -> None:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrDates)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize(
    "broken",
    [
        calendar(post("a")).replace("text:", "txet:"),  # unknown key
        calendar(post("a")).replace("id: a", "id: A B"),  # id pattern
        calendar(post("a", status="published")),  # enum
        calendar(post("a", catch_up="soon")),  # duration pattern
        calendar(post("a", media=[{"alt": "no path"}])),  # required
        calendar(post("a", thread=[{"txt": "x"}])),  # unknown key in a part
        "posts: {a: 1}\n",  # wrong type
    ],
)
def test_schema_and_loader_reject_the_same_files(
    validator: jsonschema.Validator, project: Any, run: Any, broken: str
) -> None:
    project.calendar(broken)
    assert list(validator.iter_errors(yaml.load(broken, Loader=_StrDates)))
    assert run("validate").exit_code == 1


def test_committed_schema_file_is_current(run: Any) -> None:
    """calendar.schema.json (what the sample calendars' modeline points at) never drifts."""
    committed = json.loads((REPO / "calendar.schema.json").read_text(encoding="utf-8"))
    current = json.loads(run("schema").stdout)
    assert committed == current, "run: cmctl schema -o calendar.schema.json"
