"""Request bodies of the OpenAI API, read and checked: every mistake is a 400 naming its field.

Sampling fields a request leaves out keep the server's defaults (the app's settings or the
model's preset); the engine then applies the reasoning rules (never greedy) and the thinking
budget. Extensions llama.cpp's server accepts too: ``top_k``, ``min_p``, ``repeat_penalty``,
and ours, ``thinking_budget``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from app.engine.sampling import SamplingParams

from .errors import ApiError

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
UNSUPPORTED = {
    "tools": "tool calling",
    "functions": "function calling",
    "tool_choice": "tool calling",
    "function_call": "function calling",
    "logprobs": "log probabilities",
    "top_logprobs": "log probabilities",
    "echo": "echo",
    "suffix": "suffix (fill-in-the-middle)",
    "best_of": "best_of",
    "logit_bias": "logit_bias",
    "audio": "audio",
}
HARMLESS = {"tool_choice": ("none", "auto"), "best_of": (1,)}  # values that change nothing
MAX_STOP_STRINGS = 16


@dataclass
class ChatRequest:
    """A chat or text completion request, ready for the engine."""

    model: str | None
    messages: list[dict]
    params: SamplingParams
    stream: bool = False
    include_usage: bool = False
    stop: tuple[str, ...] = ()
    raw: bool = False  # a text completion: the one message's text is the whole prompt


@dataclass
class EmbeddingRequest:
    model: str | None
    inputs: list[str]
    base64: bool = False


def parse_json(raw: bytes) -> dict:
    """The body as a JSON object, or a 400 that says what is wrong with it."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"The request body is not valid JSON ({exc})", "invalid_json") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object", "invalid_json")
    return body


def chat_request(body: dict, defaults: SamplingParams, max_messages: int) -> ChatRequest:
    """A /v1/chat/completions body checked and turned into a ChatRequest."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list of messages", param="messages")
    if len(messages) > max_messages:
        raise ApiError(
            413,
            f"Too many messages ({len(messages)}); this server takes at most {max_messages}",
            "request_too_large",
            "messages",
        )
    return _request(body, [_message(m, i) for i, m in enumerate(messages)], defaults)


def completion_request(body: dict, defaults: SamplingParams) -> ChatRequest:
    """A /v1/completions body: its prompt, sent to the model as it is (no chat template)."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ApiError(400, "'prompt' must be one string", param="prompt")
    request = _request(body, [{"role": "user", "content": prompt}], defaults)
    request.raw = True
    return request


def embedding_request(body: dict) -> EmbeddingRequest:
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) for t in inputs):
        raise ApiError(400, "'input' must be a string or a list of strings", param="input")
    if body.get("dimensions") is not None:
        raise ApiError(400, "'dimensions' is not supported by this model", param="dimensions")
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise ApiError(400, "'encoding_format' must be float or base64", param="encoding_format")
    return EmbeddingRequest(_model(body), inputs, base64=fmt == "base64")


def _request(body: dict, messages: list[dict], defaults: SamplingParams) -> ChatRequest:
    for name, what in UNSUPPORTED.items():
        if body.get(name) not in (None, False, [], {}, 0, *HARMLESS.get(name, ())):
            raise ApiError(400, f"'{name}': {what} is not supported by this server", param=name)
    _integer(body, "n", 1, 1)  # one choice per request
    fmt = body.get("response_format")
    if fmt not in (None, {"type": "text"}):
        raise ApiError(400, 'only \'response_format\' {"type": "text"}', param="response_format")
    frequency = _number(body, "frequency_penalty", -2, 2)
    if frequency:
        raise ApiError(
            400,
            "'frequency_penalty' is not supported: use presence_penalty or repeat_penalty",
            param="frequency_penalty",
        )
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be true or false", param="stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise ApiError(400, "'stream_options' must be an object", param="stream_options")
    return ChatRequest(
        model=_model(body),
        messages=messages,
        params=_params(body, defaults),
        stream=stream,
        include_usage=bool(options.get("include_usage")),
        stop=_stop(body.get("stop")),
    )


def _params(body: dict, defaults: SamplingParams) -> SamplingParams:
    changes = {
        "temperature": _number(body, "temperature", 0, 2),
        "top_p": _number(body, "top_p", 0, 1),
        "top_k": _integer(body, "top_k", 0, 1_000_000),
        "min_p": _number(body, "min_p", 0, 1),
        "repeat_penalty": _number(body, "repeat_penalty", 0, 10),
        "presence_penalty": _number(body, "presence_penalty", -2, 2),
        "seed": _integer(body, "seed", -(2**63), 2**63 - 1),
        "thinking_budget": _integer(body, "thinking_budget", 0, 10**9),
    }
    limit = _integer(body, "max_completion_tokens", 1, 10**9)
    if limit is None:
        limit = _integer(body, "max_tokens", 1, 10**9)
    changes["max_tokens"] = limit
    return replace(defaults, **{k: v for k, v in changes.items() if v is not None})


def _model(body: dict) -> str | None:
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ApiError(400, "'model' must be a string", param="model")
    return model


def _message(message: object, index: int) -> dict:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise ApiError(400, f"{where} must be an object with 'role' and 'content'", param=where)
    role = message.get("role")
    if role == "tool" or message.get("tool_calls"):
        raise ApiError(400, f"{where}: tool calling is not supported by this server", param=where)
    if role not in ROLES:
        raise ApiError(
            400, f"{where}: role must be system, developer, user or assistant", param=where
        )
    return {"role": ROLES[role], "content": _content(message.get("content"), where)}


def _content(content: object, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ApiError(
                    400, f"{where}: only text content is supported, not {kind}", param=where
                )
            texts.append(str(part.get("text") or ""))
        return "".join(texts)
    raise ApiError(400, f"{where}: 'content' must be a string or a list of parts", param=where)


def _stop(stop: object) -> tuple[str, ...]:
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise ApiError(400, "'stop' must be a string or a list of strings", param="stop")
    if len(stop) > MAX_STOP_STRINGS:
        raise ApiError(400, f"at most {MAX_STOP_STRINGS} stop strings", param="stop")
    return tuple(s for s in stop if s)


def _number(body: dict, name: str, lo: float, hi: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ApiError(400, f"'{name}' must be a number from {lo} to {hi}", param=name)
    return float(value)


def _integer(body: dict, name: str, lo: int, hi: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ApiError(400, f"'{name}' must be a whole number from {lo} to {hi}", param=name)
    return value
