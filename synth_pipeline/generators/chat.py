"""Rows from a language model behind an OpenAI-compatible chat-completions endpoint (``openai_chat``, extra ``llm``).

Works with OpenAI itself and with local servers that speak the same API (vLLM, llama.cpp's
server, Ollama, LM Studio ...). :meth:`ChatGenerator.fit` learns nothing but the table: its
columns and dtypes (:class:`~synth_pipeline.generators.chat_rows.RowSchema`), the label
classes and their frequencies, and it keeps the fit input for examples.
:meth:`ChatGenerator.sample` asks for rows in batches of ``rows_per_request``, class by
class in proportion to the fitted class frequencies, each answer a JSON array of objects
with exactly the table's columns. Answers are read strictly: an answer that is not such an
array, and each object with other keys, a value of the wrong type, an invented category or
another label, is dropped and counted; it asks again until it has the rows or has sent
``max_requests`` requests (then :class:`~synth_pipeline.errors.GeneratedDataError` with the
counts). Failed HTTP requests are retried by the ``openai`` client itself (``max_retries``).

PRIVACY: with ``examples_per_request`` > 0 (default 5) every request SENDS REAL ROWS of the
fit input to the endpoint, as few-shot examples: to a hosted API that is a data transfer
to a third party, and the model may copy them back (the pipeline's privacy checks judge
the rows it returns). ``examples_per_request: 0`` sends no real row; column names, types,
category values, label classes and the median word count of text columns are always sent.
``info().extra["real_rows_sent"]`` counts the real rows sent.

Configuration (``synthesizer.params``, with environment fallbacks):

- ``base_url``: the API root, e.g. ``http://127.0.0.1:8000/v1``; else ``$SYNTH_PIPELINE_LLM_BASE_URL``,
  else ``$OPENAI_BASE_URL`` (required: nothing is sent anywhere by default);
- ``model``: else ``$SYNTH_PIPELINE_LLM_MODEL`` (required);
- ``api_key_env``: the NAME of the environment variable holding the key (default
  ``OPENAI_API_KEY``). The key is read when sampling and never recorded or logged; when the
  default variable is unset a placeholder is sent (local servers need no key); a variable
  named explicitly must be set;
- ``temperature`` (default: the server's), ``rows_per_request`` (10), ``examples_per_request``
  (5), ``max_requests`` (default: twice the requests the rows need, plus 2), ``timeout_s`` (60),
  ``max_retries`` (2), ``system_prompt`` (replaces the default), ``instructions`` (added to
  every request, e.g. what the table is about).

Each request carries a ``seed`` (the sample's seed plus the request's number): servers that
honour it answer the same prompt the same way.

Example spec (YAML)::

    synthesizer:
      method: openai_chat
      params: {base_url: "http://127.0.0.1:8000/v1", model: qwen2.5-7b-instruct, examples_per_request: 0,
               instructions: "Rows are support tickets of a software company."}
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from synth_pipeline.errors import GeneratedDataError, GeneratorSpecError
from synth_pipeline.generators.chat_rows import RowSchema, chat_messages, json_ready, parse_answer
from synth_pipeline.generators.dtypes import empty_like, restore_dtypes
from synth_pipeline.generators.extras import require_extra
from synth_pipeline.generators.protocol import GeneratorInfo
from synth_pipeline.generators.text_columns import text_columns_of

METHOD = "openai_chat"
EXTRA = "llm"
BASE_URL_ENV = ("SYNTH_PIPELINE_LLM_BASE_URL", "OPENAI_BASE_URL")
MODEL_ENV = "SYNTH_PIPELINE_LLM_MODEL"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
PLACEHOLDER_KEY = "no-key"
"""Sent when the default key variable is unset: the ``openai`` client needs some key; local servers ignore it."""

_PURPOSE = "the openai_chat generator (synthesizer.method)"
FUTILE_REQUESTS = 5
"""Requests without a single valid row after which sampling stops: the model does not follow the row format
(a new user's prose-only model used up all 128 allowed requests before)."""
_PARAMS = ("base_url", "model", "api_key_env", "temperature", "rows_per_request", "examples_per_request",
           "max_requests", "timeout_s", "max_retries", "system_prompt", "instructions")


class ChatGenerator:
    """Rows from an OpenAI-compatible chat-completions endpoint (see the module docs).

    Args:
        base_url: The API root (``.../v1``).
        model: The model name the endpoint serves.
        api_key_env: Name of the environment variable holding the key.
        key_env_explicit: Whether ``api_key_env`` was given (then it must be set).
        temperature: Sampling temperature, or None for the server's default.
        rows_per_request: Rows asked for per request (1 to 200).
        examples_per_request: Real rows sent per request as examples (0 to 100; 0: none).
        max_requests: Most requests one :meth:`sample` sends, or None for the default.
        timeout_s: Seconds one HTTP request may take.
        max_retries: Retries of a failed HTTP request (the ``openai`` client's).
        system_prompt: Replaces the default system message.
        instructions: Added to every request.
        log: Where to report progress (a Dagster or stdlib logger).

    Attributes:
        text_columns: The free-text columns, set by the pipeline (its resolved list); None: detect them.
        open_columns: Categorical columns that may take new values (else such rows are rejected).
        label_is_class: False for a regression label (rows are not asked for per class).
    """

    def __init__(self, *, base_url: str, model: str, api_key_env: str = DEFAULT_KEY_ENV,
                 key_env_explicit: bool = False, temperature: float | None = None, rows_per_request: int = 10,
                 examples_per_request: int = 5, max_requests: int | None = None, timeout_s: float = 60.0,
                 max_retries: int = 2, system_prompt: str | None = None, instructions: str | None = None,
                 log: logging.Logger | Any | None = None) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key_env = api_key_env
        self.key_env_explicit = key_env_explicit
        self.temperature = temperature
        self.rows_per_request = rows_per_request
        self.examples_per_request = examples_per_request
        self.max_requests = max_requests
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.system_prompt = system_prompt
        self.instructions = instructions
        self.log = log
        self.text_columns: tuple[str, ...] | None = None
        self.open_columns: tuple[str, ...] = ()
        self.label_is_class = True
        self._frame: pd.DataFrame | None = None
        self._schema: RowSchema | None = None
        self._classes: list[tuple[Any, float, np.ndarray]] = []
        self._figures: dict[str, Any] = {}

    def fit(self, frame: pd.DataFrame, *, label_column: str, seed: int) -> None:
        """Learn the table's columns and label classes; keep ``frame`` for examples.

        Raises:
            MissingExtraError: The ``openai`` package is not installed (extra ``llm``).
            GeneratorSpecError: The fit input has no rows or no label column; a named text
                column is not a string column of it; ``api_key_env`` names an unset variable.
        """
        require_extra("openai", extra=EXTRA, purpose=_PURPOSE)
        self._api_key()
        if label_column not in frame.columns or not len(frame):
            raise GeneratorSpecError(f"{METHOD}: the fit input has no rows or no label column {label_column!r}")
        texts = text_columns_of(frame, label_column=label_column, declared=self.text_columns, generator=METHOD)
        self._schema = RowSchema(frame, label_column=label_column, text_columns=texts, open_columns=self.open_columns)
        if self.label_is_class:
            codes, uniques = pd.factorize(frame[label_column], use_na_sentinel=False)
            self._classes = [(_plain(uniques[i]), float(np.mean(codes == i)), np.flatnonzero(codes == i))
                             for i in range(len(uniques))]
        else:
            self._classes = [(None, 1.0, np.arange(len(frame)))]
        self._frame = frame
        self._figures = {"text_columns": texts, "fitted_rows": len(frame)}
        if self.log:
            sent = (f"each request sends {self.examples_per_request} real rows as examples (examples_per_request)"
                    if self.examples_per_request else "no real row is sent (examples_per_request: 0)")
            self.log.info(f"{METHOD}: model {self.model} at {_host(self.base_url)}, {len(self._classes)} class(es), "
                          f"text columns {texts}; {sent}")

    def sample(self, num_rows: int, *, seed: int) -> pd.DataFrame:
        """``num_rows`` rows from the model, per class in proportion to the fitted class frequencies.

        Args:
            num_rows: Rows to make (>= 0).
            seed: Seeds the choice of examples and the requests' ``seed``.

        Returns:
            The rows, shuffled with ``seed``, with the fitted frame's columns (in order) and dtypes.

        Raises:
            GeneratorSpecError: :meth:`fit` was not called first; the endpoint refused the key
                (HTTP 401/403) or does not know the model or path (404).
            GeneratedDataError: ``max_requests`` were sent before ``num_rows`` valid rows came
                back (the message has the counts); the endpoint failed after the client's
                retries, or could not be reached.
        """
        if self._frame is None or self._schema is None:
            raise GeneratorSpecError(f"{METHOD}: sample() called before fit()")
        if num_rows <= 0:
            return empty_like(self._frame.dtypes)
        openai = require_extra("openai", extra=EXTRA, purpose=_PURPOSE)
        key = self._api_key()
        client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout_s,
                               max_retries=self.max_retries)
        rng = np.random.default_rng(seed)
        wanted = _allocate(num_rows, [share for _, share, _ in self._classes])
        cap = self.max_requests or 2 * sum(math.ceil(w / self.rows_per_request) for w in wanted) + 2
        made: list[list[dict[str, Any]]] = [[] for _ in self._classes]
        rejected: Counter[str] = Counter()
        # The figures describe the last sample: counts start again (token counts are added by _complete).
        figures = self._figures = {"text_columns": self._figures["text_columns"],
                                   "fitted_rows": self._figures["fitted_rows"], "requests": 0, "rows_rejected": 0,
                                   "rejected_by_reason": {}, "answers_unparsable": 0, "real_rows_sent": 0}
        requests = 0
        futile = False
        while requests < cap and not futile and any(len(rows) < w for rows, w in zip(made, wanted, strict=True)):
            for index, (label, _, positions) in enumerate(self._classes):
                need = wanted[index] - len(made[index])
                futile = requests >= FUTILE_REQUESTS and not any(made)
                if need <= 0 or requests >= cap or futile:
                    continue
                ask = min(self.rows_per_request, need)
                examples = self._examples(positions, rng)
                messages = chat_messages(self._schema, rows=ask, label=label, examples=examples,
                                         system_prompt=self.system_prompt, instructions=self.instructions)
                content = self._complete(client, openai, messages, seed=(seed + requests) % 2**31, key=key)
                requests += 1
                figures["requests"] += 1
                figures["real_rows_sent"] += len(examples)
                answer = parse_answer(content)
                if answer is None:
                    figures["answers_unparsable"] += 1
                    rejected["unparsable"] += ask
                    continue
                for element in answer:
                    row, reason = self._schema.check(element, label=label)
                    if reason is not None:
                        rejected[reason] += 1
                    elif len(made[index]) < wanted[index]:
                        made[index].append(row)
            got = sum(map(len, made))
            figures["rows_rejected"] = sum(rejected.values())
            figures["rejected_by_reason"] = dict(sorted(rejected.items()))
            if self.log:
                self.log.info(f"{METHOD}: {got:,}/{num_rows:,} rows after {requests} of at most {cap} requests "
                              f"({figures['rows_rejected']} rows rejected: {figures['rejected_by_reason'] or 'none'})")
        got = sum(map(len, made))
        if futile:
            raise GeneratedDataError(
                f"{METHOD}: not one valid row in the first {requests} answers of model {self.model} "
                f"({figures['answers_unparsable']} were not a JSON array; {figures['rows_rejected']} rows rejected "
                f"{figures['rejected_by_reason']}), so sampling stopped before the cap of {cap} requests. Fix: use a "
                "model that follows instructions (an instruction-tuned chat model), or check "
                "synthesizer.params.system_prompt / instructions (the rejection reasons above say what it got wrong)")
        if got < num_rows:
            raise GeneratedDataError(
                f"{METHOD}: {got} of the {num_rows} rows asked for after {requests} requests, the cap "
                f"(synthesizer.params.max_requests {cap}); {figures['rows_rejected']} rows rejected "
                f"{figures['rejected_by_reason']} ({figures['answers_unparsable']} answers were not a JSON array). "
                "Fix: raise synthesizer.params.max_requests, lower rows_per_request, or use a model that follows the "
                "instructions (the rejection reasons above say what it got wrong)")
        rows = pd.DataFrame([row for rows in made for row in rows], columns=self._schema.columns)
        rows = rows.iloc[rng.permutation(len(rows))].reset_index(drop=True)
        rows.columns = list(self._frame.columns)
        return restore_dtypes(rows, self._frame.dtypes, generator=METHOD)

    def info(self) -> GeneratorInfo:
        """``llm.<model>``, its params (no key, no credentials of ``base_url``) and the figures of the last sample."""
        params: dict[str, Any] = {
            "base_url": _safe_url(self.base_url), "model": self.model, "api_key_env": self.api_key_env,
            "temperature": self.temperature, "rows_per_request": self.rows_per_request,
            "examples_per_request": self.examples_per_request, "max_requests": self.max_requests,
            "timeout_s": self.timeout_s, "max_retries": self.max_retries}
        if self.system_prompt:
            params["system_prompt"] = self.system_prompt
        if self.instructions:
            params["instructions"] = self.instructions
        extra = {**self._figures, "base_url_host": _host(self.base_url)}
        return GeneratorInfo(name=f"llm.{self.model}", params=params, extra=extra)

    def _api_key(self) -> str:
        key = os.environ.get(self.api_key_env, "")
        if key:
            return key
        if self.key_env_explicit:
            raise GeneratorSpecError(
                f"synthesizer.params.api_key_env names the environment variable {self.api_key_env}, which is not set: "
                f"export {self.api_key_env}=<key>, or drop api_key_env for a server that needs no key")
        return PLACEHOLDER_KEY

    def _examples(self, positions: np.ndarray, rng: np.random.Generator) -> list[dict[str, Any]]:
        assert self._frame is not None
        count = min(self.examples_per_request, len(positions))
        if not count:
            return []
        chosen = np.sort(rng.choice(positions, size=count, replace=False))
        return [json_ready(self._frame.iloc[int(i)]) for i in chosen]

    def _complete(self, client: Any, openai: Any, messages: list[dict[str, str]], *, seed: int, key: str) -> str | None:
        options: dict[str, Any] = {"model": self.model, "messages": messages, "seed": seed}
        if self.temperature is not None:
            options["temperature"] = self.temperature
        host = _host(self.base_url)
        try:
            response = client.chat.completions.create(**options)
        except openai.APIStatusError as error:
            detail = _scrub(str(error), key)[:300]
            status = error.status_code
            if status in (401, 403):
                raise GeneratorSpecError(
                    f"{METHOD}: {host} refused the request (HTTP {status}: {detail}): put a valid key in the "
                    f"environment variable {self.api_key_env} (synthesizer.params.api_key_env)") from None
            if status == 404:
                raise GeneratorSpecError(
                    f"{METHOD}: {host} answered HTTP 404 ({detail}): check synthesizer.params.model ({self.model!r}) "
                    f"and base_url (the API root, usually ending in /v1)") from None
            raise GeneratedDataError(
                f"{METHOD}: {host} answered HTTP {status} after {self.max_retries} retries ({detail}): check the "
                "server, or raise synthesizer.params.max_retries / timeout_s") from None
        except openai.APIConnectionError as error:
            raise GeneratedDataError(
                f"{METHOD}: could not reach {host} after {self.max_retries} retries ({type(error).__name__}: "
                f"{_scrub(str(error), key)[:200]}): start the server or fix synthesizer.params.base_url, or raise "
                "timeout_s") from None
        usage = getattr(response, "usage", None)
        if usage is not None:
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                value = getattr(usage, name, None)
                if isinstance(value, int):
                    self._figures[name] = self._figures.get(name, 0) + value
        choices = getattr(response, "choices", None) or []
        return choices[0].message.content if choices and choices[0].message else None


def make_chat_generator(method: str, params: dict[str, Any], log: logging.Logger | Any | None) -> ChatGenerator:
    """The registry's factory for ``openai_chat``: checks ``params`` and resolves the environment fallbacks.

    Raises:
        GeneratorSpecError: A key is unknown, a value is invalid, or ``base_url`` / ``model``
            is neither given nor in the environment.
    """
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise GeneratorSpecError(f"synthesizer.params {unknown} are not parameters of {METHOD}; it takes "
                                 f"{list(_PARAMS)}: fix synthesizer.params in the spec")
    base_url = params.get("base_url") or next((os.environ[v] for v in BASE_URL_ENV if os.environ.get(v)), None)
    if not isinstance(base_url, str) or urlsplit(base_url).scheme not in ("http", "https") or not _host(base_url):
        raise GeneratorSpecError(
            f"{METHOD} needs synthesizer.params.base_url, the http(s) root of an OpenAI-compatible API (e.g. "
            f"http://127.0.0.1:8000/v1), or the environment variable {BASE_URL_ENV[0]} (or {BASE_URL_ENV[1]}) "
            f"(got {_safe_url(base_url) if isinstance(base_url, str) else base_url!r}): set one")
    model = params.get("model") or os.environ.get(MODEL_ENV)
    if not isinstance(model, str) or not model.strip():
        raise GeneratorSpecError(f"{METHOD} needs synthesizer.params.model, the model name the endpoint serves, or "
                                 f"the environment variable {MODEL_ENV}: set one")
    key_env = params.get("api_key_env", DEFAULT_KEY_ENV)
    if not isinstance(key_env, str) or not key_env.isidentifier():
        raise GeneratorSpecError("synthesizer.params.api_key_env must be the NAME of an environment variable (e.g. "
                                 "OPENAI_API_KEY), not the key itself: fix it in the spec")
    for name in ("system_prompt", "instructions"):
        if params.get(name) is not None and (not isinstance(params[name], str) or not params[name].strip()):
            raise GeneratorSpecError(f"synthesizer.params.{name} must be non-empty text: fix it in the spec")
    max_requests = params.get("max_requests")
    return ChatGenerator(
        base_url=base_url, model=model.strip(), api_key_env=key_env, key_env_explicit="api_key_env" in params,
        temperature=None if params.get("temperature") is None else _number("temperature", params["temperature"], 0, 2),
        rows_per_request=int(_number("rows_per_request", params.get("rows_per_request", 10), 1, 200, integer=True)),
        examples_per_request=int(_number("examples_per_request", params.get("examples_per_request", 5), 0, 100,
                                         integer=True)),
        max_requests=None if max_requests is None else int(_number("max_requests", max_requests, 1, 100_000,
                                                                   integer=True)),
        timeout_s=_number("timeout_s", params.get("timeout_s", 60.0), 0.1, 3_600),
        max_retries=int(_number("max_retries", params.get("max_retries", 2), 0, 20, integer=True)),
        system_prompt=params.get("system_prompt"), instructions=params.get("instructions"), log=log,
    )


def _number(name: str, value: Any, low: float, high: float, *, integer: bool = False) -> float:
    kinds = (int,) if integer else (int, float)
    if not isinstance(value, kinds) or isinstance(value, bool) or not math.isfinite(value) or not low <= value <= high:
        what = "an integer" if integer else "a number"
        raise GeneratorSpecError(f"synthesizer.params.{name} of {METHOD} must be {what} from {low:g} to {high:g} "
                                 f"(got {value!r}): fix it in the spec")
    return float(value)


def _allocate(total: int, shares: list[float]) -> list[int]:
    """``total`` split in proportion to ``shares`` (largest remainders; ties to the earlier class)."""
    exact = [total * share for share in shares]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else ""


def _safe_url(url: str) -> str:
    """``url`` without credentials, query or fragment (a key may hide there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{_host(url)}{parts.path}" if parts.scheme else "?"


def _scrub(text: str, key: str) -> str:
    return text.replace(key, "***") if len(key) >= 4 and key != PLACEHOLDER_KEY else text
