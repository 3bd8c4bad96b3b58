"""What every request must satisfy before any route reads it: JSON no deeper than the store can write, and no
NUL character in a body string, a form field, a query parameter or the path (PostgreSQL text refuses NUL)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.problems import problem

# The store writes JSON columns with orjson, which refuses values nested deeper than 254 levels; a body's value
# is stored a few levels down at most (an alert's raw payload, a job's payload). Parse and store agree as long
# as this limit stays well under 254: a body that passes here can always be written.
MAX_JSON_DEPTH = 64
STORE_JSON_DEPTH = 254

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooDeep(ValueError):
    """The JSON value is nested deeper than MAX_JSON_DEPTH."""

    def __init__(self, field: str) -> None:
        super().__init__(f"nested deeper than {MAX_JSON_DEPTH} levels")
        self.field = field


class NulInText(ValueError):
    """A string (or an object key) holds a NUL character."""

    def __init__(self, field: str) -> None:
        super().__init__("must not contain a NUL character")
        self.field = field


def _name(path: list[str | int]) -> str:
    return ".".join(str(p).replace("\x00", "") for p in path) or "body"


def check_value(value: Any, *, depth_limit: int = MAX_JSON_DEPTH) -> None:
    """Raise BodyTooDeep or NulInText (naming the field) for a parsed JSON value that cannot be stored."""
    # Iterative: a hostile body must not be able to exhaust our own stack either.
    stack: list[tuple[Any, list[str | int], int]] = [(value, [], 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise NulInText(_name(path))
        elif isinstance(item, dict | list):
            if depth > depth_limit:
                raise BodyTooDeep(_name(path))
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and "\x00" in key:
                        raise NulInText(_name([*path, key]))
                    stack.append((child, [*path, key], depth + 1))
            else:
                stack.extend((child, [*path, index], depth + 1) for index, child in enumerate(item))


def _too_deep(value: Any, limit: int) -> bool:
    # Containers only, no paths: the intake's 100-alert batches pass here in ~1/10 of check_value's time.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in item.values() if type(item) is dict else item:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def check_body(body: bytes) -> None:
    """Check a JSON body without parsing it when the bytes already prove it fine (the intake's common case)."""
    # Depth is at most the number of opening brackets, and a NUL can only be written as \u0000 in JSON text.
    maybe_nul = b"\\u0000" in body
    maybe_deep = body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH
    if not maybe_nul and not maybe_deep:
        return
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # malformed: the route answers that, as it always has
    if maybe_nul or (isinstance(value, dict | list) and _too_deep(value, MAX_JSON_DEPTH)):
        check_value(value)  # the slow walk, only to name the field at fault


def _body_kind(scope: Scope) -> str | None:
    """The body's kind: "json", "form" (the console's urlencoded forms) or None for a body this guard does not read."""
    content_type = next((v for k, v in scope.get("headers", []) if k == b"content-type"), b"").lower()
    # Alert senders do not all say what they send: a body without a content type is read as JSON by the intake.
    if not content_type or b"json" in content_type:
        return "json"
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        return "form"
    return None


def _query_problem(query: bytes) -> str | None:
    if b"%00" not in query and b"\x00" not in query:
        return None
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "") or "query"
    return None


class InputGuard:
    """ASGI middleware: answer 422 (NUL) or 400 (too deep) before a route sees the request.

    One place for every router, the intake's short path included: a NUL reached PostgreSQL as a 500 from any
    text field, and an alert nested 300 levels deep parsed fine but failed to store, as a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", ""):
            await _refuse(scope, receive, send, 422, "path", "must not contain a NUL character")
            return
        field = _query_problem(scope.get("query_string", b""))
        if field is not None:
            await _refuse(scope, receive, send, 422, field, "must not contain a NUL character")
            return
        kind = _body_kind(scope) if scope.get("method") in _BODY_METHODS else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left, or the body limit has answered already
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if kind == "form":
            # Only the field's name goes back: a form may carry a password.
            field = _query_problem(body)
            if field is not None:
                await _refuse(scope, receive, send, 422, field, "must not contain a NUL character")
                return
        try:
            if kind == "json":
                check_body(body)
        except NulInText as exc:
            await _refuse(scope, receive, send, 422, exc.field, str(exc))
            return
        except BodyTooDeep as exc:
            await _refuse(scope, receive, send, 400, exc.field, str(exc), title="Nested too deep")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, field: str, message: str, *, title: str = ""
) -> None:
    # No `instance`: the path may hold an integration key.
    response = problem(
        status,
        title or "Invalid request",
        f"{field}: {message}",
        errors=[{"field": field, "message": message}],
    )
    await response(scope, receive, send)
