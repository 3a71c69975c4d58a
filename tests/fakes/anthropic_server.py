"""A local HTTP server that speaks the Anthropic Messages API, so the real SDK runs in tests.

It listens on 127.0.0.1 on an ephemeral port, answers ``POST /v1/messages`` from a script (a
queue of canned :class:`Reply` values, or a handler that sees the parsed request), and records
every request it receives. Like the real API it refuses what a client must not send: a missing
key or API version, a malformed body, sampling parameters under API version 2026-10-21, a
``tool_use`` left without its ``tool_result``, a forced ``tool_choice`` naming an unknown tool.
Like the real API it caches prompts: a request that marks a block with ``cache_control`` has
the prefix up to that block (tools, system, messages, in that order) written to its cache, if
the prefix is at least :attr:`FakeAnthropicServer.cache_min_tokens` long (4 characters a
token), and read from it when the same model saw the same prefix before; the answer's usage
then reports ``cache_creation_input_tokens`` or ``cache_read_input_tokens``, and the scripted
``input_tokens`` stand for the part after the prefix.

    with FakeAnthropicServer() as api:
        api.script(tool_use({"summary": ...}), overloaded())
        client = anthropic.Anthropic(api_key=api.api_key, base_url=api.base_url)
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

MAX_DELAY = 5.0  # seconds: a slow reply never holds a test longer than this
DEFAULT_KEY = "sk-ant-test-0000-not-a-real-key"
SAMPLING_REMOVED = "2026-10-21"  # API version from which temperature/top_p/top_k are refused

_ids = itertools.count(1)


@dataclass
class Reply:
    """One scripted HTTP answer. ``delay`` seconds pass before it is sent (for timeouts);
    ``trickle`` seconds pass between the bytes of its body (each read gets a byte in time), or
    of the whole answer from its status line on with ``trickle_head``."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # sent as is instead of ``body`` (malformed answers)
    trickle: float = 0.0
    trickle_head: bool = False
    drop: bool = False  # no answer at all: the connection is closed, as by a server killed


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any
    rejected: str | None = None  # why the fake refused it as the real API would, if it did

    @property
    def system(self) -> str:
        system = self.body.get("system", "")
        if isinstance(system, list):
            return "\n".join(b.get("text", "") for b in system)
        return str(system)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools", []))

    @property
    def tool_choice(self) -> Any:
        return self.body.get("tool_choice")

    @property
    def api_key(self) -> str | None:
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth[len("Bearer "):] if auth.startswith("Bearer ") else None

    def texts(self, role: str | None = None) -> list[str]:
        """Every piece of text in the messages (text blocks and tool results), in order."""
        out: list[str] = []
        for message in self.messages:
            if role is not None and message.get("role") != role:
                continue
            out += list(_texts(message.get("content")))
        return out

    def tool_errors(self) -> list[str]:
        """The text of every ``tool_result`` marked ``is_error`` (what a repair round says)."""
        out: list[str] = []
        for message in self.messages:
            content = message.get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result" \
                        and block.get("is_error"):
                    out += list(_texts(block.get("content")))
        return out

    def prompt_text(self) -> str:
        """The system prompt and all message text, as one string."""
        return "\n".join([self.system, *self.texts()])


def _texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for block in content:
            if block.get("type") == "text":
                yield block.get("text", "")
            elif block.get("type") == "tool_result":
                yield from _texts(block.get("content"))


Handler = Callable[[Received], Reply]


# -- reply builders -------------------------------------------------------------------------

def message(content: list[dict[str, Any]], *, stop_reason: str = "end_turn",
            model: str = "claude-sonnet-5-5", input_tokens: int = 100,
            output_tokens: int = 50) -> Reply:
    """A 200 answer in the shape of the API's ``Message``."""
    return Reply(200, {
        "id": f"msg_fake{next(_ids):06d}", "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }, {"request-id": f"req_fake{next(_ids):06d}"})


def tool_use(tool_input: dict[str, Any], *, name: str = "propose_edits", text: str | None = None,
             input_tokens: int = 100, output_tokens: int = 50) -> Reply:
    """An answer that calls ``name`` with ``tool_input`` (after some text, if given)."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content.append({"type": "tool_use", "id": f"toolu_fake{next(_ids):06d}", "name": name,
                    "input": tool_input})
    return message(content, stop_reason="tool_use", input_tokens=input_tokens,
                   output_tokens=output_tokens)


def text_answer(text: str, *, stop_reason: str = "end_turn", input_tokens: int = 100,
                output_tokens: int = 50) -> Reply:
    """An answer in prose only: no tool call."""
    return message([{"type": "text", "text": text}], stop_reason=stop_reason,
                   input_tokens=input_tokens, output_tokens=output_tokens)


def agent_turn(tool: str, tool_input: dict[str, Any], final: str, *, times: int = 1) -> Handler:
    """A handler that answers like a model using a tool: ``tool_use`` of ``tool`` until the
    conversation holds ``times`` tool results, then a final text answer (``final``)."""

    def answer(received: Received) -> Reply:
        results = sum(1 for m in received.messages if isinstance(m.get("content"), list)
                      for b in m["content"] if b.get("type") == "tool_result")
        return tool_use(tool_input, name=tool) if results < times else text_answer(final)

    return answer


def error(status: int, kind: str, text: str, *, headers: dict[str, str] | None = None) -> Reply:
    """An error in the API's shape: ``{"type": "error", "error": {"type", "message"}}``."""
    return Reply(status, {"type": "error", "error": {"type": kind, "message": text},
                          "request_id": f"req_fake{next(_ids):06d}"},
                 {"request-id": f"req_fake{next(_ids):06d}", **(headers or {})})


def rate_limited(retry_after: str = "1") -> Reply:
    return error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute "
                 "rate limit", headers={"retry-after": retry_after})


def overloaded() -> Reply:
    return error(529, "overloaded_error", "Overloaded")


def server_error() -> Reply:
    return error(500, "api_error", "Internal server error")


def unauthorized() -> Reply:
    return error(401, "authentication_error", "invalid x-api-key")


def dropped() -> Reply:
    """No answer: the connection closes as the request arrives (a server killed mid-run)."""
    return Reply(drop=True)


def slow(reply: Reply, seconds: float) -> Reply:
    return Reply(reply.status, reply.body, reply.headers, delay=seconds)


def trickling(reply: Reply, seconds: float = 0.05, *, head: bool = False) -> Reply:
    """``reply``'s body a byte at a time, ``seconds`` apart: no read ever times out. With
    ``head``, the status line and headers trickle too (no answer arrives at all)."""
    return replace(reply, trickle=seconds, trickle_head=head)


# -- malformed 200 answers (a broken proxy, a truncated stream, an API bug) -----------------

def raw_answer(data: bytes, status: int = 200) -> Reply:
    """Bytes sent as the body of a ``content-type: application/json`` answer, unchecked."""
    return Reply(status, None, {"request-id": f"req_fake{next(_ids):06d}"}, raw=data)


def not_json() -> Reply:
    return raw_answer(b"<html><body>502 Bad Gateway</body></html>")


def truncated() -> Reply:
    whole = json.dumps(tool_use({"summary": "S", "rationale": "R", "operations": []}).body).encode()
    return raw_answer(whole[: len(whole) // 2])


def reshaped(change: Callable[[dict[str, Any]], None]) -> Reply:
    """A well-formed tool-use answer with ``change`` applied to its JSON body."""
    reply = tool_use({"summary": "S", "rationale": "R", "operations": [
        {"op": "add_rule", "section": "style", "text": "Be brief.", "reason": "users"}]})
    change(reply.body)
    return reply


def null_content() -> Reply:
    return reshaped(lambda b: b.update(content=None))


def missing_usage() -> Reply:
    return reshaped(lambda b: b.pop("usage"))


def null_usage() -> Reply:
    return reshaped(lambda b: b.update(usage=None))


def negative_usage() -> Reply:
    """Token counts below zero (a broken or hostile proxy): they would reopen a spent budget."""
    return reshaped(lambda b: b.update(usage={"input_tokens": -10**12, "output_tokens": -5,
                                              "cache_read_input_tokens": -7}))


def deeply_nested(depth: int = 100_000) -> Reply:
    """JSON nested deeper than any parser's recursion limit, inside the tool input."""
    head = json.dumps(tool_use({"summary": "S", "rationale": "R", "operations": []}).body)
    marker = '"operations": []'
    assert marker in head
    data = head.replace(marker, '"operations": ' + "[" * depth + "]" * depth)
    return raw_answer(data.encode())


# -- hostile answers: a model that tries to write structure or trailers -------------------------

def hostile(operations: list[dict[str, Any]], *, summary: str = "Tighten the style",
            rationale: str = "Users asked for it.") -> Reply:
    """A tool call a hostile (or injected) model could make; see benchmarks/torture.py."""
    return tool_use({"summary": summary, "rationale": rationale, "operations": operations})


# -- protocol checks the real API makes -----------------------------------------------------

def protocol_problem(headers: dict[str, str], body: Any) -> str | None:
    """Why the real API would refuse this request with a 400, or None."""
    if not headers.get("anthropic-version"):
        return "anthropic-version: header is required"
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    for name, kind in (("model", str), ("max_tokens", int), ("messages", list)):
        if not isinstance(body.get(name), kind):
            return f"{name}: Field required"
    if headers["anthropic-version"] >= SAMPLING_REMOVED:
        for name in ("temperature", "top_p", "top_k"):
            if name in body:
                return f"{name}: Extra inputs are not permitted"
    tools = {t.get("name") for t in body.get("tools", [])}
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool" and choice.get("name") not in tools:
        return f"tool_choice.name: no tool named {choice.get('name')!r} in tools"
    messages = body["messages"]
    if not messages or messages[0].get("role") != "user":
        return "messages: the first message must use the user role"
    pending: set[str] = set()
    for i, msg in enumerate(messages):
        content = msg.get("content")
        if content in ("", []) or content is None:
            return f"messages.{i}: content must be non-empty"
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        results = {str(b.get("tool_use_id")) for b in blocks if b.get("type") == "tool_result"}
        if msg.get("role") == "user":
            if pending - results:
                return (f"messages.{i}: tool_use ids were found without tool_result blocks "
                        f"immediately after: {', '.join(sorted(pending - results))}")
            if results - pending:
                return f"messages.{i}: unexpected tool_use_id in tool_result blocks"
            pending = set()
        else:
            if pending:
                return f"messages.{i}: tool_use blocks must be answered before the next turn"
            pending = {str(b.get("id")) for b in blocks if b.get("type") == "tool_use"}
    return None


# -- prompt caching -------------------------------------------------------------------------

def cached_prefix(body: Any) -> str | None:
    """The text of the prefix a request marks for the cache (up to its last ``cache_control``
    block, in the API's order: tools, system, messages), or None when it marks none."""
    if not isinstance(body, dict):
        return None
    parts: list[str] = []
    end = None
    system = body.get("system")
    blocks: list[Any] = [*body.get("tools", []),
                         *(system if isinstance(system, list) else [system] if system else [])]
    for message in body.get("messages", []):
        content = message.get("content")
        blocks += content if isinstance(content, list) else [content]
    for block in blocks:
        parts.append(json.dumps(block, sort_keys=True))
        if isinstance(block, dict) and block.get("cache_control"):
            end = len(parts)
    return None if end is None else "\n".join(parts[:end])


# -- the server -----------------------------------------------------------------------------

class FakeAnthropicServer:
    """The Messages API on 127.0.0.1, scripted; see the module docstring."""

    def __init__(self, *, api_key: str | None = DEFAULT_KEY) -> None:
        self.api_key = api_key  # None: any key is accepted
        self.cache_min_tokens = 1024  # the shortest prefix the API caches (Sonnet and Opus)
        self._cache: set[str] = set()
        self.requests: list[Received] = []
        self.handler: Handler | None = None
        self._killed_after: int | None = None  # requests answered before it "dies"
        self._queue: deque[Reply | Handler] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # scripting
    def script(self, *replies: Reply | Handler) -> None:
        """Queue answers, one per request, in order; then :attr:`handler` answers."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "the server is not running"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def kill_after(self, answered: int) -> None:
        """Answer the first ``answered`` requests as scripted, then none: every later one finds
        its connection closed, as a server killed mid-run leaves it."""
        with self._lock:
            self._killed_after = len(self.requests) + answered

    @property
    def unanswered(self) -> int:
        with self._lock:
            return len(self._queue)

    def _answer(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            nth = len(self.requests)
            if self._killed_after is not None and nth > self._killed_after:
                return dropped()
            scripted = self._queue.popleft() if self._queue else self.handler
        if received.rejected is not None:
            return error(400, "invalid_request_error", received.rejected)
        if scripted is None:
            return error(400, "invalid_request_error",
                         f"fake server: no reply scripted for request #{nth}")
        return self._cached(received, scripted(received) if callable(scripted) else scripted)

    def _cached(self, received: Received, reply: Reply) -> Reply:
        """``reply`` with the usage the prompt cache gives it (see the module docstring)."""
        prefix = cached_prefix(received.body)
        usage = reply.body.get("usage") if isinstance(reply.body, dict) else None
        if reply.status != 200 or prefix is None or not isinstance(usage, dict) \
                or len(prefix) // 4 < self.cache_min_tokens:
            return reply
        key = hashlib.sha256(f"{received.body.get('model')}\0{prefix}".encode()).hexdigest()
        with self._lock:
            seen = key in self._cache
            self._cache.add(key)
        body = copy.deepcopy(reply.body)
        body["usage"].update({"cache_creation_input_tokens": 0 if seen else len(prefix) // 4,
                              "cache_read_input_tokens": len(prefix) // 4 if seen else 0})
        return replace(reply, body=body)

    # lifecycle
    def start(self) -> FakeAnthropicServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = MAX_DELAY  # an idle keep-alive connection ends after this

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # NOTE: headers and body go out in two writes; without this, Nagle's algorithm
                # and the client's delayed ACK hold every answer ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                raw = self.rfile.read(int(headers.get("content-length", "0") or 0))
                try:
                    body: Any = json.loads(raw or b"null")
                except ValueError:
                    body = None
                received = Received("POST", self.path, headers, body)
                key = received.api_key
                if self.path.split("?")[0] != "/v1/messages":
                    refusal = error(404, "not_found_error", f"Not found: {self.path}")
                elif key is None or (server.api_key is not None and key != server.api_key):
                    refusal = unauthorized()
                else:
                    received.rejected = protocol_problem(headers, body)
                    self._send(server._answer(received))
                    return
                with server._lock:
                    server.requests.append(received)
                self._send(refusal)

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    server._stop.wait(min(reply.delay, MAX_DELAY))
                if reply.drop:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                if reply.trickle_head:
                    head = [f"HTTP/1.1 {reply.status} {self.responses[reply.status][0]}",
                            "content-type: application/json", f"content-length: {len(data)}",
                            *(f"{name}: {value}" for name, value in reply.headers.items())]
                    self._trickle(("\r\n".join(head) + "\r\n\r\n").encode() + data, reply.trickle)
                    return
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if not reply.trickle:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up waiting (a timeout test): nothing to tell it
                if reply.trickle:
                    self._trickle(data, reply.trickle)

            def _trickle(self, data: bytes, seconds: float) -> None:
                """``data`` a byte at a time, until the client hangs up or the server stops."""
                try:
                    for n in range(len(data)):
                        self.wfile.write(data[n:n + 1])
                        self.wfile.flush()
                        if server._stop.wait(seconds):
                            break
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up: the deadline test's point

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=MAX_DELAY)

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# -- evaluations: the agent's replay and the judge, from one handler ------------------------

VERDICT_TOOL = "record_verdict"
_ANSWER = re.compile(r'<answer id="([AB])">(.*?)</answer>', re.S)


def is_judge(received: Received) -> bool:
    """A judge request offers the verdict tool; a replay offers no tool at all."""
    return any(t.get("name") == VERDICT_TOOL for t in received.tools)


def judged_answers(received: Received) -> dict[str, str]:
    """The answers a judge request shows, by position: ``{"A": ..., "B": ...}`` (escaped)."""
    return {m.group(1): m.group(2) for m in _ANSWER.finditer("\n".join(received.texts("user")))}


def verdict(preferred: str, reason: str = "one is clearly better", **extra: Any) -> Reply:
    """A judge's answer: a call of the verdict tool."""
    return tool_use({"preferred": preferred, "reason": reason, **extra}, name=VERDICT_TOOL)


def evaluation_handler(replay: Callable[[Received], Reply | str],
                       judge: Callable[[Received], Reply | str]) -> Handler:
    """Answers replays with ``replay(request)`` and judgements with ``judge(request)``; a string
    is a text answer (replay) or the preferred position, ``A``, ``B`` or ``same`` (judge)."""

    def handle(received: Received) -> Reply:
        if is_judge(received):
            got = judge(received)
            return verdict(got) if isinstance(got, str) else got
        got = replay(received)
        return text_answer(got) if isinstance(got, str) else got

    return handle


def prefers(marker: str, otherwise: str = "same") -> Callable[[Received], str]:
    """A fair judge: the position whose answer contains ``marker``, else ``otherwise``."""

    def judge(received: Received) -> str:
        answers = judged_answers(received)
        hits = [pos for pos, text in sorted(answers.items()) if marker in text]
        return hits[0] if len(hits) == 1 else otherwise

    return judge
