"""A real client in another language: the official `openai` npm package, on node, through the
gateway (optional: skipped unless node and the package are installed).

Set up once with: ``npm install --prefix tests/node openai``
(or point FLEETUI_NODE_MODULES at a node_modules folder that has it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fakeproviders import FakeProviders
from tests.serve_support import running_gateway

MODULES = Path(os.environ.get("FLEETUI_NODE_MODULES") or Path(__file__).parent / "node" / "node_modules")

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(not (MODULES / "openai").is_dir(),
                       reason=f"the openai npm package is not in {MODULES} (npm install --prefix tests/node openai)"),
]

SCRIPT = """
import OpenAI from "openai";
const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: "gateway-token", maxRetries: 0,
                            defaultHeaders: { "x-fleetui-app": "node-app", "x-fleetui-task": "coding" } });
const { data: reply, response } = await client.chat.completions
  .create({ model: "fleetui/auto", messages: [{ role: "user", content: "hello from node" }] }).withResponse();
const stream = await client.chat.completions.create({ model: "small", stream: true,
  messages: [{ role: "user", content: "stream please" }] });
let streamed = "";
for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? "";
let status = null;
try { await client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }); }
catch (error) { status = error.status; }
console.log(JSON.stringify({ text: reply.choices[0].message.content, model: response.headers.get("x-fleetui-model"),
                             streamed, status }));
"""


def test_node_openai_package_through_the_gateway(tmp_path: Path, fake_providers: FakeProviders,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-fake-openai")
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "node_modules").symlink_to(MODULES.resolve(), target_is_directory=True)
    (folder / "app.mjs").write_text(SCRIPT, encoding="utf-8")
    with running_gateway(tmp_path, fake_providers) as gateway:
        out = subprocess.run(["node", "app.mjs"], cwd=folder, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "BASE_URL": gateway.url + "/v1"})
        assert out.returncode == 0, out.stderr
        seen = json.loads(out.stdout)
        rows = gateway.calls(3)
    assert seen == {"text": "Hello from the fake provider!", "model": "large",
                    "streamed": "Hello from the fake provider!", "status": 404}
    assert [r["source"] for r in rows] == ["node-app"] * 3  # the 429 attempt, its fallback, the stream
    assert [r["model_id"] for r in rows] == ["limited", "large", "small"]
