"""The server as `make run` starts it keeps answering while slow clients hold sockets open."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.request

from tests.conftest import gunicorn_server, server_environment

SLOW_SOCKETS = 50


def trickle(sockets: list[socket.socket], stop: threading.Event) -> None:
    """Slowloris: half the sockets send a request line, then one more header line every second
    and never the blank line that would end their headers; the other half send a sign-in's
    headers and then its body, a byte a second."""
    half = len(sockets) // 2
    for sock in sockets[:half]:
        sock.sendall(b"GET /api/v1/categories HTTP/1.1\r\nHost: shanhai.test\r\n")
    for sock in sockets[half:]:
        sock.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: shanhai.test\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
    number = 0
    while not stop.wait(1.0):
        number += 1
        for index, sock in enumerate(sockets):
            with contextlib.suppress(OSError):
                sock.sendall(f"X-Slow-{number}: still here\r\n".encode() if index < half else b" ")


def timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        assert response.status == 200
    return time.perf_counter() - started


def test_the_server_answers_health_and_reads_within_a_second_with_50_slow_clients_open(tmp_path):
    # As `make run` starts it: its worker count and model come from gunicorn.conf.py.
    env = server_environment(tmp_path, WEB_CONCURRENCY=None, GUNICORN_THREADS=None)
    port = int(env["PORT"])
    stop = threading.Event()
    with gunicorn_server(env) as base:
        sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(SLOW_SOCKETS)]
        slow = threading.Thread(target=trickle, args=(sockets, stop), daemon=True)
        slow.start()
        try:
            time.sleep(2)  # every slow socket is accepted and mid-headers
            timings = []
            for _ in range(5):
                timings.append(("healthz", timed_get(f"{base}/healthz")))
                timings.append(("read", timed_get(f"{base}/api/v1/categories")))
                time.sleep(0.5)
        finally:
            stop.set()
            slow.join()
            for sock in sockets:
                sock.close()
    slowest = max(timings, key=lambda timing: timing[1])
    assert slowest[1] < 1.0, timings
