"""Reading other tools' call logs into fleetui (README: "Importing other tools' logs").

Formats: fleetui's own JSONL; simonw/llm's logs.db (the current threads/turns schema and the
older responses table); LiteLLM's spend logs (JSON, JSONL or CSV) and its StandardLoggingPayload
JSONL; Claude Code's and Codex CLI's session logs; OpenTelemetry GenAI spans as the Collector's
file exporter writes them (OTLP JSON); graded prompts in the labelled-routing format
(`labels`: one model's answer to a prompt id with its quality, what `router train` learns from).

Every reader yields `Found` calls and `Problem`s, each with the line (or row) it came from, so a
bad line is reported and skipped instead of stopping the import. `read()` checks every call
against the same rules (checks.py) whatever wrote it. Call ids are derived from the source's own
ids (or from the line's content), which makes importing twice add nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fleetui.importers.checks import problem_with
from fleetui.store.records import CallRecord


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str
    unit: str = "line"  # what `line` counts: "line", "entry" (of a JSON list), "turns row", …


@dataclass(frozen=True, slots=True)
class Found:
    line: int
    call: CallRecord
    unit: str = "line"


Row = Found | Problem

FORMATS = ("jsonl", "llm", "litellm-json", "litellm-csv", "litellm-payload", "claude-code", "codex", "otlp",
           "labels")
_HEAD = 65_536  # one StandardLoggingPayload line is ~10 kB; the detector needs a whole one


class ImportFileError(Exception):
    """The file as a whole cannot be read in its format (not a database, no such table, …)."""


def detect(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(_HEAD)
    if head.startswith(b"SQLite format 3\x00"):
        return "llm"
    text = head.lstrip()
    compact = head.replace(b": ", b":")
    if path.suffix.lower() == ".csv" or (text[:1] not in (b"{", b"[") and b"request_id" in head):
        return "litellm-csv"
    if text.startswith(b"["):
        return "litellm-json"
    if text.startswith(b"{"):
        if b'"resourceSpans"' in head:
            return "otlp"
        if b'"trace_id"' in head and b'"response_cost"' in head and b'"startTime"' in head:
            return "litellm-payload"
        if b'"request_id"' in head and b'"startTime"' in head:
            return "litellm-json"
        if b'"payload"' in head and any(b'"type":"%s"' % kind in compact for kind in
                                        (b"session_meta", b"turn_context", b"event_msg", b"response_item")):
            return "codex"
        if b'"sessionId"' in head and (b'"parentUuid"' in head or b'"leafUuid"' in head):
            return "claude-code"
        if b'"prompt_id"' in head and b'"quality"' in head and b'"model"' in compact:
            return "labels"
    return "jsonl"


# Files that sit among agents' logs and are not call logs: Claude Code's per-project index.
_NOT_LOGS = frozenset({"sessions-index.json"})


def files_in(path: Path) -> list[Path]:
    """The log files to import: the file itself, or every .jsonl/.json/.csv/.db under a folder.

    A folder is how agents keep their logs (~/.claude/projects, ~/.codex/sessions).
    """
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name not in _NOT_LOGS
                  and p.suffix.lower() in (".jsonl", ".json", ".csv", ".db"))


def read(path: Path, fmt: str | None = None) -> Iterator[Row]:
    for row in _reader(path, fmt or detect(path)):
        if isinstance(row, Found) and (message := problem_with(row.call)) is not None:
            yield Problem(row.line, message, row.unit)
        else:
            yield row


def _reader(path: Path, fmt: str) -> Iterator[Row]:
    if fmt == "jsonl":
        from fleetui.importers.jsonl import read_jsonl

        return read_jsonl(path)
    if fmt == "llm":
        from fleetui.importers.llm_logs import read_llm_logs

        return read_llm_logs(path)
    if fmt in ("litellm-json", "litellm-csv"):
        from fleetui.importers.litellm import read_spend_logs

        return read_spend_logs(path, csv=fmt == "litellm-csv")
    if fmt == "litellm-payload":
        from fleetui.importers.litellm import read_standard_payloads

        return read_standard_payloads(path)
    if fmt == "claude-code":
        from fleetui.importers.claude_code import read_claude_code

        return read_claude_code(path)
    if fmt == "labels":
        from fleetui.importers.labels import read_labels

        return read_labels(path)
    if fmt == "otlp":
        from fleetui.importers.otlp import read_otlp

        return read_otlp(path)
    if fmt == "codex":
        from fleetui.importers.codex import read_codex

        return read_codex(path)
    raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
