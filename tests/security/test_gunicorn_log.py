"""gunicorn's error log, with the logger class the Procfile and the systemd unit name, keeps
no client address for a malformed request (a real gunicorn process, a raw socket)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from campaign.gunicorn_logging import scrub
from tests.conftest import ROOT, free_port

GUNICORN = Path(sys.executable).parent / "gunicorn"


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    """Until gunicorn accepts connections (a minute at most: a busy CI machine)."""
    for _ in range(1200):
        assert process.poll() is None, "gunicorn stopped"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gunicorn did not start")


def malformed_requests(port: int) -> None:
    for raw in (b"GARBAGE\r\n\r\n", b"GET /s/x\x01y HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(raw)
            assert sock.recv(1024).startswith(b"HTTP/1.1 400")


def production_command() -> list[str]:
    """The Procfile's web command, with the port and log file of this test."""
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8")
    line = next(line for line in procfile.splitlines() if line.startswith("web:"))
    args = line.removeprefix("web:").split()
    assert args[0] == "gunicorn"
    return [str(GUNICORN), *args[1:]]


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_a_malformed_request_leaves_no_client_address_in_the_error_log(tmp_path, database_url):
    port = free_port()
    log_file = tmp_path / "error.log"
    command = production_command()
    bind = command.index("-b")
    command[bind + 1] = f"127.0.0.1:{port}"
    command += ["--error-logfile", str(log_file), "--access-logfile", str(tmp_path / "a.log")]
    env = {
        **os.environ,
        "CAMPAIGN_SECRET_KEY": "a-test-secret-key-that-is-long-enough",
        "CAMPAIGN_SQLALCHEMY_DATABASE_URI": database_url,
    }
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        malformed_requests(port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        process.terminate()
        process.wait(timeout=20)
    text = log_file.read_text(encoding="utf-8")
    invalid = [line for line in text.splitlines() if "Invalid request" in line]
    assert len(invalid) == 2, text
    assert all("ip=-" in line and "127.0.0.1" not in line for line in invalid), invalid
    assert "\\x01" in text  # the client's control character written escaped
    access = (tmp_path / "a.log").read_text(encoding="utf-8")
    assert "GET /login" in access and "127.0.0.1" not in access


def test_scrub_removes_ipv4_and_ipv6_addresses_but_not_times():
    assert scrub("Invalid request from ip=2001:db8::1: bad") == "Invalid request from ip=-: bad"
    assert scrub("peer 10.1.2.3 and ::ffff:192.0.2.1") == "peer - and -"
    assert scrub("killed at 12:30:45\nFAKE") == "killed at 12:30:45\\nFAKE"
