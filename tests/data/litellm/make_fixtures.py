"""Make the LiteLLM fixture files with LiteLLM's own code (no network: every call is mocked).

    /work/venvs/litellm/bin/python tests/data/litellm/make_fixtures.py [OUT_DIR]

(any Python with `pip install 'litellm[proxy]'` will do). It writes, into OUT_DIR (default: this
file's folder):

- spend_logs.json: LiteLLM_SpendLogs rows as `get_logging_payload()` makes them, JSON-encoded the
  way the proxy's /spend/logs endpoint returns them (FastAPI's jsonable_encoder);
- spend_logs.csv: the same rows as a database export writes them (one column per field);
- standard_logging.jsonl: the StandardLoggingPayload of each call, one per line, written with
  LiteLLM's safe_dumps as its S3/GCS bucket loggers write a batch file.

The calls: a chat completion through a proxy model group with a system prompt, an end user, a
session and tags (`store_prompts_in_spend_logs` on, so the request is kept in
`proxy_server_request` while `messages` stays "{}", as LiteLLM does); a streamed completion (so
completionStartTime ≠ endTime); a completion that calls a tool; and a call that failed with a
rate limit, marked as the proxy's failure hook marks it.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # the bundled price map, no fetch

import litellm  # noqa: E402
from fastapi.encoders import jsonable_encoder  # noqa: E402
from litellm.integrations.custom_logger import CustomLogger  # noqa: E402
from litellm.litellm_core_utils.litellm_logging import StandardLoggingPayloadSetup  # noqa: E402
from litellm.litellm_core_utils.safe_json_dumps import safe_dumps  # noqa: E402
from litellm.proxy import proxy_server  # noqa: E402
from litellm.proxy.spend_tracking.spend_tracking_utils import get_logging_payload  # noqa: E402

Event = tuple[dict[str, Any], Any, Any, Any]


class Capture(CustomLogger):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.events.append((kwargs, response_obj, start_time, end_time))

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.events.append((kwargs, response_obj, start_time, end_time))


def proxy_request(model: str, messages: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    """What the proxy puts in litellm_params: the client's request as it arrived."""
    return {"url": "http://0.0.0.0:4000/v1/chat/completions", "method": "POST",
            "headers": {"content-type": "application/json"},
            "body": {"model": model, "messages": messages, **body}}


def key_metadata(**extra: Any) -> dict[str, Any]:
    """What the proxy's auth step adds for a virtual key owned by `key-owner`."""
    return {"user_api_key_hash": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
            "user_api_key_alias": "support-bot-key", "user_api_key_user_id": "key-owner",
            "user_api_key_team_id": "team-support", **extra}


def settle(capture: Capture, count: int) -> None:
    # LiteLLM runs its success callbacks on a worker thread.
    for _ in range(200):
        if len(capture.events) >= count:
            return
        time.sleep(0.05)
    raise SystemExit(f"LiteLLM logged {len(capture.events)} of {count} calls")


def make_calls(capture: Capture) -> None:
    chat = [{"role": "system", "content": "Answer in one line."},
            {"role": "user", "content": "is the store open?"}]
    litellm.completion(
        model="gpt-4o-mini", messages=chat, mock_response="Yes, until 9.", user="u7",
        metadata=key_metadata(user_api_key_end_user_id="u7", model_group="cheap", tags=["prod"]),
        litellm_session_id="sess-42", proxy_server_request=proxy_request("cheap", chat, user="u7"),
    )
    settle(capture, 1)

    story = [{"role": "user", "content": "tell me a short story"}]
    stream = litellm.completion(
        model="anthropic/claude-3-5-haiku-20241022", messages=story, stream=True,
        mock_response="Once upon a time there was a fleet of models.", mock_delay=0.05,
        metadata=key_metadata(user_api_key_end_user_id="u8", model_group="writer"),
        litellm_session_id="sess-43", proxy_server_request=proxy_request("writer", story, stream=True),
    )
    for _chunk in stream:
        time.sleep(0.01)
    settle(capture, 2)

    weather = [{"role": "user", "content": "weather in Paris?"}]
    litellm.completion(
        model="gpt-4o", messages=weather, mock_response="",
        mock_tool_calls=[{"id": "call_1", "type": "function",
                          "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}],
        metadata=key_metadata(model_group="gpt-4o"),
        proxy_server_request=proxy_request("gpt-4o", weather),
    )
    settle(capture, 3)

    limited = [{"role": "user", "content": "summarise this report"}]
    try:
        litellm.completion(
            model="gpt-4o", messages=limited,
            mock_response=litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o"),
            metadata=key_metadata(user_api_key_end_user_id="u7", model_group="gpt-4o"),
            litellm_session_id="sess-42", proxy_server_request=proxy_request("gpt-4o", limited, user="u7"),
            num_retries=0,
        )
    except litellm.RateLimitError as exc:
        kwargs = capture.events[-1][0] if len(capture.events) == 4 else None
        if kwargs is None:
            settle(capture, 4)
            kwargs = capture.events[-1][0]
        # What the proxy's failure hook (ProxyDBLogger.async_post_call_failure_hook) adds.
        metadata = kwargs["litellm_params"].setdefault("metadata", {})
        metadata["status"] = "failure"
        metadata["error_information"] = StandardLoggingPayloadSetup.get_error_information(original_exception=exc)
        if kwargs.get("completion_start_time") is None:
            # A call that failed has no first token; get_logging_payload then takes endTime.
            kwargs.pop("completion_start_time", None)


def main(out: Path) -> None:
    proxy_server.general_settings["store_prompts_in_spend_logs"] = True
    capture = Capture()
    litellm.callbacks = [capture]
    make_calls(capture)
    rows = [get_logging_payload(kwargs, response, start, end) for kwargs, response, start, end in capture.events]
    out.mkdir(parents=True, exist_ok=True)
    (out / "spend_logs.json").write_text(json.dumps(jsonable_encoder(rows), indent=1) + "\n")
    with open(out / "spend_logs.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    payloads = [kwargs["standard_logging_object"] for kwargs, *_ in capture.events]
    (out / "standard_logging.jsonl").write_text("\n".join(safe_dumps(p) for p in payloads) + "\n")
    print(f"{len(rows)} calls → {out}/spend_logs.json, spend_logs.csv, standard_logging.jsonl "
          f"(litellm {version('litellm')})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
