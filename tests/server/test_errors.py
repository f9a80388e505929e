"""Every mistake a client can make is a 4xx with an OpenAI-style body naming it; never a crash,
a traceback or a hung server. The API key, the Host check and the listening address."""

from __future__ import annotations

import json
import socket

import httpx2
import openai
import pytest

from app.server import ApiServer, ServerConfig, ServerConfigError, ServerStartError

ASK = [{"role": "user", "content": "hi"}]


def post(served, path: str, body, headers=None, **kwargs) -> httpx2.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    return httpx2.post(served.url + path, content=data, headers=sent, timeout=30, **kwargs)


def error_of(response: httpx2.Response) -> dict:
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert "Traceback" not in error["message"]
    return error


@pytest.fixture
def served(serve, answer_engine):
    return serve(answer_engine, max_body_bytes=64 * 1024, max_messages=50)


def test_bad_json_and_bad_fields_are_400s_naming_the_field(served):
    response = post(served, "/chat/completions", b'{"model": "x", "messages": [')
    assert response.status_code == 400 and error_of(response)["code"] == "invalid_json"
    response = post(served, "/chat/completions", [1, 2])
    assert response.status_code == 400
    cases = [
        ({"messages": []}, "messages"),
        ({"messages": ASK, "temperature": "hot"}, "temperature"),
        ({"messages": ASK, "max_tokens": 0}, "max_tokens"),
        ({"messages": ASK, "n": 2}, "n"),
        ({"messages": ASK, "stop": [1]}, "stop"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
        ({"messages": ASK, "tools": [{"type": "function"}]}, "tools"),
        ({"messages": ASK, "frequency_penalty": 0.5}, "frequency_penalty"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0]"),
        ({"prompt": 3}, "prompt"),
    ]
    for body, param in cases:
        path = "/completions" if "prompt" in body else "/chat/completions"
        response = post(served, path, body)
        assert response.status_code == 400, body
        assert error_of(response)["param"] == param
    # The server still answers normally afterwards.
    assert served.client().chat.completions.create(model="tiny-qwq-answer", messages=ASK)


def test_unknown_model_is_404_model_not_found(served):
    with pytest.raises(openai.NotFoundError) as info:
        served.client().chat.completions.create(model="gpt-4o", messages=ASK)
    assert info.value.code == "model_not_found" and "tiny-qwq-answer" in info.value.message
    with pytest.raises(openai.NotFoundError):
        served.client().models.retrieve("gpt-4o")
    with pytest.raises(openai.NotFoundError):
        served.client().completions.create(model="gpt-4o", prompt="x")


def test_oversized_requests_are_413(served):
    huge = {"model": "tiny-qwq-answer", "messages": [{"role": "user", "content": "x" * 70_000}]}
    response = post(served, "/chat/completions", huge)  # announced by Content-Length
    assert response.status_code == 413 and error_of(response)["code"] == "request_too_large"

    def chunks():  # no Content-Length: counted as it arrives
        yield json.dumps(huge).encode()

    response = httpx2.post(
        served.url + "/chat/completions",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    many = {"messages": [{"role": "user", "content": "x"}] * 51}
    response = post(served, "/chat/completions", many)
    assert response.status_code == 413 and error_of(response)["param"] == "messages"


def test_prompt_longer_than_the_context_is_a_400(serve, answer_engine):
    served = serve(answer_engine)
    long = [{"role": "user", "content": "Let me think " * 2000}]
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as info:
            reply = served.client().chat.completions.create(
                model="tiny-qwq-answer", messages=long, stream=stream
            )
            list(reply) if stream else None
        assert info.value.code == "context_length_exceeded"


def test_wrong_content_type_route_and_method_are_json_errors(served):
    response = httpx2.post(served.url + "/chat/completions", content=b"{}", timeout=30)
    assert response.status_code == 415 and error_of(response)
    response = httpx2.get(served.url + "/nothing", timeout=30)
    assert response.status_code == 404 and error_of(response)
    response = httpx2.get(served.url + "/chat/completions", timeout=30)
    assert response.status_code == 405 and error_of(response)


def test_other_host_names_are_refused_on_loopback(served):
    response = httpx2.get(served.url + "/models", headers={"Host": "evil.example"}, timeout=30)
    assert response.status_code == 403 and error_of(response)["code"] == "host_not_allowed"
    ok = httpx2.get(served.url + "/models", headers={"Host": "localhost:1234"}, timeout=30)
    assert ok.status_code == 200


def test_api_key_is_enforced_when_set(serve, answer_engine):
    served = serve(answer_engine, api_key="s3cret")
    for key in ("wrong", None):
        client = served.client(api_key=key or "") if key else None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx2.get(served.url + "/models", headers=headers, timeout=30)
        assert response.status_code == 401 and error_of(response)["code"] == "invalid_api_key"
        if client is not None:
            with pytest.raises(openai.AuthenticationError):
                client.chat.completions.create(model="tiny-qwq-answer", messages=ASK)
    reply = served.client(api_key="s3cret").chat.completions.create(
        model="tiny-qwq-answer", messages=ASK
    )
    assert reply.choices[0].message.content == "Paris"
    assert httpx2.get(served.url.removesuffix("/v1") + "/health", timeout=30).status_code == 200
    refused = [r for r in served.records if r.finished and r.status == 401]
    assert refused and all("API key" in r.error for r in refused)


def test_listening_beyond_loopback_needs_a_key_and_ports_are_checked(answer_engine):
    with pytest.raises(ServerConfigError) as info:
        ApiServer(answer_engine, ServerConfig(host="0.0.0.0", port=0))
    assert "API key" in info.value.message and info.value.hint
    ApiServer(answer_engine, ServerConfig(host="0.0.0.0", port=0, api_key="k"))  # accepted
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = ApiServer(answer_engine, ServerConfig(port=taken.getsockname()[1]))
        with pytest.raises(ServerStartError) as info:
            server.start()
        assert "already in use" in info.value.message
    assert not server.running
