"""Every answer has the API's error shape `{"error": {"code", "message"}}`: chalice's own 405, 415
and 500 (in Lambda and locally), and, on the local stack, unknown routes, methods the standard
library's server has no handler for (TRACE: 405, not 501) and malformed requests."""

import json
import socket

import pytest
import requests
from test_e2e_local_stack import LocalStack


def assert_error_shape(status, body, expected_status, code):
    assert status == expected_status, body
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert set(body["error"]) <= {"code", "message", "path"} and body["error"]["message"]


@pytest.mark.parametrize("method", ["PATCH", "TRACE", "PUT"])
def test_a_method_without_a_view_is_a_405_in_the_error_shape(api, method):
    """GIVEN a known route WHEN it is called with a method it has no view for THEN 405,
    the Allow header, and the error shape (chalice answered {"Code", "Message"})."""
    response = api.client.http.request(
        method, api.p("/profiles"), headers={"x-api-key": api.project["key"]}
    )
    assert_error_shape(response.status_code, json.loads(response.body), 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}


def test_an_unsupported_media_type_is_a_415_in_the_error_shape(api):
    response = api.client.http.post(
        api.p("/events"),
        body=b"{}",
        headers={"x-api-key": api.project["key"], "content-type": "text/plain"},
    )
    assert_error_shape(
        response.status_code, json.loads(response.body), 415, "unsupported_media_type"
    )
    assert response.headers["Content-Type"] == "application/json"


def test_a_crash_outside_the_project_routes_is_a_500_in_the_error_shape(api, monkeypatch):
    """GIVEN a public route whose code raises WHEN it is called THEN chalice's 500 comes back
    in the error shape, without the exception's text."""
    from chalicelib.api import docs_routes

    monkeypatch.setattr(docs_routes, "spec_text", lambda: (_ for _ in ()).throw(KeyError("secret")))
    response = api.client.http.get("/openapi.json")
    body = json.loads(response.body)
    assert_error_shape(response.status_code, body, 500, "internal")
    assert "secret" not in response.body.decode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = LocalStack(tmp_path_factory.mktemp("edge") / "data", demo_profiles=0).start()
    yield s
    if s.proc.poll() is None:
        s.stop()


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "FOO"])
def test_the_local_server_answers_any_method_of_a_known_route_with_405(stack, method):
    """GIVEN the local stack WHEN a known route gets TRACE (the server answered 501 HTML) or
    another method without a view THEN 405 with Allow, in the error shape."""
    r = requests.request(
        method, stack.api + "/projects/demo/profiles", timeout=30, headers={"x-api-key": stack.key}
    )
    assert_error_shape(r.status_code, r.json(), 405, "method_not_allowed")
    assert set(r.headers["Allow"].split(", ")) == {"GET", "POST"}


@pytest.mark.parametrize("method", ["GET", "POST", "TRACE"])
def test_the_local_server_answers_an_unknown_route_with_404(stack, method):
    """GIVEN the local stack WHEN a path no route matches is called THEN 404 in the error shape
    (it was API Gateway's 403 {"message": "Missing Authentication Token"})."""
    r = requests.request(
        method,
        stack.api + "/projects/demo/nothing-here?x=1",
        timeout=30,
        headers={"x-api-key": stack.key, "Authorization": "Bearer x"},
    )
    assert_error_shape(r.status_code, r.json(), 404, "not_found")


def test_the_local_server_answers_its_own_errors_in_the_error_shape(stack):
    """GIVEN the local stack WHEN a request has a malformed Content-Length, or a malformed
    request line THEN a 400 JSON error, not a dropped connection or an HTML page."""
    host, port = stack.api.removeprefix("http://").split(":")
    for raw in (
        b"POST /projects/demo/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /projects/demo/profiles extra HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(raw)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                    break
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split()[1] == b"400", answer
        assert b"application/json" in head and json.loads(body)["error"]["code"], answer
