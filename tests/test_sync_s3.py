"""`fleetui publish s3` / `fleetui pull s3` against a real S3 API: moto's standalone server on
127.0.0.1, spoken to over HTTP by boto3 exactly as AWS, MinIO or R2 would be."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from fleetui.store import Store
from fleetui.store.shared import shared_models, shared_rankings
from fleetui.sync import s3 as sync_s3
from tests.syncusers import Teammate, ann_fixture, bob_fixture, lookup_rule  # noqa: F401 - fixtures



@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def fake_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials through the standard chain (env); no real profile or config can leak in."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bucket(endpoint: str) -> str:
    name = f"team-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return name


def s3_args(endpoint: str, bucket: str) -> list[str]:
    return ["s3", "--bucket", bucket, "--prefix", "team/fleet", "--endpoint", endpoint]


def objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=endpoint)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def manifest(endpoint: str, bucket: str) -> dict[str, Any]:
    return json.loads(objects(endpoint, bucket)["team/fleet/manifest.json"])


def test_publish_writes_a_complete_set_then_the_manifest(ann: Teammate, endpoint: str, bucket: str) -> None:
    ann.record_calls("casual_chat", {"local-llama": (40, 900.0), "gpt-4o-mini": (30, 1500.0)})
    result = ann.run("publish", *s3_args(endpoint, bucket))
    assert result.code == 0, result.err
    current = manifest(endpoint, bucket)
    stored = objects(endpoint, bucket)
    prefix = f"team/fleet/sets/{current['set']}/"
    assert {f"{prefix}{p}" for p in current["files"]} | {"team/fleet/manifest.json"} == set(stored)
    assert stored[f"{prefix}fleet.toml"] == ann.fleet_file.read_bytes()
    ranking = json.loads(stored[f"{prefix}rankings/casual_chat.json"])
    assert ranking["models"][0]["model"] == "local-llama" and ranking["models"][0]["rank"] == 1
    assert "casual_chat: local-llama" in " ".join(current["changes"])
    assert "testing" not in b"".join(stored.values()).decode()  # no credential in what is published

    again = ann.run("publish", *s3_args(endpoint, bucket), "--json")
    assert again.code == 0 and json.loads(again.out)["unchanged"] is True
    assert set(objects(endpoint, bucket)) == set(stored)  # nothing uploaded twice


def test_two_teammates_share_through_a_bucket(ann: Teammate, bob: Teammate, endpoint: str, bucket: str) -> None:
    ann.record_calls("casual_chat", {"local-llama": (40, 900.0), "gpt-4o-mini": (30, 1500.0)})
    assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0
    first_set = manifest(endpoint, bucket)["set"]

    # Bob has not pulled: publishing would hide Ann's set, so it is refused.
    refused = bob.run("publish", *s3_args(endpoint, bucket))
    assert refused.code == 1 and "that you have not pulled" in refused.err and "fleetui pull s3" in refused.err
    assert manifest(endpoint, bucket)["set"] == first_set

    pulled = bob.run("pull", *s3_args(endpoint, bucket))
    assert pulled.code == 0, pulled.err
    with Store.open(bob.db) as store:
        ranks = shared_rankings(store, "casual_chat")
        models = {m["model_id"]: m for m in shared_models(store)}
    assert [(r["model_id"], r["rank"], r["n"]) for r in ranks] == [("local-llama", 1, 40), ("gpt-4o-mini", 2, 30)]
    assert ranks[0]["source"] == f"s3://{bucket}/team/fleet at {endpoint}" and ranks[0]["version"] == first_set
    assert models["local-llama"]["metadata"]["price_per_mtok"]["source"] == "override"

    bob.fleet_file.write_text(bob.fleet_file.read_text() + lookup_rule("Bob"))
    assert bob.run("publish", *s3_args(endpoint, bucket)).code == 0
    ann.edit("priority = 20\n", "priority = 25  # Ann: after vision\n")
    assert ann.run("publish", *s3_args(endpoint, bucket)).code == 1  # Bob's set is newer than hers

    merged = ann.run("pull", *s3_args(endpoint, bucket))
    assert merged.code == 0, merged.err
    text = ann.fleet_file.read_text()
    assert "priority = 25  # Ann: after vision" in text and "# Bob: lookups are cheap" in text
    assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0
    assert objects(endpoint, bucket)[f"team/fleet/sets/{manifest(endpoint, bucket)['set']}/fleet.toml"].decode() == text
    assert bob.run("pull", *s3_args(endpoint, bucket)).code == 0
    assert bob.fleet_file.read_text() == text  # both hold both edits
    assert first_set in {k.split("/")[3] for k in objects(endpoint, bucket) if "/sets/" in k}  # old sets stay


def test_a_conflict_stops_says_where_and_writes_nothing(ann: Teammate, bob: Teammate, endpoint: str, bucket: str) -> None:
    assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0
    assert bob.run("pull", *s3_args(endpoint, bucket)).code == 0
    ann.edit("priority = 50\n", "priority = 45\n")
    assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0
    bob.edit("priority = 50\n", "priority = 70\n")
    mine = bob.fleet_file.read_text()
    line = mine[: mine.index("priority = 70")].count("\n") + 1
    result = bob.run("pull", *s3_args(endpoint, bucket))
    assert result.code == 1 and f"{bob.fleet_file}:{line} in [[rules]] casual-to-local" in result.err
    assert bob.fleet_file.read_text() == mine
    with Store.open(bob.db) as store:  # still the first set's rankings: nothing half imported
        assert {r["version"] for r in shared_rankings(store)} <= {manifest(endpoint, bucket)["previous"]}
    settled = bob.run("pull", *s3_args(endpoint, bucket), "--prefer", "theirs")
    assert settled.code == 0 and "priority = 45" in bob.fleet_file.read_text()


def test_a_publish_cut_off_half_way_leaves_the_last_set_current(
    ann: Teammate, bob: Teammate, endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0
    before = manifest(endpoint, bucket)
    ann.edit("priority = 50\n", "priority = 45\n")
    real_put = sync_s3._Bucket.put
    uploads: list[str] = []

    def network_drops(self: Any, key: str, text: str, content_type: str, **conditions: str) -> None:
        uploads.append(key)
        if len(uploads) == 4:
            raise self._error(EndpointConnectionError(endpoint_url=endpoint), "upload")
        real_put(self, key, text, content_type, **conditions)

    monkeypatch.setattr(sync_s3._Bucket, "put", network_drops)
    result = ann.run("publish", *s3_args(endpoint, bucket))
    assert result.code == 1 and f"cannot reach {endpoint}" in result.err
    assert manifest(endpoint, bucket) == before  # readers still see the last complete set
    monkeypatch.setattr(sync_s3._Bucket, "put", real_put)
    assert bob.run("pull", *s3_args(endpoint, bucket)).code == 0
    assert "priority = 50" in bob.fleet_file.read_text()


def test_a_teammate_publishing_meanwhile_wins_the_race(
    ann: Teammate, bob: Teammate, endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0
    assert bob.run("pull", *s3_args(endpoint, bucket)).code == 0
    bob.edit("priority = 20\n", "priority = 21\n")
    ann.edit("priority = 50\n", "priority = 45\n")
    real_put = sync_s3._Bucket.put
    raced: list[bool] = []

    def ann_publishes_first(self: Any, key: str, text: str, content_type: str, **conditions: str) -> None:
        if not raced:  # Bob's first upload: Ann's whole publish happens right now, for real
            raced.append(True)
            monkeypatch.setattr(sync_s3._Bucket, "put", real_put)
            assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0
            monkeypatch.setattr(sync_s3._Bucket, "put", ann_publishes_first)
        real_put(self, key, text, content_type, **conditions)

    monkeypatch.setattr(sync_s3._Bucket, "put", ann_publishes_first)
    result = bob.run("publish", *s3_args(endpoint, bucket))
    anns = manifest(endpoint, bucket)
    assert result.code == 1 and "someone published" in result.err
    assert "priority = 45" in objects(endpoint, bucket)[f"team/fleet/sets/{anns['set']}/fleet.toml"].decode()


def test_a_tampered_object_is_not_imported(ann: Teammate, bob: Teammate, endpoint: str, bucket: str) -> None:
    ann.record_calls("casual_chat", {"local-llama": (40, 900.0)})
    assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0
    key = f"team/fleet/sets/{manifest(endpoint, bucket)['set']}/rankings/casual_chat.json"
    boto3.client("s3", endpoint_url=endpoint).put_object(Bucket=bucket, Key=key, Body=b'{"use_case": "x"}')
    before = bob.fleet_file.read_text()
    result = bob.run("pull", *s3_args(endpoint, bucket))
    assert result.code == 1 and "rankings/casual_chat.json does not match the manifest's SHA-256" in result.err
    with Store.open(bob.db) as store:
        assert shared_rankings(store) == []
    assert bob.fleet_file.read_text() == before


def test_a_bucket_that_does_not_exist(ann: Teammate, endpoint: str) -> None:
    for verb in ("publish", "pull"):
        result = ann.run(verb, "s3", "--bucket", "no-such-bucket", "--endpoint", endpoint)
        assert result.code == 1 and "bucket 'no-such-bucket' does not exist" in result.err
        assert result.err.count("\n") == 1


def test_no_network(ann: Teammate) -> None:
    result = ann.run("publish", "s3", "--bucket", "team", "--endpoint", "http://127.0.0.1:9")
    assert result.code == 1 and "cannot reach http://127.0.0.1:9" in result.err


def test_no_credentials(ann: Teammate, endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup off the machine
    result = ann.run("publish", *s3_args(endpoint, bucket))
    assert result.code == 1 and "no AWS credentials" in result.err and "AWS_PROFILE" in result.err


def _moto_auth(endpoint: str, value: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=value.encode(), method="POST",
                                     headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request).close()


def test_wrong_credentials(ann: Teammate, endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    iam = boto3.client("iam", endpoint_url=endpoint)
    user = f"ann-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    _moto_auth(endpoint, "0")  # from now on the server checks every signature
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        result = ann.run("publish", *s3_args(endpoint, bucket))
        assert result.code == 1 and "refused your AWS credentials" in result.err and "SignatureDoesNotMatch" in result.err
        assert "not-the-secret" not in result.err
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0  # the right key works
    finally:
        _moto_auth(endpoint, "inf")


def test_bucket_and_prefix_come_from_the_fleet_file(ann: Teammate, endpoint: str, bucket: str) -> None:
    missing = ann.run("publish", "s3")
    assert missing.code == 2 and "no bucket: pass --bucket" in missing.err
    ann.fleet_file.write_text(ann.fleet_file.read_text()
                              + f'\n[sync]\ns3_bucket = "{bucket}"\ns3_prefix = "shared"\ns3_endpoint = "{endpoint}"\n')
    assert ann.run("publish", "s3").code == 0
    assert "shared/manifest.json" in objects(endpoint, bucket)


def test_a_first_pull_into_a_fresh_fleet_takes_the_teams(ann: Teammate, bob: Teammate, endpoint: str, bucket: str) -> None:
    ann.edit("priority = 50\n", "priority = 45  # Ann: before long documents\n")
    assert ann.run("publish", *s3_args(endpoint, bucket)).code == 0
    assert bob.run("pull", *s3_args(endpoint, bucket)).code == 0  # Bob's file is still `fleetui init`'s sample
    assert bob.fleet_file.read_text() == ann.fleet_file.read_text()
    assert (bob.home / "fleet.toml.bak").read_bytes() == (Path(__file__).resolve().parent.parent / "sample_fleet.toml").read_bytes()


def test_a_bad_endpoint_in_the_fleet_file_says_where(ann: Teammate) -> None:
    text = ann.fleet_file.read_text() + '\n[sync]\ns3_bucket = "team"\ns3_endpoint = "minio:9000"\n'
    ann.fleet_file.write_text(text)
    line = text.count("\n")  # the last line
    result = ann.run("publish", "s3")
    # file:line:column, and exit 1 as for every fleet file problem
    where = f"{ann.fleet_file}:{line}:15: sync.s3_endpoint: s3_endpoint must start with http://"
    assert result.code == 1 and where in result.err


def test_credentials_in_the_endpoint_url_are_refused(ann: Teammate) -> None:
    result = ann.run("publish", "s3", "--bucket", "team", "--endpoint", "http://AKIAX:secret@127.0.0.1:9")
    assert result.code == 1 and "carries credentials" in result.err and "secret" not in result.err
