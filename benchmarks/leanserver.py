"""A lean Mastodon-like server for benchmarks: answers POST /api/v1/statuses after a
fixed latency, using almost no CPU, so that the figures measure cmctl, not the fake.

The test fakes (tests/fakes/) validate every request the way the network would and
cost ~1 ms of CPU per request in Python threads; on a 2-core machine that alone would
exceed a 1,000-post burst's budget. This one is one asyncio loop in its own process.

    python benchmarks/leanserver.py LATENCY LOGFILE   # prints its URL, serves until killed

Each accepted status is logged as `received_unix_time<TAB>status_text` when the server
stops (SIGTERM) or every 200 statuses. Idempotency-Key is honoured like Mastodon.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

LOG: list[str] = []
KEYS: dict[str, int] = {}


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float, log_path: str
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            received = time.time()
            await asyncio.sleep(latency)
            if method == "POST" and path.startswith("/api/v1/statuses"):
                key = headers.get("idempotency-key", "")
                status_id = KEYS.get(key)
                if status_id is None:
                    status_id = KEYS[key] = len(KEYS) + 1
                    text = json.loads(body or b"{}").get("status", "")
                    LOG.append(f"{received}\t{text}")
                    if len(LOG) % 200 == 0:
                        flush(log_path)
                payload = {
                    "id": str(status_id),
                    "url": f"http://bench/@brand/{status_id}",
                    "uri": f"http://bench/statuses/{status_id}",
                }
                status = "200 OK"
            else:
                payload, status = {"error": "Record not found"}, "404 Not Found"
            data = json.dumps(payload).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n".encode()
                + data
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def flush(log_path: str) -> None:
    with open(log_path, "w", encoding="utf-8") as f:
        f.write("\n".join(LOG) + ("\n" if LOG else ""))


async def main() -> None:
    latency, log_path = float(sys.argv[1]), sys.argv[2]
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, latency, log_path), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    flush(log_path)


if __name__ == "__main__":
    asyncio.run(main())
