"""Benchmark: `cmctl validate` on 10,000 posts in 100 files, against its floor and a peer.

Prints, from one run on this machine:
- cmctl validate, wall time of the real process;
- the floor: a process that only parses the same files with yaml.CSafeLoader;
- the peer: check-jsonschema validating the same files against `cmctl schema`;
- start-up: `cmctl --help` against bare `python -c pass`.
Targets (issue #2): validate <= 3x the floor, faster than the peer; --help <= 4x bare python.

    python benchmarks/validate.py [--posts 10000] [--files 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ACCOUNTS = ["brand-mastodon", "brand-bluesky", "brand-x", "brand-feed"]
CONFIG = """\
accounts:
  brand-mastodon: {network: mastodon, instance: "https://mastodon.example", token: "${T}"}
  brand-bluesky: {network: bluesky, handle: brand.bsky.social, app_password: "${P}"}
  brand-x: {network: x}
  brand-feed: {network: feed, path: public/feed.xml}
defaults:
  timezone: Europe/Paris
"""
WORDS = (
    "community",
    "manager",
    "modération",
    "e-réputation",
    "veille",
    "contenu",
    "audience",
    "engagement",
    "calendrier",
    "éditorial",
    "marque",
    "réseau",
    "fil",
    "communauté",
    "🎉",
    "🚀",
    "👩\u200d💻",
)


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" + b"\x10\x20\x30" * 2 + b"\0" + b"\x10\x20\x30" * 2)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def generate(root: Path, posts: int, files: int) -> list[Path]:
    (root / "calendars" / "media").mkdir(parents=True)
    (root / "cmctl.yaml").write_text(CONFIG, encoding="utf-8")
    (root / "calendars" / "media" / "a.png").write_bytes(tiny_png())
    per_file = posts // files
    paths = []
    n = 0
    for f in range(files):
        lines = [
            "timezone: Europe/Paris",
            "defaults:",
            f"  accounts: [{ACCOUNTS[f % 4]}, {ACCOUNTS[(f + 1) % 4]}]",
            "  hashtags: [cm]",
            "posts:",
        ]
        for i in range(per_file):
            n += 1
            day = 1 + (n % 28)
            month = 1 + (n // 28) % 12
            words = " ".join(WORDS[(n + k) % len(WORDS)] for k in range(18))
            lines += [
                f"  - id: post-{f}-{i}",
                f"    at: 2027-{month:02d}-{day:02d} {8 + n % 12:02d}:{(n * 7) % 60:02d}",
                "    text: |",
                f"      Post {n} : {words}",
                f"      https://example.org/blog/{n}?utm_source=cmctl",
            ]
            if n % 10 == 0:
                lines += ["    media:", "      - path: media/a.png", "        alt: Un carré"]
            if n % 25 == 0:
                lines += ["    thread:", f"      - Suite du fil {n}", f"      - Fin du fil {n}"]
            if n % 7 == 0:
                lines += ["    variants:", "      bluesky:", f"        text: Version courte {n}"]
        path = root / "calendars" / f"cal-{f:03d}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def timed(cmd: list[str], cwd: Path, repeat: int, ok: tuple[int, ...] = (0,)) -> float:
    """Median wall time of ``cmd`` over ``repeat`` runs (after one warm-up)."""
    env = {**os.environ, "NO_COLOR": "1"}
    samples = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode not in ok:
            sys.exit(
                f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}"
                f"{done.stderr[-2000:]}"
            )
        if i:
            samples.append(elapsed)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    cmctl = shutil.which("cmctl") or sys.exit("cmctl is not installed (pip install -e .)")
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="cmctl-bench-") as tmp:
        root = Path(tmp)
        paths = generate(root, args.posts, args.files)
        size = sum(p.stat().st_size for p in paths)
        print(
            f"workload: {args.posts} posts in {args.files} files ({size / 1e6:.1f} MB), "
            f"{len(ACCOUNTS)} networks; median of {args.repeat} runs"
        )

        parse_only = (
            "import glob, yaml\n"
            "for p in sorted(glob.glob('calendars/*.yaml')):\n"
            "    with open(p, 'rb') as f: yaml.load(f, Loader=yaml.CSafeLoader)\n"
        )
        floor = timed([python, "-c", parse_only], root, args.repeat)
        validate = timed([cmctl, "validate", "--format", "json"], root, args.repeat)
        single = timed([cmctl, "validate", "-j", "1", "--format", "json"], root, args.repeat)
        ratio = validate / floor
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"  bare yaml.CSafeLoader parse (floor)   {floor * 1000:8.0f} ms")
        print(
            f"  cmctl validate ({cpus} CPUs)              {validate * 1000:8.0f} ms   "
            f"{ratio:.2f}x floor (target <= 3x) {'OK' if ratio <= 3 else 'MISSED'}"
        )
        print(
            f"  cmctl validate -j 1 (one CPU)         {single * 1000:8.0f} ms   "
            f"{single / floor:.2f}x floor"
        )

        peer_bin = shutil.which("check-jsonschema")
        if peer_bin:
            schema = root / "calendar.schema.json"
            subprocess.run([cmctl, "schema", "-o", str(schema)], check=True)
            peer = timed(
                [peer_bin, "--schemafile", str(schema), *map(str, paths)],
                root,
                max(1, args.repeat // 2),
            )
            print(
                f"  check-jsonschema (peer, schema only)  {peer * 1000:8.0f} ms   "
                f"cmctl is {peer / validate:.1f}x faster "
                f"{'OK' if validate < peer else 'MISSED'}"
            )
        else:
            print(
                "  check-jsonschema (peer): not installed; "
                "pip install -r benchmarks/requirements.txt"
            )

        bare = timed([python, "-c", "pass"], root, args.repeat * 4)
        helptime = timed([cmctl, "--help"], root, args.repeat * 4)
        r = helptime / bare
        print(f"  python -c pass                        {bare * 1000:8.0f} ms")
        print(
            f"  cmctl --help                          {helptime * 1000:8.0f} ms   "
            f"{r:.2f}x bare python (target <= 4x) {'OK' if r <= 4 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
