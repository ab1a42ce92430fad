"""With RATELIMIT_STORAGE_URI on a real Redis server, a limit holds across workers: two
apps (two gunicorn workers, or two machines) count against the same limit."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.conftest import COORDINATOR_EMAIL, free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, no persistence."""
    import redis

    port = free_port()
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def test_a_limit_holds_across_two_workers_on_redis(make_app, coordinator, redis_url):
    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_LOGIN_PER_ACCOUNT": "4 per 15 minutes",
    }
    workers = [make_app(**settings).test_client(), make_app(**settings).test_client()]
    for attempt in range(4):
        reply = workers[attempt % 2].post(
            "/login", data={"email": COORDINATOR_EMAIL, "password": "fout"}
        )
        assert reply.status_code == 200
    for worker in workers:
        reply = worker.post("/login", data={"email": COORDINATOR_EMAIL, "password": "fout"})
        assert reply.status_code == 429
