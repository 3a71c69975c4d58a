"""The one door to the Anthropic Messages API: a client, retries with backoff, clear errors.

The proposer and the evaluation both call the API through :class:`MessagesAPI`. It builds the
real SDK client (``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` unless given), retries rate
limits, overload and server errors (429, 529, 5xx, and whatever the server marks
``x-should-retry: true``) with exponential backoff or the server's ``retry-after``, and turns
every failure into the caller's :class:`~gitimprove.errors.GitImproveError` subclass with a
hint that names the caller's own settings. The key never appears in a message.

Every request is bounded twice: each read by ``timeout`` (the SDK's, per read), and all the
model work of one :class:`MessagesAPI` (one command's calls, their retries and the waits
between them) by a wall-clock :class:`Deadline`. A per-read timeout alone lets a server that
sends a byte at a time, or answers 529 with ``retry-after`` for ever, hold a command without
end; the deadline clamps every timeout of a request to the time left, shuts down the
connection when it passes while an answer is still arriving (a byte at a time or not at all),
and gives up on a retry it could not wait for.

A wait is never silent: after :data:`NOTICE_AFTER` seconds a request's wait is reported to
:func:`gitimprove.progress.progress` each second (which request of how many, how long so far,
how long at most), and each retry as a note that says why and for how long it waits.

Every answered request is metered by model (:class:`Tokens`), and :class:`Bill` prices what
a command's requests used: one piece of code for every command that shows a dollar figure,
prompt-cache writes and reads counted at their price, and no figure for a model whose price
is not known.
"""

from __future__ import annotations

import email.utils
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any

import anthropic
import httpx2
from anthropic.types import Message, TextBlock, ToolUseBlock

from gitimprove.dataclass import dataclass
from gitimprove.errors import GitImproveError
from gitimprove.progress import progress
from gitimprove.text import shorten, spent, usd

# Statuses worth another try: rate limit, request timeout, conflict, and every server error
# (500, 502, 503, 504, and 529 "overloaded").
RETRYABLE_STATUS = frozenset({408, 409, 429})
KEY_URL = "https://console.anthropic.com/settings/keys"
# Prompt caching: a block marked so ends a prefix the API keeps for 5 minutes. Writing it costs
# 1.25 times the input price, reading it back a tenth (the Anthropic docs' "prompt caching").
CACHED: dict[str, str] = {"type": "ephemeral"}
CACHE_WRITE_RATE = 1.25
CACHE_READ_RATE = 0.1
# Seconds a request may take before the wait is reported (an ordinary answer takes a few).
NOTICE_AFTER = 2.0
# USD per million input and output tokens, by model family (the Anthropic price list), for a
# model whose price the policy does not set. A model of no known family has no price: its cost
# is said to be unknown, never guessed.
FAMILY_PRICES = {"haiku": (1.0, 5.0), "sonnet": (3.0, 15.0), "opus": (5.0, 25.0)}


@dataclass(frozen=True)
class Tokens:
    """The tokens of answered requests, as the API bills them."""

    input: int = 0  # every input token, those written to or read from the cache included
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    requests: int = 0

    @classmethod
    def of(cls, message: Message) -> Tokens:
        u = message.usage
        write, read = u.cache_creation_input_tokens or 0, u.cache_read_input_tokens or 0
        return cls(u.input_tokens + write + read, u.output_tokens, write, read, 1)

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(self.input + other.input, self.output + other.output,
                      self.cache_write + other.cache_write, self.cache_read + other.cache_read,
                      self.requests + other.requests)

    @property
    def weighted(self) -> float:
        """Input and output tokens, cache writes and reads counted at their price (a budget
        in tokens is spent as the bill is)."""
        plain = self.input - self.cache_write - self.cache_read
        return (plain + CACHE_WRITE_RATE * self.cache_write + CACHE_READ_RATE * self.cache_read
                + self.output)

    def cost(self, usd_in: float, usd_out: float) -> float:
        """USD at these prices per million input and output tokens."""
        plain = self.input - self.cache_write - self.cache_read
        return (usd_in * (plain + CACHE_WRITE_RATE * self.cache_write
                          + CACHE_READ_RATE * self.cache_read) + usd_out * self.output) / 1e6

    def saved(self, usd_in: float) -> float:
        """USD the cache saved against the same requests without it (below 0: it cost)."""
        return usd_in * ((1 - CACHE_READ_RATE) * self.cache_read
                         - (CACHE_WRITE_RATE - 1) * self.cache_write) / 1e6


Price = tuple[float, float]  # USD per million input and output tokens


def price(model: str, given: Price | None = None) -> Price | None:
    """``given`` (a price the policy sets), else the price of the model's family, else None."""
    if given is not None:
        return given
    return next((p for family, p in FAMILY_PRICES.items() if f"-{family}-" in f"-{model}-"), None)


@dataclass(frozen=True)
class Bill:
    """What a command's model calls cost: their tokens, and USD where every model's price is
    known (``cost_usd`` None otherwise, with the models of unknown price in ``unpriced``)."""

    tokens: Tokens
    cost_usd: float | None
    saved_usd: float | None  # what the prompt cache saved (below 0: what it cost)
    unpriced: tuple[str, ...] = ()

    @classmethod
    def of(cls, by_model: Mapping[str, Tokens],
           rate: Callable[[str], Price | None] = price) -> Bill:
        """The bill of ``by_model`` at ``rate(model)`` (by default the family price)."""
        cost = saved = 0.0
        unpriced = []
        for model, tokens in by_model.items():
            known = rate(model)
            if known is None:
                unpriced.append(model)
                continue
            cost += tokens.cost(*known)
            saved += tokens.saved(known[0])
        return cls(sum(by_model.values(), Tokens()),
                   None if unpriced else round(cost, 4), None if unpriced else round(saved, 4),
                   tuple(unpriced))

    def __add__(self, other: Bill) -> Bill:
        """Two bills as one (a command whose steps each pay: the demo); its cost is unknown
        if either's is."""
        unpriced = tuple(dict.fromkeys(self.unpriced + other.unpriced))
        known = not unpriced and self.cost_usd is not None and other.cost_usd is not None

        def total(a: float | None, b: float | None) -> float | None:
            return round((a or 0.0) + (b or 0.0), 4) if known else None

        return Bill(self.tokens + other.tokens, total(self.cost_usd, other.cost_usd),
                    total(self.saved_usd, other.saved_usd), unpriced)

    def said(self) -> str:
        """``2 requests, 6,138 input and 800 output tokens, about $0.03`` (or ``..., cost
        unknown: no price known for MODEL``: it reads the same inside parentheses)."""
        t = self.tokens
        tokens = spent(t.requests, t.input, t.output, cache_read=t.cache_read,
                       cache_write=t.cache_write)
        if self.cost_usd is None:
            return f"{tokens}, cost unknown: no price known for {', '.join(self.unpriced)}"
        return f"{tokens}, {usd(self.cost_usd, 'about ')}"

    def to_json(self) -> dict[str, Any]:
        t = self.tokens
        return {"requests": t.requests, "input_tokens": t.input, "output_tokens": t.output,
                "cache_write_tokens": t.cache_write, "cache_read_tokens": t.cache_read,
                "cost_usd": self.cost_usd}


@dataclass(frozen=True)
class Hints:
    """What to tell the user, in the caller's own terms (its settings and its fallback)."""

    key: str  # how to set a key (or do without one)
    fallback: str  # "or use --proposer heuristic"
    timeout_setting: str  # "proposer.timeout_seconds"
    model_setting: str  # "proposer.model"
    deadline_setting: str  # "proposer.deadline_seconds"


class Deadline:
    """A wall-clock budget for the model work of one command, from its first request on.

    ``seconds=None``: no deadline (only the per-read timeout)."""

    def __init__(self, seconds: float | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._start: float | None = None

    def start(self) -> None:
        if self._start is None:
            self._start = self._clock()

    def spent(self) -> float:
        """Seconds since the first request (0 before it)."""
        return 0.0 if self._start is None else self._clock() - self._start

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a deadline."""
        if self.seconds is None:
            return None
        return max(0.0, self.seconds - self.spent())

    @property
    def passed(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def clamp(self, timeout: float | None) -> float | None:
        """``timeout``, or the time left if that is shorter."""
        left = self.remaining()
        if left is None:
            return timeout
        return left if timeout is None else min(timeout, left)


class _Watchdog:
    """The sockets of one client's connections, shut down when the deadline passes during a
    request: a read blocked on them ends at once, whatever the server sends and however slowly
    (its status line and headers a byte at a time included, which no per-read timeout and no
    check between chunks of the body would end). httpcore's ``trace`` request extension names
    each connection's stream as it is opened, and its socket as TLS wraps it."""

    OPENED = ("connection.connect_tcp.complete", "connection.start_tls.complete")

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.fired = False

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event in self.OPENED:
            sock = info["return_value"].get_extra_info("socket")
            if isinstance(sock, socket.socket):
                with self._lock:  # those of connections ended since are dropped
                    self._sockets = [s for s in self._sockets if s.fileno() != -1] + [sock]

    def cut(self) -> None:
        with self._lock:
            self.fired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            # NOTE: a socket closed already (its connection ended) has nothing to cut
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @contextmanager
    def watching(self, seconds: float | None) -> Iterator[None]:
        """Cut the connections if the block runs longer than ``seconds`` (None: never)."""
        if seconds is None:
            yield
            return
        timer = threading.Timer(seconds, self.cut)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()


@contextmanager
def _reported(describe: Callable[[], str], after: float, shown: threading.Event,
              every: float = 1.0) -> Iterator[None]:
    """Report ``describe()`` as the wait's status after ``after`` seconds, then every
    ``every``, and set ``shown``; clear it when the block ends (Ctrl-C and errors included)."""
    done = threading.Event()

    def tick() -> None:
        if done.wait(after):
            return
        while True:
            progress().waiting(describe())
            shown.set()
            if done.wait(every):
                return

    ticker = threading.Thread(target=tick, name="gitimprove-wait", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        if shown.is_set():
            progress().waiting("")  # NOTE: a command's next request shows it again at once


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait (``retry-after-ms``, ``retry-after``), if it says."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue  # NOTE: a header we cannot read means "not said", never a crash
        return max(0.0, when.timestamp() - time.time())
    return None


class MessagesAPI:
    """``messages.create`` with retries; errors become ``error(...)`` with ``hints``."""

    def __init__(self, *, model: str, timeout: float, error: type[GitImproveError], hints: Hints,
                 api_key: str | None = None, base_url: str | None = None, max_retries: int = 4,
                 backoff_base: float = 1.0, backoff_max: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep,
                 deadline: float | None = None) -> None:
        """``deadline``: seconds for all the calls made through this object, retries and
        waits included, counted from the first (None: no limit but the per-read timeout)."""
        self.model = model
        self.timeout = timeout
        self.deadline = Deadline(deadline)
        self._clamped = False  # the last request's timeouts were the deadline's, not timeout's
        self._requests = 0  # requests made (a retry is the same request): the status names them
        self._expected: int | None = None  # requests the caller will have made in all
        self._bound = False  # ... or at most (a repair round may or may not be needed)
        self.used: dict[str, Tokens] = {}  # the tokens of the answered requests, by model
        self._slow = threading.Event()  # a wait was reported: the next ones are, from the start
        self._watchdog = _Watchdog()
        self.error = error
        self.hints = hints
        self._api_key = api_key
        self._base_url = base_url
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep

    def __repr__(self) -> str:
        # NOTE: never the key.
        return f"MessagesAPI(model={self.model!r}, base_url={self._base_url!r})"

    def expect(self, more: int | None) -> None:
        """The caller will make exactly ``more`` requests after those made so far (their
        retries not counted): the wait's status then says "request 3 of 8". None: not known."""
        self._expected = None if more is None else self._requests + more
        self._bound = False

    def at_most(self, more: int) -> None:
        """The caller will make no more than ``more`` requests after those made so far (a draft
        and perhaps a repair round an agent; two replays and perhaps a judgement a run): "request
        3 of at most 8", the last possible one "8 of 8", a retry "attempt 2". Called before each
        unit of work with what is left, the bound is set by the first call and only falls while
        its requests last (a status whose total grew would be a promise broken); once they are
        made, a call starts a new bound."""
        bound = self._requests + more
        if self._bound and self._expected is not None and self._requests < self._expected:
            bound = min(bound, self._expected)
        self._expected, self._bound = bound, True

    def bill(self, rate: Callable[[str], Price | None] = price) -> Bill:
        """What the answered requests made through this object cost (see :class:`Bill`)."""
        return Bill.of(self.used, rate)

    def client(self) -> anthropic.Anthropic:
        try:
            http = anthropic.DefaultHttpxClient(event_hooks={"request": [self._bound_request]})
            return anthropic.Anthropic(api_key=self._api_key, base_url=self._base_url,
                                       timeout=self.timeout, max_retries=0, http_client=http)
        except anthropic.AnthropicError as exc:
            raise self.error(f"cannot set up the Anthropic client: {self.redact(str(exc))}",
                             hint=self.hints.key) from None

    def _bound_request(self, request: httpx2.Request) -> None:
        """Every timeout of the request (connect, write, each read) at most the time left."""
        if self.deadline.seconds is None:
            return
        if self.deadline.passed:
            raise httpx2.ConnectTimeout("the deadline has passed", request=request)
        request.extensions["trace"] = self._watchdog.trace
        given = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {
            name: self.deadline.clamp(given.get(name))
            for name in ("connect", "read", "write", "pool")}
        left = self.deadline.remaining()
        self._clamped = left is not None and left < self.timeout

    def deadline_error(self, detail: str) -> GitImproveError:
        """The model work took longer than the deadline (or would, waiting for a retry)."""
        return self.error(
            f"the model calls did not finish within {self.hints.deadline_setting} "
            f"({self.deadline.seconds:g} seconds); {detail}",
            hint=f"try again later, or raise {self.hints.deadline_setting} in gitimprove.yaml, "
                 f"{self.hints.fallback}")

    def redact(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]") if self._api_key else text

    def create(self, client: anthropic.Anthropic, *, model: str | None = None,
               **params: Any) -> Message:
        """One Messages API call, retried with backoff on rate limits, overload and 5xx."""
        model = model or self.model
        attempt = 0
        self.deadline.start()
        self._requests += 1
        while True:
            if self.deadline.passed:
                raise self.deadline_error("no time was left for another request")
            try:
                with self._watchdog.watching(self.deadline.remaining()), \
                        _reported(partial(self._waiting_for, model, attempt, time.monotonic()),
                                  0.0 if self._slow.is_set() else NOTICE_AFTER, self._slow):
                    message: Message = client.messages.create(model=model, **params)
                answer = _well_formed(message)
                self.used[model] = self.used.get(model, Tokens()) + Tokens.of(answer)
                return answer
            except (ValueError, RecursionError, anthropic.APIResponseValidationError) as exc:
                # NOTE: the SDK parses a 200 answer lazily and without validation: a body that is
                # not JSON, cut short, or of the wrong shape surfaces here, or not at all.
                raise self.error(
                    f"the Anthropic API at {client.base_url} sent a malformed answer "
                    f"({self.redact(_malformed(exc))[:200]})",
                    hint="try again later; if it persists, check ANTHROPIC_BASE_URL and any proxy "
                         "in between") from None
            except anthropic.APITimeoutError:
                # NOTE: a timeout that was the deadline's fires when it passes, give or take
                # the clock's grain: the flag, not only the clock, says whose it was.
                if self.deadline.passed or self._clamped:
                    raise self.deadline_error("an answer was still awaited") from None
                raise self.error(
                    f"the Anthropic API did not answer within {self.timeout:g} seconds",
                    hint=f"try again later, or raise {self.hints.timeout_setting} in gitimprove.yaml"
                ) from None
            except anthropic.APIConnectionError as exc:
                if self._watchdog.fired or self.deadline.passed:
                    raise self.deadline_error("an answer was still awaited") from None
                if attempt < self.max_retries:
                    self._wait(self.delay(attempt, None), attempt,
                               "the Anthropic API could not be reached")
                    attempt += 1
                    continue
                raise self.error(
                    f"cannot reach the Anthropic API at {client.base_url} after {attempt + 1} "
                    f"attempts: {self.redact(str(exc.__cause__ or exc))}",
                    hint="check the network, or ANTHROPIC_BASE_URL if you set it") from None
            except anthropic.APIStatusError as exc:
                if self.retryable(exc) and attempt < self.max_retries:
                    self._wait(self.delay(attempt, retry_after(exc.response.headers)), attempt,
                               f"the Anthropic API {_said(exc)}")
                    attempt += 1
                    continue
                raise self.status_error(exc, attempt + 1, model) from None
            except TypeError as exc:
                # NOTE: the SDK raises TypeError when it finds no credentials at all.
                if "authentication" not in str(exc):
                    raise
                raise self.error("no Anthropic API key is configured", hint=self.hints.key) from None

    def _waiting_for(self, model: str, attempt: int, sent: float) -> str:
        """The status of a request awaited: which (of how many), since when (this attempt),
        and how long at most (all the command's model work)."""
        left = self.deadline.remaining()
        most = f"at most {_duration(left)} more" if left is not None else \
            f"each read up to {_duration(self.timeout)}"
        n, of = self._requests, self._expected
        which = []
        if of is not None and of > 1 and n <= of:
            which.append(f"request {n} of {'at most ' if self._bound and n < of else ''}{of}")
        elif n > 1:
            which.append(f"request {n}")
        if attempt:
            which.append(f"attempt {attempt + 1}")
        nth = f" ({', '.join(which)})" if which else ""
        return f"waiting for {model}{nth}: {_duration(time.monotonic() - sent)}, {most}"

    def _wait(self, seconds: float, attempt: int, why: str) -> None:
        """Sleep before a retry, unless the deadline would pass first: then stop now."""
        left = self.deadline.remaining()
        if left is not None and seconds >= left:
            raise self.deadline_error(f"{why} and a retry would wait {seconds:.0f} s more, "
                                      f"past it")
        when = f" in {seconds:.0f} s" if round(seconds) >= 1 else ""
        progress().note(f"{why}; retrying{when} (attempt {attempt + 2} of {self.max_retries + 1})")
        self._sleep(seconds)

    @staticmethod
    def retryable(exc: anthropic.APIStatusError) -> bool:
        should = exc.response.headers.get("x-should-retry")
        if should in ("true", "false"):
            return should == "true"
        return exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        backoff = min(self.backoff_base * 2.0 ** attempt, self.backoff_max)
        return backoff * (1 - 0.25 * random.random())

    def status_error(self, exc: anthropic.APIStatusError, attempts: int,
                     model: str) -> GitImproveError:
        status = exc.status_code
        kind = exc.type or _error_field(exc.body, "type") or "error"
        detail = self.redact(exc.api_message or _error_field(exc.body, "message") or "")
        said = f"{status} {kind}" + (f": {detail}" if detail else "")
        ref = f" (request id {exc.request_id})" if exc.request_id else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        hints, error = self.hints, self.error
        if status == 401:
            return error(f"the Anthropic API refused the API key ({said}){ref}", hint=hints.key)
        if status == 403:
            return error(f"the API key may not use {model} ({said}){ref}",
                         hint="check the key's workspace and permissions, or choose "
                              f"another {hints.model_setting} in gitimprove.yaml")
        if status == 404:
            return error(f"the Anthropic API does not know the model {model!r} ({said}){ref}",
                         hint=f"set {hints.model_setting} in gitimprove.yaml to a current model")
        if status == 429:
            return error(f"the Anthropic API kept rate-limiting the requests{tries} ({said}){ref}",
                         hint=f"wait a minute and try again, {hints.fallback}")
        if status == 529:
            return error(f"the Anthropic API is overloaded{tries} ({said}){ref}",
                         hint=f"try again later, {hints.fallback}")
        if status >= 500:
            return error(f"the Anthropic API failed with a server error{tries} ({said}){ref}",
                         hint=f"try again later, {hints.fallback}")
        return error(f"the Anthropic API refused the request ({said}){ref}",
                     hint="the API's message above says why; if it names a request "
                          "field, please report it as a gitimprove bug")


def _duration(seconds: float) -> str:
    """``42 s``; from two minutes on, ``58 min`` (not ``3478 s``)."""
    return f"{seconds:.0f} s" if seconds < 119.5 else f"{seconds / 60:.0f} min"


def _said(exc: anthropic.APIStatusError) -> str:
    """What a refusal worth a retry says, in a few words: "is overloaded (529)"."""
    status = exc.status_code
    if status == 429:
        return "is rate-limiting the requests (429)"
    if status == 529:
        return "is overloaded (529)"
    return f"answered {status}" + (f" {exc.type[:40]}" if exc.type else "")


def _malformed(exc: Exception) -> str:
    """What is wrong with an answer, in a user's words (not a parser's "Expecting value: line 1
    column 1 (char 0)"): a proxy's error page is quoted (escaped, for the terminal)."""
    if isinstance(exc, RecursionError):
        return "answer nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        body = exc.doc.strip()
        if not body:
            return "an empty body"
        if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated"):
            return "its JSON is cut short"
        if exc.pos == 0 or not body.startswith(("{", "[")):
            return f"not JSON; it begins {shorten(body, 60)!r}"
        return f"not valid JSON at character {exc.pos + 1}"
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _error_field(body: object, name: str) -> str | None:
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get(name), str):
            return str(err[name])
    return None


def _well_formed(message: object) -> Message:
    """The answer, if it has the shape of a ``Message``; else ValueError naming what is wrong."""
    if not isinstance(message, Message):
        raise ValueError(f"expected a message object, got {type(message).__name__}")
    if not isinstance(message.content, list):
        raise ValueError("its content is not a list of blocks")
    for block in message.content:
        if not isinstance(block, (TextBlock, ToolUseBlock)) and not hasattr(block, "type"):
            raise ValueError("a content block has no type")
        if isinstance(block, ToolUseBlock) and not isinstance(block.input, dict):
            raise ValueError("a tool call's input is not an object")
    u = getattr(message, "usage", None)
    if u is None or not isinstance(u.input_tokens, int) or not isinstance(u.output_tokens, int):
        raise ValueError("its usage is missing")
    # NOTE: counts feed the cost caps and the usage trailers: a negative one would reopen a
    # spent budget and write a record the ledger then refuses as malformed.
    counts = [u.input_tokens, u.output_tokens, getattr(u, "cache_creation_input_tokens", None),
              getattr(u, "cache_read_input_tokens", None)]
    if any(c is not None and (not isinstance(c, int) or isinstance(c, bool) or c < 0)
           for c in counts):
        raise ValueError("its usage holds a count that is not a whole number of tokens >= 0")
    return message
