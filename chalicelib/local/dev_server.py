"""chalice's local HTTP server, answering as the API does everywhere: an unknown route is a 404,
any method of a known route that has no view a 405 (the app's own answer), and the server's own
errors (a malformed request line, a bad Content-Length) a 4xx, all as
`{"error": {"code", "message"}}` JSON. chalice's server answers an unknown route with API
Gateway's 403 `{"message": "Missing Authentication Token"}` and a method it has no `do_*` for
(TRACE, CONNECT, ...) with the standard library's 501 HTML page."""

from __future__ import annotations

import functools
import json
from http import HTTPStatus

from chalice.cli import create_local_server as chalice_local_server
from chalice.local import ChaliceRequestHandler, ForbiddenError

from .moto_lock import foreground


class UniformErrorsHandler(ChaliceRequestHandler):
    def __getattr__(self, name: str):
        # BaseHTTPRequestHandler looks up do_<METHOD>: every method goes to the app
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _generic_handle(self) -> None:
        length = self.headers.get("content-length", "0")
        if not (length.isascii() and length.isdigit()):
            self._send_error_json(400, "bad_request", "Content-Length must be a whole number")
            return
        with foreground():  # background work gives way to requests at moto (moto_lock)
            super()._generic_handle()

    # (chalice's class binds these to its own _generic_handle)
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _send_error_response(self, error) -> None:
        if isinstance(error, ForbiddenError):  # the gateway matched no route
            path = self.path.split("?", 1)[0][:200]
            self._send_error_json(404, "not_found", f"no route {path}")
            return
        super()._send_error_response(error)

    def send_error(self, code, message=None, explain=None) -> None:
        """The standard library's own errors (bad request line, URI too long, ...) as JSON."""
        self.close_connection = True
        try:
            name = HTTPStatus(code).phrase
        except ValueError:
            name = "error"
        self._send_error_json(
            code, name.lower().replace(" ", "_").replace("-", "_"), message or name
        )

    def _send_error_json(self, code: int, error_code: str, message: str) -> None:
        body = json.dumps({"error": {"code": error_code, "message": message}}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def create_local_server(factory, host: str, port: int, stage: str):
    """chalice.cli.create_local_server, with the handler above."""
    server = chalice_local_server(factory, host, port, stage)
    plain = server.server.RequestHandlerClass  # functools.partial(ChaliceRequestHandler, ...)
    server.server.RequestHandlerClass = functools.partial(
        UniformErrorsHandler, *plain.args, **plain.keywords
    )
    return server
