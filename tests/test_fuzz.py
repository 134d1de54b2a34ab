"""Property: whatever bytes a calendar holds, validate ends cleanly (exit 0/1), no traceback."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import calendar, post

VALID = calendar(
    post("kickoff", text="Bonjour à tous 👋 https://example.org"),
    post(
        "thread",
        at="2026-12-02 12:00",
        thread=["deux", {"text": "trois"}],
        variants={"bluesky": {"text": "court"}},
        hashtags=["cm"],
    ),
    accounts="[masto, bsky]",
).encode()

# Fragments that stress YAML and cmctl's reader in particular.
NASTY = [
    b"\x00",
    b"\xff\xfe",
    b"\t",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"!!python/object:os.system ",
    b"[" * 200,
    b"{" * 200,
    b"- " * 100,
    b"? ",
    b": ",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"\xe2\x80",
    b"\xed\xa0\x80",
    b"'",
    b'"',
    b"|\n",
    b">-\n",
    b"\r\n",
    b"\x1b[31m",
    b"at: 2027-03-28 02:30\n",
    b"id: a\n",
    b"posts:\n",
    b"timezone: Mars/Olympus\n",
    "text: 👨‍👩‍👧‍👦\n".encode(),
    b"media:\n  - path: /etc/passwd\n",
    b"\xef\xbb\xbf",
    # values that once passed validate and crashed later (issue #6)
    b"at: 9999-12-31 23:30\n",
    b"at: 0001-01-01 00:30\n",
    b"catch_up: 99999999d\n",
    b"catch_up: 100000000000000000000000s\n",
    b"accounts: [masto, masto]\n",
    b"lang: francais\n",
    b"media:\n  - path: /dev/zero\n",
    b'media:\n  - path: "a\\0b"\n',
    b"posts: &p\n  - *p\n",
]

mutation = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, len(VALID)), st.sampled_from(NASTY)),
    st.tuples(st.just("insert"), st.integers(0, len(VALID)), st.binary(max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, len(VALID)), st.integers(1, 40)),
    st.tuples(st.just("repeat"), st.integers(0, len(VALID)), st.integers(1, 60)),
)


def apply(data: bytes, ops: list[tuple[str, int, Any]]) -> bytes:
    for op, at, arg in ops:
        at = min(at, len(data))
        if op == "insert":
            data = data[:at] + arg + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + arg :]
        else:
            data = data[:at] + data[at : at + arg] * 3 + data[at + arg :]
    return data


def check_clean(project: Any, run: Any, data: bytes) -> None:
    project.write("calendars/dec.yaml", data)
    result = run("validate", "--format", "json")
    assert result.exit_code in (0, 1), (data, result.output)
    assert "Traceback" not in result.output
    assert "internal error" not in result.stderr


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(mutation, min_size=1, max_size=6))
def test_mutated_calendars_never_crash(project: Any, run: Any, ops: Any) -> None:
    check_clean(project, run, apply(VALID, ops))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
    )
)
def test_random_input_never_crashes(project: Any, run: Any, data: bytes) -> None:
    check_clean(project, run, data)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    doc=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(
                st.sampled_from(
                    [
                        "id",
                        "at",
                        "text",
                        "posts",
                        "media",
                        "path",
                        "thread",
                        "variants",
                        "accounts",
                        "timezone",
                        "defaults",
                        "x",
                    ]
                ),
                children,
                max_size=5,
            ),
        ),
        max_leaves=30,
    )
)
def test_random_yaml_structures_never_crash(project: Any, run: Any, doc: Any) -> None:
    import yaml

    check_clean(project, run, yaml.safe_dump(doc, allow_unicode=True).encode())


def test_pathological_inputs(project: Any, run: Any) -> None:
    for data in (
        b"[" * 100_000,  # deep nesting
        b"- " * 20_000 + b"x",
        b"a: &a [x, x, x, x, x, x, x, x, x]\n"
        + b"".join(
            f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}] \n".encode() for i in range(30)
        ),  # alias chain
        b"\x89PNG\r\n\x1a\n\x00\x00binary",
        "timezone: Europe/Paris\nposts: []\n".encode("utf-16"),
        b"posts:\n  - id: a\n    text: caf\xe9\n",  # Latin-1, not UTF-8
        b"x" * (9 * 1024 * 1024),  # over the size limit
    ):
        check_clean(project, run, data)
