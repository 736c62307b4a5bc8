"""Run inside a Python that has litellm (not fleetui's): load a config.yaml with LiteLLM's own
proxy config loader, send each request through the Router it builds, and print what happened.

    python litellm_router_run.py CONFIG.yaml REQUESTS.json

REQUESTS.json is a list of {"model": name, "prompt": text}; the output is one JSON list with, per
request, the answer (or the error) and the spend LiteLLM recorded through its logging callback.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


async def main(config_path: str, requests: list[dict[str, str]]) -> list[dict[str, Any]]:
    import litellm
    from litellm.integrations.custom_logger import CustomLogger
    from litellm.proxy.proxy_server import ProxyConfig

    recorded: list[dict[str, Any]] = []

    class Spend(CustomLogger):  # what the proxy's spend tracking reads: the standard logging object
        async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            payload = kwargs.get("standard_logging_object") or {}
            recorded.append({"id": kwargs.get("litellm_call_id"), "model_group": payload.get("model_group"), "model_id": payload.get("model_id"),
                             "response_cost": payload.get("response_cost"),
                             "prompt_tokens": payload.get("prompt_tokens"),
                             "completion_tokens": payload.get("completion_tokens")})

    litellm.suppress_debug_info = True
    router, models, _ = await ProxyConfig().load_config(router=None, config_file_path=config_path)
    # Each request starts from healthy deployments: a cooldown from the previous request's
    # scripted outage would hide which model the chain itself reaches.
    router.disable_cooldowns = True
    litellm.callbacks = [Spend()]
    out: list[dict[str, Any]] = [{"groups": sorted({m["model_name"] for m in models}), "deployments": len(models)}]
    for index, request in enumerate(requests):
        try:
            response = await router.acompletion(model=request["model"], num_retries=0, litellm_call_id=f"req-{index}",
                                                messages=[{"role": "user", "content": request["prompt"]}])
            result: dict[str, Any] = {"answer": response.choices[0].message.content,
                                      "cost": response._hidden_params.get("response_cost")}
        except Exception as exc:  # the test asserts on failures too
            result = {"error": type(exc).__name__, "message": str(exc)[:300]}
        out.append(result)
    # Success callbacks run as background tasks: wait (boundedly) until every answered request's
    # has arrived, then attach each by its call id.
    answered = {f"req-{i}" for i, r in enumerate(out[1:]) if "answer" in r}
    for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 600):
        if answered <= {r["id"] for r in recorded}:
            break
        await asyncio.sleep(0.1)
    for index, result in enumerate(out[1:]):
        result["recorded"] = [r for r in recorded if r["id"] == f"req-{index}"]
    return out


if __name__ == "__main__":
    results = asyncio.run(main(sys.argv[1], json.loads(open(sys.argv[2]).read())))
    print("FLEETUI-RESULTS " + json.dumps(results))
