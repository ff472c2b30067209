"""Real Redis and a real Celery worker process for the integration tests.

Without ``redis-server`` these tests skip loudly, unless ``REQUIRE_ALL=1`` (CI) where they fail.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection

from conftest import require_program
from registry.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]

# What a spa's client data looks like in the integration worlds: a delivered body carrying any
# of these leaked it (client references, condition codes, screening answers).
CLIENT_DATA_MARKERS = ("CLIENT-", "M51.16", "screening", "pain_score")


def client_data_in(bodies: list[bytes]) -> list[str]:
    """The client-data markers found in webhook bodies (none is the only right answer)."""
    return [marker for body in bodies for marker in CLIENT_DATA_MARKERS if marker in body.decode()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class RedisServer:
    def __init__(self, binary: str, workdir: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self._ping, 10), "redis-server did not start"

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Worker:
    """``celery -A registry worker`` in its own process, on the test database."""

    def __init__(self, broker_url: str, workdir: str) -> None:
        self.broker_url = broker_url
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.log = Path(workdir) / "worker.log"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CELERY_BROKER_URL=self.broker_url,
            REGISTRY_DB_NAME=connection.settings_dict["NAME"],
            REGISTRY_DELIVERY_BACKOFF_BASE="0.2",
            REGISTRY_DELIVERY_BACKOFF_CAP="1",
            DEBUG="1",
            SECRET_KEY=os.environ.get("SECRET_KEY", "test"),
        )
        return env

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "registry",
                "worker",
                "--pool=solo",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "--loglevel=INFO",
                "--logfile",
                str(self.log),
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(lambda: self.log.exists() and "ready" in self.log.read_text(), 30), (
            "celery worker did not start:\n" + (self.log.read_text() if self.log.exists() else "")
        )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class Receiver:
    """A local webhook receiver: records every request, can fail or stall on purpose, and
    applies each event once (de-duplicating by ``X-Registry-Event-Id``)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.applied: dict[str, int] = {}
        self.fail_next = 0
        self.stall_seconds = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    stall, receiver.stall_seconds = receiver.stall_seconds, 0.0
                    fail = receiver.fail_next > 0
                    if fail:
                        receiver.fail_next -= 1
                if stall:
                    time.sleep(stall)
                if fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                event_id = self.headers["X-Registry-Event-Id"]
                with receiver.lock:
                    receiver.applied[event_id] = receiver.applied.get(event_id, 0) + 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def redis_binary():
    return require_program("redis-server")


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield d


@pytest.fixture
def redis_server(redis_binary, workdir):
    server = RedisServer(redis_binary, workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(redis_server):
    """Point this process's Celery app at the real broker (no eager execution)."""
    old = {k: celery_app.conf[k] for k in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=redis_server.url, task_always_eager=False)
    _reset_connections()
    yield redis_server
    celery_app.conf.update(**old)
    _reset_connections()


def _reset_connections() -> None:
    """Forget every broker connection pool (kombu keeps them in a global registry keyed by
    URL), so later tests, eager ones included, get fresh pools for the broker they use."""
    from kombu import pools

    pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(broker, workdir):
    process = Worker(broker.url, workdir)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def receiver():
    """A webhook receiver; whatever a test made it receive, no body may carry client data."""
    r = Receiver()
    yield r
    r.close()
    leaked = client_data_in([request["body"] for request in r.requests])
    assert not leaked, f"a delivered webhook carried client data: {leaked}"
