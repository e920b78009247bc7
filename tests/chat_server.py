"""A real, tiny OpenAI-compatible chat-completions server on 127.0.0.1 for the ``openai_chat`` tests.

It answers ``POST /v1/chat/completions`` in the OpenAI response format with rows it makes
deterministically from what the request asks (the prompt of
:func:`synth_pipeline.generators.chat_rows.chat_messages`): the requested number of rows,
the requested label, each column filled by its description (free text composed from the
prompt's own words, the first listed category, a number from the request's seed). A plan
makes chosen requests misbehave: ``malformed`` (an answer that is not JSON), ``500`` (an
HTTP error the client retries), ``bad_rows`` (valid rows plus one of an unknown label and
one of a wrong type). It listens on a free port, records every request, and shuts itself
down after ``lifetime_s`` even if a test forgets to.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ASK = re.compile(r"Write (\d+) new rows(?: with (\".*?\") = (.*?))?\. Answer with")
_COLUMNS = "Columns (each object has exactly these keys):\n"


class FakeChatServer:
    """A chat-completions server in a thread (see the module docs); use it as a context manager.

    Args:
        plan: Behaviour of the first requests, in order (``ok``, ``malformed``, ``500``,
            ``bad_rows``); later requests are ``ok``.
        lifetime_s: Seconds after which the server stops by itself.
    """

    def __init__(self, plan: Sequence[str] = (), *, lifetime_s: float = 30.0) -> None:
        self.plan = list(plan)
        self.bodies: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._timer = threading.Timer(lifetime_s, self.stop)
        self._timer.daemon = True

    @property
    def base_url(self) -> str:
        """The API root to give the client, ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeChatServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        self._timer.cancel()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def behaviour(self, body: dict[str, Any], authorization: str) -> str:
        """Record a request and return what to do with it."""
        with self._lock:
            index = len(self.bodies)
            self.bodies.append(body)
            self.authorizations.append(authorization)
            return self.plan[index] if index < len(self.plan) else "ok"


def answer_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a request asks for, made from its prompt and seed."""
    prompt = body["messages"][-1]["content"]
    ask = _ASK.search(prompt)
    count, label_column, label = int(ask.group(1)), ask.group(2), ask.group(3)
    columns = json.loads(prompt.split(_COLUMNS, 1)[1].split("\n", 1)[0])
    words = re.findall(r"[A-Za-z]{3,}", prompt)
    seed = int(body.get("seed", 0))
    rows = []
    for r in range(count):
        row: dict[str, Any] = {}
        for column, description in columns.items():
            if label_column is not None and column == json.loads(label_column):
                row[column] = json.loads(label)
            elif description.startswith("free text, about "):
                length = min(int(description.split()[3]), 30)
                row[column] = " ".join(words[(seed * 7 + r * 13 + j * 3) % len(words)] for j in range(length)) + "."
            elif description.startswith("one of "):
                row[column] = json.loads(description[len("one of "):])[0]
            elif description.startswith("integer"):
                row[column] = seed % 100 + r
            elif description.startswith("number"):
                row[column] = seed % 100 + r / 10
            elif description.startswith("boolean"):
                row[column] = r % 2 == 0
            else:
                row[column] = "x"
        rows.append(row)
    return rows


def _handler(server: FakeChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10  # a stuck connection cannot hold a thread for longer

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            what = server.behaviour(body, self.headers.get("Authorization", ""))
            if what == "500":
                self._send(500, {"error": {"message": "overloaded", "type": "server_error"}},
                           headers={"retry-after-ms": "1"})
                return
            if what == "malformed":
                content = 'Sure! Here are the rows you asked for: [{"topic": '
            else:
                rows = answer_rows(body)
                if what == "bad_rows" and rows:
                    rows += [{**rows[0], **_label(body, "no such label")}, {**rows[0], **_wrong_type(rows[0])}]
                content = json.dumps(rows)
            prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
            completion_tokens = len(content.split())
            self._send(200, {
                "id": f"chatcmpl-{len(server.bodies)}", "object": "chat.completion", "created": 0,
                "model": body.get("model", ""),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens},
            })

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            server.statuses.append(status)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
            pass

    return Handler


def _label(body: dict[str, Any], value: str) -> dict[str, Any]:
    ask = _ASK.search(body["messages"][-1]["content"])
    return {json.loads(ask.group(2)): value} if ask.group(2) else {}


def _wrong_type(row: dict[str, Any]) -> dict[str, Any]:
    """``row``'s first integer column as text (a wrong type)."""
    column = next(c for c, v in row.items() if isinstance(v, int) and not isinstance(v, bool))
    return {column: "many"}
