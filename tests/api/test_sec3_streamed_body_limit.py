"""Finding 3: an unauthenticated chunked body was read whole before the token check (the limit only
looked at Content-Length). The limit now counts streamed bytes before anything reads them: the
server answers 413 (or a SOAP Client fault) while the client is still sending."""
from __future__ import annotations

import select
import socket

import pytest

CHUNK = 16 * 1024
TOTAL = 16 * 1024 * 1024


def stream_until_answered(port: int, path: str, content_type: str) -> tuple[int, int, bytes]:
    """Send a chunked body of up to TOTAL bytes; return (bytes sent when the answer came, status, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
               f"Transfer-Encoding: chunked\r\n\r\n").encode())
    sent, chunk = 0, f"{CHUNK:x}\r\n".encode() + b"a" * CHUNK + b"\r\n"
    try:
        while sent < TOTAL:
            readable, _, _ = select.select([s], [], [], 0.01)
            if readable:
                break
            s.sendall(chunk)
            sent += CHUNK
        else:
            s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = b""
    s.settimeout(30)
    try:
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 10:
            got = s.recv(65536)
            if not got:
                break
            data += got
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0
    return sent, status, data


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path,ctype,status", [
    ("/api/v1/atena/merge", "application/json", 413),
    ("/api/v1/token", "application/x-www-form-urlencoded", 413),
    ("/api/v1/juki/residents/search", "application/json", 413),
    ("/platform/soap", "text/xml; charset=utf-8", 500),   # a SOAP Fault (CLIENT-TOO-LARGE)
])
def test_chunked_body_is_cut_at_the_limit_before_authentication(hub_server, path, ctype, status):
    srv, _ = hub_server
    sent, got, data = stream_until_answered(srv.port, path, ctype)
    assert got == status, data[:300]
    if path == "/platform/soap":
        assert b"CLIENT-TOO-LARGE" in data
    # Answered long before the 16 MiB were sent: the server stopped reading near the 64 KiB limit
    # (the slack is what the kernel buffers and the select loop let through before the answer shows).
    assert sent < 4 * 1024 * 1024, sent
