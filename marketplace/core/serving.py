"""gunicorn's gthread worker, with each request read in full before a thread is given to it.

A sync worker is held by one client sending its headers slowly: six such sockets stopped a
five-worker server. gthread parks idle connections in its event loop, but a connection whose
first bytes have come still takes a thread and keeps it while the rest trickles in, so fifty
slow clients would need fifty threads, and in CodeReader each thread keeps a database
connection of its own. This worker does what a buffering proxy (nginx's default) does in
front of an application server: the worker's event loop reads each request's headers, and a
body of stated length up to BODY_BUFFER_BYTES, without blocking; only a complete request is
handed to a thread, with the bytes already read put back in front of gunicorn's parser. A
client that has not sent its whole request within READ_SECONDS is disconnected. Threads are
then only ever busy with the application's own work, so a few per worker suffice.

TLS is not terminated by gunicorn here (a proxy in front does it); with gunicorn's own TLS
the bytes on the socket are encrypted, so that case keeps gthread's behaviour unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import re
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

READ_SECONDS = 30.0
STOP_READ_SECONDS = 2.0
HEADER_BYTES = 64 * 1024
BODY_BUFFER_BYTES = 8 * 1024 * 1024
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d{1,12})[ \t]*(?=\r\n)", re.IGNORECASE)
# Requests whose body the client sends only once told to, or whose length the headers do not
# state, go to a thread as soon as their headers are complete.
HAND_OVER_AT_HEADERS = re.compile(rb"\r\n(?:expect|transfer-encoding)[ \t]*:", re.IGNORECASE)


def complete(buffer: bytes | bytearray) -> bool:
    """Whether `buffer` holds a whole request (or as much of it as is worth waiting for)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return len(buffer) > HEADER_BYTES  # the parser will refuse it: let it say so
    headers = b"\r\n" + bytes(buffer[:end]) + b"\r\n"
    if HAND_OVER_AT_HEADERS.search(headers):
        return True
    length = CONTENT_LENGTH.search(headers)
    if length is None or int(length.group(1)) > BODY_BUFFER_BYTES:
        return True
    return len(buffer) >= end + 4 + int(length.group(1))


class BufferingThreadWorker(ThreadWorker):
    """gthread whose event loop reads whole requests; threads only run the application."""

    def init_process(self) -> None:
        self.reading: dict[TConn, float] = {}
        super().init_process()

    def accept(self, listener) -> None:
        if self.cfg.is_ssl:
            super().accept(listener)
            return
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self._read(TConn(self.cfg, client_sock, client_addr, listener.getsockname()))

    def on_client_socket_readable(self, conn: TConn, client) -> None:
        """A kept-alive connection's next request is read the same way."""
        if self.cfg.is_ssl:
            super().on_client_socket_readable(conn, client)
            return
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read(conn)

    def _read(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        conn.buffered = bytearray()
        self.reading[conn] = time.monotonic() + READ_SECONDS
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: TConn, client) -> None:
        try:
            data = client.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before its request was whole
            self._forget(conn)
            return
        conn.buffered += data
        if complete(conn.buffered):
            self.poller.unregister(client)
            del self.reading[conn]
            self.enqueue_req(conn)

    def _forget(self, conn: TConn) -> None:
        self.reading.pop(conn, None)
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def handle(self, conn: TConn):
        buffered = getattr(conn, "buffered", None)
        if buffered:
            conn.buffered = None
            conn.data_ready = True
            conn.init()
            conn.parser.unreader.unread(bytes(buffered))
        return super().handle(conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn, deadline in list(self.reading.items()):
            if not self.alive:
                # Stopping: a request still arriving gets a moment, not the whole READ_SECONDS.
                deadline = self.reading[conn] = min(deadline, now + STOP_READ_SECONDS)
            if deadline <= now:
                self._forget(conn)
