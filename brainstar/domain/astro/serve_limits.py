"""What the model API refuses before FastAPI sees a request: bodies too large or too slow to arrive.

:class:`BodyLimits` is a pure ASGI middleware (no ``BaseHTTPMiddleware``, which would run the
app in a task of its own) around the app's ``receive``:

- **Size on the bytes read.** A declared ``Content-Length`` above the limit is answered 413 at
  once, without reading a byte; otherwise every body chunk is counted as the app reads it and the
  request is refused with 413 the moment the count passes the limit, chunked bodies (no
  Content-Length) included. The chunk that crosses the limit is never handed on, so the app holds
  at most the limit in memory. (Checking the header alone let a 50 MB chunked body through: 1.1 GB
  RSS for one request.)
- **Stall timeout on the body.** Each read of the body waits at most ``body_timeout_s`` (the time
  between two successive reads, as nginx's ``client_body_timeout``): a client that declares N
  bytes, sends fewer and stalls gets 408 and its connection closed, instead of holding it.

Both answers are ``{"detail": ...}`` JSON with ``Connection: close``: after a refused body the
rest of it is still on the wire, so the connection cannot carry another request. Whatever the app
had started to answer to a body it never fully got is dropped in favour of the refusal.
Starlette's own ``RequestBodyLimitMiddleware`` counts bytes too, but has no stall timeout and
answers in plain text; one middleware keeps both refusals in one shape.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXCERPT_CHARS = 200  # what an error body may quote of its input (a file name, a parser's message)
DEFAULT_BODY_TIMEOUT_S = 10.0


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass
class _Refusal(Exception):
    status: int
    detail: str


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: _Refusal) -> None:
    response = JSONResponse(
        {"detail": refusal.detail}, status_code=refusal.status, headers={"connection": "close"}
    )
    await response(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isdigit() else None


class BodyLimits:
    """Refuse request bodies above ``max_body_bytes`` (413) or stalled for ``body_timeout_s`` (408)."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _refuse(
                scope,
                receive,
                send,
                _Refusal(413, f"request body of {declared} bytes exceeds {self.max_body_bytes}"),
            )
            return
        refusal: _Refusal | None = None
        started = False
        body_done = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal refusal, body_done, received
            if refusal is not None:
                raise refusal
            if body_done:
                # After the body only a disconnect can come, whenever the client leaves: no timeout.
                return await receive()
            try:
                # asyncio.timeout, not wait_for: no task per read (this runs for every request).
                async with asyncio.timeout(self.body_timeout_s):
                    message = await receive()
            except TimeoutError:
                refusal = _Refusal(
                    408, f"request body stalled: nothing received for {self.body_timeout_s:g} s"
                )
                raise refusal from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_body_bytes:
                    refusal = _Refusal(413, f"request body exceeds {self.max_body_bytes} bytes")
                    raise refusal
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refusal is not None and not started:
                return  # the app's answer to a body it never got (FastAPI makes it a 400): ours replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if refusal is None or started:
                raise
        if refusal is not None and not started:
            await _refuse(scope, receive, send, refusal)
