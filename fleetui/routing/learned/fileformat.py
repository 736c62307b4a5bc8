"""The saved router: `<NAME>.router.json` beside the fleet file. Plain JSON, never pickle.

Loading it can run no code; a SHA-256 over the canonical JSON of everything but the checksum
catches a truncated copy or a hand edit. Word weights are stored sparse (only buckets some
training prompt had), rounded to 5 significant digits, which keeps a router of a few thousand
prompts in tens of kilobytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fleetui.routing.learned import features
from fleetui.routing.learned.fit import QualityModel

FORMAT = "fleetui-learned-router"
VERSION = 1
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RouterFileError(ValueError):
    """A router file that cannot be used; the message is one line saying what to do."""


@dataclass
class SavedRouter:
    name: str
    model: QualityModel
    meta: dict[str, Any]  # data window, metrics, calibration, curves; everything but the weights

    @property
    def default_reference(self) -> str:
        return str(self.meta["default_reference"])

    def price_weight_for(self, reference: str, share: float) -> float | None:
        """λ reaching `share` of `reference`'s quality on held-out prompts; the nearest saved
        target at or above `share` (so a target is never rounded down)."""
        curve: dict[str, float | None] = self.meta["curves"].get(reference, {})
        above = sorted((float(k), v) for k, v in curve.items() if float(k) >= share - 1e-9)
        for _, weight in above:
            if weight is not None:
                return weight
        return None


def path_for(fleet_file: Path, name: str) -> Path:
    return fleet_file.parent / f"{name}.router.json"


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise RouterFileError(f"router name {name!r}: use letters, digits, '-', '_' or '.', up to 64 characters")
    return name


def _checksum(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _round(x: float) -> float:
    return 0.0 if x == 0 else float(f"{x:.5g}")


def dumps(saved: SavedRouter) -> str:
    m = saved.model
    used = np.where(np.any(m.words != 0, axis=1))[0]
    body: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "features_version": features.FEATURES_VERSION,
        "name": saved.name, "bits": m.bits, "models": m.models,
        "typical_cost_usd": [_round(c) for c in m.typical_cost],
        "alphas": m.alphas,
        "intercept": [_round(v) for v in m.intercept],
        "link": None if m.link is None else [[_round(v) for v in row] for row in m.link],
        "shape": [[_round(v) for v in row] for row in m.shape],
        "words": {"buckets": used.tolist(), "weights": [[_round(v) for v in m.words[b]] for b in used]},
        **saved.meta,
    }
    body["checksum"] = _checksum(body)
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


def save(path: Path, saved: SavedRouter) -> None:
    from fleetui.config.writer import write_text

    write_text(path, dumps(saved) + "\n")


def load(path: Path) -> SavedRouter:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RouterFileError(f"{path}: no such router file; train it with `fleetui router train "
                              f"{path.name.removesuffix('.router.json')}`") from None
    except OSError as exc:
        raise RouterFileError(f"{path}: {exc.strerror or exc}") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RouterFileError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}); train it again") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise RouterFileError(f"{path}: not a fleetui router file (no \"format\": \"{FORMAT}\")")
    if body.get("version") != VERSION or body.get("features_version") != features.FEATURES_VERSION:
        raise RouterFileError(f"{path}: router file version {body.get('version')} (features "
                              f"{body.get('features_version')}); this fleetui reads {VERSION}: train it again")
    claimed = body.pop("checksum", None)
    if claimed != _checksum(body):
        raise RouterFileError(f"{path}: checksum does not match its contents (edited or cut short); train it again")
    try:
        return _parse(body)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise RouterFileError(f"{path}: malformed router file ({exc}); train it again") from None


def _parse(body: dict[str, Any]) -> SavedRouter:
    models = [str(m) for m in body["models"]]
    k, bits = len(models), int(body["bits"])
    if not 8 <= bits <= 24 or k < 1:
        raise ValueError("bits or models out of range")
    words = np.zeros((1 << bits, k))
    buckets = np.asarray(body["words"]["buckets"], dtype=np.int64)
    if len(buckets):
        words[buckets] = np.asarray(body["words"]["weights"], dtype=float).reshape(len(buckets), k)
    shape = np.asarray(body["shape"], dtype=float).reshape(features.N_SHAPE, k)
    intercept = np.asarray(body["intercept"], dtype=float).reshape(k)
    cost = np.asarray(body["typical_cost_usd"], dtype=float).reshape(k)
    if not all(math.isfinite(float(v)) for v in (*intercept, *cost)):
        raise ValueError("non-finite weights")
    link = None if body.get("link") is None else np.asarray(body["link"], dtype=float).reshape(k, 2)
    if link is not None and not np.isfinite(link).all():
        raise ValueError("non-finite link")
    model = QualityModel(bits, models, intercept, words, shape, cost, [float(a) for a in body["alphas"]], link)
    weights_keys = {"format", "version", "features_version", "name", "bits", "models", "typical_cost_usd",
                    "alphas", "intercept", "shape", "words", "link"}
    meta = {key: value for key, value in body.items() if key not in weights_keys}
    meta.setdefault("curves", {})
    return SavedRouter(str(body["name"]), model, meta)
