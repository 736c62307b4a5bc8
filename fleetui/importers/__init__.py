"""Reading other tools' call logs into fleetui: its own JSONL, simonw/llm's logs.db, LiteLLM spend logs.

Every reader yields `Row`s: a call, or a problem with the line (or row) it was found on, so a
bad line is reported and skipped instead of stopping the import. Call ids are derived from the
source's own ids (or from the line's content), which makes importing twice add nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fleetui.store.records import CallRecord


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


Row = CallRecord | Problem

FORMATS = ("jsonl", "llm", "litellm-json", "litellm-csv")


def detect(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"SQLite format 3\x00"):
        return "llm"
    text = head.lstrip()
    if path.suffix.lower() == ".csv" or (text[:1] not in (b"{", b"[") and b"request_id" in head):
        return "litellm-csv"
    if text.startswith(b"["):
        return "litellm-json"
    if text.startswith(b"{") and b'"request_id"' in head and b'"startTime"' in head:
        return "litellm-json"
    return "jsonl"


def read(path: Path, fmt: str | None = None) -> Iterator[Row]:
    fmt = fmt or detect(path)
    if fmt == "jsonl":
        from fleetui.importers.jsonl import read_jsonl

        return read_jsonl(path)
    if fmt == "llm":
        from fleetui.importers.llm_logs import read_llm_logs

        return read_llm_logs(path)
    if fmt in ("litellm-json", "litellm-csv"):
        from fleetui.importers.litellm import read_litellm

        return read_litellm(path, csv=fmt == "litellm-csv")
    raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
