"""The web application of ``dialog-gym serve`` (Starlette): the page, its static files and a small JSON API.

=======  ==================================  ==========================================================
GET      /                                   the page (the token embedded when the server made it)
GET      /api/sessions                       every session (id, status, environment, dialogues, last
                                             change), the latest first; ``latest``: its id or null
POST     /api/sessions                       a new session (its own log and learner); its state
GET      /api/sessions/{id}                  the session's state: the pending step, chart, messages
POST     /api/sessions/{id}/decide           ``{"command": "accept"|"correct"|"undo"|"reset",
                                             "action": N, "turn": T}``: the state at the next step
POST     /api/sessions/{id}/export           ``{"format": "stories"|"minari", "name": ...}``
GET      /api/sessions/{id}/exports/{file}   an exported stories file
=======  ==================================  ==========================================================

Every ``/api`` request needs the token in the ``X-Dialog-Gym-Token`` header (a page on another site can
neither read the token nor send the header: there is no CORS). Bodies are JSON objects of at most
:data:`MAX_BODY` bytes; refused requests answer ``{"error": message, "hint": what to do}`` (``hint`` when
there is something to do, e.g. reload the page after a restart) with a 4xx status and change nothing.
With ``allowed_hosts`` (the loopback names when bound to loopback) other ``Host`` headers are refused,
which stops DNS rebinding.
"""

from __future__ import annotations

import contextlib
import html
import json
import secrets
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from agents.web.sessions import SessionManager, SessionOptions, WebError

TOKEN_HEADER = "X-Dialog-Gym-Token"
MAX_BODY = 4096  #: bytes of a request body
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def static_dir() -> Path:
    """The page's files, shipped inside the package."""
    return Path(str(resources.files("agents.web") / "static"))


def create_app(out: str | Path, options: SessionOptions | None = None, token: str | None = None, *,
               embed_token: bool = True, allowed_hosts: list[str] | None = None,
               resume: bool = True) -> Starlette:
    """The application over the sessions in ``out``. ``token`` is required in every API request (one is
    made if None); ``embed_token`` puts it into the served page (for a token the server made itself; a
    token the user chose is typed into the page or given as ``#token=...`` in its address). With
    ``resume`` every session found in ``out`` is resumed at once."""
    token = token or secrets.token_urlsafe(32)
    manager = SessionManager(out, options or SessionOptions())
    if resume:
        manager.resume_all()
    static = static_dir()
    page = (static / "index.html").read_text(encoding="utf-8")
    boot = json.dumps({"token": token if embed_token else None})
    page = page.replace("{{BOOT}}", html.escape(boot, quote=True))

    # a page opened before a restart holds the old server's token: the new page holds the new one
    token_hint = ("The server was restarted since this page was opened (a new server has a new token): reload the page."
                  if embed_token else "Reload the page and enter the token the server was started with (--token).")

    def checked(request: Request) -> None:
        given = request.headers.get(TOKEN_HEADER, "")
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise WebError(401 if not given else 403, f"missing or wrong token (send it in the {TOKEN_HEADER} header)",
                           token_hint)

    async def body_of(request: Request) -> dict[str, Any]:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            raise WebError(413, f"the request body is over {MAX_BODY} bytes")
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_BODY:
                raise WebError(413, f"the request body is over {MAX_BODY} bytes")
        if not data.strip():
            return {}
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebError(400, f"the request body is not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise WebError(400, "the request body must be a JSON object")
        return body

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def list_sessions(request: Request) -> Response:
        checked(request)
        sessions = await run_in_threadpool(manager.listing)
        return JSONResponse({"sessions": sessions, "latest": sessions[0]["id"] if sessions else None})

    async def new_session(request: Request) -> Response:
        checked(request)
        body = await body_of(request)
        if body:
            raise WebError(400, "a new session takes no fields (the server's options decide how it starts)")
        session = await run_in_threadpool(manager.create)
        state = await run_in_threadpool(session.ready)
        return JSONResponse(state, status_code=201)

    async def get_session(request: Request) -> Response:
        checked(request)
        session = manager.get(request.path_params["ident"])
        wait = request.query_params.get("wait") == "1"
        state = await run_in_threadpool(session.ready) if wait else session.state()
        return JSONResponse(state)

    async def decide(request: Request) -> Response:
        checked(request)
        session = manager.get(request.path_params["ident"])
        body = await body_of(request)
        return JSONResponse(await run_in_threadpool(session.decide, body))

    async def export(request: Request) -> Response:
        checked(request)
        session = manager.get(request.path_params["ident"])
        body = await body_of(request)
        return JSONResponse(await run_in_threadpool(session.export, body))

    async def export_file(request: Request) -> Response:
        checked(request)
        session = manager.get(request.path_params["ident"])
        path = session.export_file(request.path_params["name"])
        return FileResponse(path, media_type="text/markdown; charset=utf-8", filename=path.name)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebError)
        body = {"error": str(exc)} if exc.hint is None else {"error": str(exc), "hint": exc.hint}
        return JSONResponse(body, status_code=exc.status)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        return JSONResponse({"error": getattr(exc, "detail", "not found")}, status_code=status)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        manager.close()

    routes = [
        Route("/", index),
        Route("/api/sessions", list_sessions, methods=["GET"]),
        Route("/api/sessions", new_session, methods=["POST"]),
        Route("/api/sessions/{ident}", get_session, methods=["GET"]),
        Route("/api/sessions/{ident}/decide", decide, methods=["POST"]),
        Route("/api/sessions/{ident}/export", export, methods=["POST"]),
        Route("/api/sessions/{ident}/exports/{name}", export_file, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)] if allowed_hosts else []
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={WebError: refused, 404: not_found, 405: not_found}, lifespan=lifespan)
    app.state.manager = manager
    app.state.token = token
    return app


__all__ = ["LOOPBACK_HOSTS", "MAX_BODY", "TOKEN_HEADER", "create_app", "static_dir"]
