"""`fleetui publish s3` and `fleetui pull s3`: the shared tree in an S3-compatible bucket (AWS,
MinIO, Cloudflare R2) through boto3, with credentials from the standard AWS chain (env vars,
AWS_PROFILE, ~/.aws) — never from the fleet file.

Layout under the prefix:

```
sets/<set id>/fleet.toml, rankings/<use_case>.json, models/<id>.json, …   one complete set each
manifest.json                                                               the current set, written last
```

A publish uploads a whole new set, then replaces the manifest, and only if the manifest is still
the one this store last pulled or published (a conditional PUT, If-Match / If-None-Match): a
reader who follows the manifest never sees half a set, and a teammate's set is never replaced
unseen. Sets are never rewritten, so the set a store last saw is the base of the next three-way
merge of the fleet file. Every file is checked against the manifest's SHA-256 on the way in.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from fleetui.store import Store
from fleetui.sync import SyncError
from fleetui.sync.merge import Prefer, merge_fleet, read_fleet_file, write_merged
from fleetui.sync.tree import FLEET_FILE, FORMAT, Tree, build_tree, describe_changes, read_shared

MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class S3Target:
    bucket: str
    prefix: str = ""
    endpoint: str | None = None

    def key(self, name: str) -> str:
        prefix = self.prefix.strip("/")
        return f"{prefix}/{name}" if prefix else name

    @property
    def source(self) -> str:
        """The target's identity in the store: where shared rows came from, where syncs went."""
        base = f"s3://{self.bucket}/{self.prefix.strip('/')}".rstrip("/")
        return f"{base} at {self.endpoint}" if self.endpoint else base

    def __str__(self) -> str:
        return self.source


class _ManifestFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sha256: str
    size: int


class Manifest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    format: int
    set: str
    digest: str
    published_by: str | None = None
    published_at: str | None = None
    previous: str | None = None
    changes: list[str] = []
    files: dict[str, _ManifestFile]


@dataclass(slots=True)
class S3Outcome:
    target: str
    set_id: str | None = None
    files: int = 0
    unchanged: bool = False
    changes: list[str] = field(default_factory=list)
    published_by: str | None = None
    fleet_file_changed: bool = False
    imported_rankings: int = 0
    imported_models: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(tree: Tree) -> str:
    return hashlib.sha256("".join(f"{p}\0{_sha256(t)}\n" for p, t in sorted(tree.items())).encode()).hexdigest()


class _Bucket:
    """One bucket and prefix, every boto3 error turned into one line a user can act on."""

    def __init__(self, target: S3Target) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise SyncError("S3 sync needs boto3: pip install 'fleetui[s3]'") from None
        self.target = target
        from fleetui.config.schema import URL_WITH_PASSWORD

        if target.endpoint and URL_WITH_PASSWORD.match(target.endpoint):
            raise SyncError("the endpoint URL carries credentials; write it without them and use the AWS "
                            "credential chain (env vars, AWS_PROFILE, ~/.aws)")
        try:
            session = boto3.session.Session()
            region = session.region_name or "us-east-1"
            self.client = session.client(
                "s3", endpoint_url=target.endpoint, region_name=region,
                config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}),
            )
        except Exception as exc:  # noqa: BLE001 - a bad profile or endpoint is said in one line
            raise self._error(exc, "connect") from None

    def _error(self, exc: Exception, what: str) -> SyncError:
        from botocore import exceptions as boto

        target, place = self.target, self.target.endpoint or "AWS S3"
        if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
            return SyncError(f"no AWS credentials for {target}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                             "or AWS_PROFILE / ~/.aws/credentials (never the fleet file)")
        if isinstance(exc, boto.ProfileNotFound):
            return SyncError(f"{exc}; check AWS_PROFILE and ~/.aws/config")
        if isinstance(exc, boto.EndpointConnectionError | boto.ConnectTimeoutError | boto.ReadTimeoutError
                      | boto.ConnectionClosedError):
            return SyncError(f"cannot reach {place}: no network, or the endpoint is down; nothing was changed")
        if isinstance(exc, ValueError) and "endpoint" in str(exc).lower():
            return SyncError(f"bad S3 endpoint {target.endpoint!r}: {exc}")
        if isinstance(exc, boto.ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "")) or str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
            if code == "NoSuchBucket":
                return SyncError(f"bucket {target.bucket!r} does not exist at {place}: create it, or check --bucket")
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "InvalidToken",
                        "ExpiredToken", "AuthorizationHeaderMalformed"):
                return SyncError(f"{place} refused your AWS credentials for bucket {target.bucket!r} ({code}): check "
                                 "the access key and secret (env vars, AWS_PROFILE) and the bucket's policy")
            return SyncError(f"S3 {what} on {target} failed: {code}: {error.get('Message', exc)}")
        return SyncError(f"S3 {what} on {target} failed: {exc}")

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.target.bucket, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, what) from None

    def manifest(self) -> tuple[Manifest | None, str | None]:
        """The current manifest and its ETag; (None, None) when nothing is published yet."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            reply = self.client.get_object(Bucket=self.target.bucket, Key=self.target.key(MANIFEST))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                return None, None
            raise self._error(exc, "manifest") from None
        except BotoCoreError as exc:
            raise self._error(exc, "manifest") from None
        body = reply["Body"].read()
        try:
            return Manifest.model_validate_json(body), reply["ETag"]
        except ValidationError as exc:
            first = str(exc).splitlines()[0]
            raise SyncError(f"{self.target}/{MANIFEST} is not a fleetui manifest ({first}); nothing was changed") from None

    def read(self, set_id: str, path: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            reply = self.client.get_object(Bucket=self.target.bucket, Key=self.target.key(f"sets/{set_id}/{path}"))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchKey":
                return None
            raise self._error(exc, "read") from None
        body: bytes = reply["Body"].read()
        return body.decode("utf-8")

    def read_set(self, manifest: Manifest) -> Tree:
        tree: Tree = {}
        for path, meta in sorted(manifest.files.items()):
            text = self.read(manifest.set, path)
            if text is None or _sha256(text) != meta.sha256:
                state = "is missing" if text is None else "does not match the manifest's SHA-256"
                raise SyncError(f"{self.target}/sets/{manifest.set}/{path} {state}; nothing was imported")
            tree[path] = text
        return tree

    def put(self, key: str, text: str, content_type: str, **conditions: str) -> None:
        self._call("upload", "put_object", Key=self.target.key(key), Body=text.encode("utf-8"),
                   ContentType=content_type, **conditions)


def _who() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (OSError, KeyError):
        return "unknown"


def _last_seen(store: Store, target: S3Target) -> str | None:
    from fleetui.store.shared import last_sync

    sync = last_sync(store, "s3", target.source)
    return sync.version if sync else None


def publish(target: S3Target, fleet_file: Path, store: Store) -> S3Outcome:
    """Upload the fleet's tree as a new set, then point the manifest at it."""
    from fleetui.store.shared import SyncRecord, record_sync

    text, fleet = read_fleet_file(fleet_file)
    tree = build_tree(text, fleet, store)
    bucket = _Bucket(target)
    current, etag = bucket.manifest()
    outcome = S3Outcome(str(target))
    if current is not None and current.set != _last_seen(store, target):
        raise SyncError(f"{target} has set {current.set} by {current.published_by or 'someone'} that you have not "
                        "pulled; run `fleetui pull s3` first (nothing was uploaded)")
    digest = _digest(tree)
    if current is not None and current.digest == digest:
        outcome.set_id, outcome.unchanged, outcome.files = current.set, True, len(tree)
        record_sync(store, SyncRecord(time.time(), "s3", target.source, "publish", current.set,
                                      f"set {current.set} is already current"))
        return outcome
    if current is not None:
        changed = [p for p in current.files if p not in tree or current.files[p].sha256 != _sha256(tree[p])]
        before = {p: t for p in changed if (t := bucket.read(current.set, p)) is not None}
        unchanged = {p: tree[p] for p in tree if p not in changed}
        outcome.changes = describe_changes({**unchanged, **before}, tree)
    else:
        outcome.changes = describe_changes({}, tree)
    now = time.time()
    set_id = f"{dt.datetime.fromtimestamp(now, dt.UTC):%Y%m%dT%H%M%SZ}-{digest[:12]}"
    for path, body in sorted(tree.items()):
        kind = "application/json" if path.endswith(".json") else "text/markdown" if path.endswith(".md") else "application/toml"
        bucket.put(f"sets/{set_id}/{path}", body, kind)
    manifest = Manifest(
        format=FORMAT, set=set_id, digest=digest, published_by=_who(),
        published_at=dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds"),
        previous=current.set if current else None, changes=outcome.changes,
        files={p: _ManifestFile(sha256=_sha256(t), size=len(t.encode("utf-8"))) for p, t in tree.items()},
    )
    # Last, and only over the manifest this store saw: a teammate who published meanwhile wins
    # the race, and this publish stops with nothing replaced (their set stays current).
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        bucket.put(MANIFEST, json.dumps(manifest.model_dump(), indent=2, sort_keys=True) + "\n",
                   "application/json", **condition)
    except SyncError as exc:
        if "PreconditionFailed" in str(exc) or "ConditionalRequestConflict" in str(exc):
            raise SyncError(f"someone published to {target} while you did; run `fleetui pull s3` and publish "
                            "again (their set stays current, yours was not made current)") from None
        raise
    outcome.set_id, outcome.files = set_id, len(tree)
    record_sync(store, SyncRecord(now, "s3", target.source, "publish", set_id,
                                  f"published set {set_id}: " + ("; ".join(outcome.changes) or "no change")))
    return outcome


def pull(target: S3Target, fleet_file: Path, store: Store, *, prefer: Prefer = Prefer.NONE) -> S3Outcome:
    """Merge the current set's fleet file into the user's and import its rankings and models."""
    from fleetui.store.shared import Origin, SyncRecord, record_sync, replace_shared

    bucket = _Bucket(target)
    current, _ = bucket.manifest()
    outcome = S3Outcome(str(target))
    if current is None:
        return outcome
    outcome.set_id, outcome.published_by, outcome.files = current.set, current.published_by, len(current.files)
    seen = _last_seen(store, target)
    if current.set == seen:
        outcome.unchanged = True
        return outcome
    tree = bucket.read_set(current)
    rankings, models = read_shared(tree, f"{target}/sets/{current.set}")
    ours, _ = read_fleet_file(fleet_file)
    base = bucket.read(seen, FLEET_FILE) if seen else None
    merged, _ = merge_fleet(fleet_file, ours, base, tree.get(FLEET_FILE), prefer=prefer, where=f"set {current.set}")
    outcome.fleet_file_changed = write_merged(fleet_file, ours, merged)
    published_ts = dt.datetime.fromisoformat(current.published_at).timestamp() if current.published_at else None
    now = time.time()
    replace_shared(store, Origin(target.source, current.set, current.published_by, published_ts, now), rankings, models)
    outcome.imported_rankings, outcome.imported_models = len(rankings), len(models)
    outcome.changes = current.changes
    record_sync(store, SyncRecord(now, "s3", target.source, "pull", current.set,
                                  f"pulled set {current.set} by {current.published_by or 'someone'}"))
    return outcome
