"""`fleetui sync git`, `fleetui sync status`, `fleetui publish s3` and `fleetui pull s3`: share the
fleet file, rankings and model metadata with a team through a git remote or an S3 bucket."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fleetui.cli.context import CliContext, CliError

_PREFER_HELP = ("settle lines both you and the teammate changed by keeping yours or theirs "
                "(default: stop and say where)")


def register(subparsers: Any) -> None:
    sync = subparsers.add_parser(
        "sync",
        help="share the fleet through a git repository (fleet file, rankings, models, recommendations)",
        description="Share the fleet with a team through a git repository: `sync git` writes the fleet "
        "file as you wrote it, rankings/<use_case>.json, models/<id>.json (metadata, price and its "
        "source, health, 30-day usage), recommendations.json and a README, and commits them with a "
        "message that says what changed. `sync status` shows the last syncs and what teammates shared.",
    )
    actions = sync.add_subparsers(dest="sync_command", metavar="WHERE", required=True)
    git = actions.add_parser(
        "git",
        help="commit the fleet's tree; --pull merges a teammate's changes, --push publishes yours",
        description="Commit the fleet's tree to fleetui's own clone of the remote (in the data folder). "
        "--pull merges the remote's fleet file into yours with a three-way merge that keeps comments, "
        "or stops on a conflict and says where, writing nothing; teammates' rankings and model "
        "metadata go into the store marked with where they came from. --push pushes the commit. "
        "Credentials are git's own (credential helper, SSH agent). Exit 1 on any failure, with one line "
        "that says what to do; nothing local is lost.",
    )
    git.add_argument("--repo", metavar="PATH|URL", help="the git remote (default: [sync] git in the fleet file)")
    git.add_argument("--branch", help="its branch (default: [sync] branch, main)")
    git.add_argument("--pull", action="store_true", help="merge the remote's changes first")
    git.add_argument("--push", action="store_true", help="push the commit to the remote")
    git.add_argument("--prefer", choices=["ours", "theirs"], help=_PREFER_HELP)
    git.add_argument("--json", action="store_true", help="print the outcome as JSON")
    git.set_defaults(run=run_git)
    now = actions.add_parser(
        "now", help="sync to every place [sync] names (git: pull, commit, push; bucket: pull, publish)",
        description="What the app's sync key does: for [sync] git, `sync git --pull --push`; for [sync] "
        "s3_bucket, `pull s3` then `publish s3`. Each place is tried even when another fails; exit 1 "
        "when any failed.",
    )
    now.add_argument("--json", action="store_true", help="print one result per place as JSON")
    now.set_defaults(run=run_now)
    status = actions.add_parser(
        "status", help="the last syncs and the rankings teammates shared",
        description="The last sync to each place, and the rankings and models pulled from teammates "
        "(with where each came from).",
    )
    status.add_argument("--json", action="store_true", help="print as JSON")
    status.set_defaults(run=run_status)

    for verb, text in (("publish", "publish the fleet's tree to an S3-compatible bucket"),
                       ("pull", "pull a teammate's published tree from an S3-compatible bucket")):
        parser = subparsers.add_parser(verb, help=text, description=text + ".")
        where = parser.add_subparsers(dest=f"{verb}_command", metavar="WHERE", required=True)
        s3 = where.add_parser(
            "s3", help=text,
            description=(
                "Publish: upload the tree as a new set under PREFIX/sets/<id>/, then PREFIX/manifest.json "
                "last (only if nobody published since your last pull), so a reader never sees half a set. "
                if verb == "publish" else
                "Pull: read PREFIX/manifest.json and its set (checking every file's SHA-256), merge the "
                "fleet file into yours (three-way, keeping comments; stops on a conflict), and import the "
                "rankings and model metadata into the store, marked with where they came from. "
            ) + "Credentials come from the standard AWS chain (env vars, AWS_PROFILE, ~/.aws), never the "
            "fleet file. Works with AWS S3, MinIO, Cloudflare R2 and other S3-compatible stores. "
            "Needs boto3: pip install 'fleetui[s3]'.",
        )
        s3.add_argument("--bucket", help="bucket (default: [sync] s3_bucket)")
        s3.add_argument("--prefix", help="folder in the bucket (default: [sync] s3_prefix)")
        s3.add_argument("--endpoint", metavar="URL", help="S3-compatible endpoint (default: [sync] s3_endpoint, AWS)")
        if verb == "pull":
            s3.add_argument("--prefer", choices=["ours", "theirs"], help=_PREFER_HELP)
        s3.add_argument("--json", action="store_true", help="print the outcome as JSON")
        s3.set_defaults(run=run_publish_s3 if verb == "publish" else run_pull_s3)


def _failed(exc: Exception) -> CliError:
    return CliError(str(exc), exit_code=1)


def run_git(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.sync import SyncError
    from fleetui.sync.git import GitOptions, sync_git
    from fleetui.sync.merge import Prefer

    source = ctx.own_fleet_source() if args.pull else ctx.fleet_source()
    settings = ctx.fleet().sync
    remote = args.repo or settings.git
    if not remote:
        raise CliError("no git remote: pass --repo PATH|URL, or set `git = \"…\"` under [sync] in the fleet file")
    options = GitOptions(
        remote=remote, branch=args.branch or settings.branch, fleet_file=source.path, pull=args.pull,
        push=args.push, prefer=Prefer(args.prefer or "none"), interactive=sys.stdin.isatty(),
    )
    try:
        outcome = sync_git(options, ctx.store())
    except SyncError as exc:
        raise _failed(exc) from None
    if args.json:
        ctx.print_json({
            "remote": outcome.remote, "branch": outcome.branch, "clone": outcome.clone, "commit": outcome.commit,
            "committed": outcome.committed, "message": outcome.message, "changes": outcome.changes,
            "merged": outcome.merged, "fleet_file_changed": outcome.fleet_file_changed,
            "imported_rankings": outcome.imported_rankings, "imported_models": outcome.imported_models,
            "pushed": outcome.pushed,
        })
        return 0
    if outcome.merged:
        print(f"merged origin/{outcome.branch} ({outcome.merged[:8]}): "
              + (f"your fleet file {source.path} now has their changes (previous version: {source.path.name}.bak)"
                 if outcome.fleet_file_changed else "no change to your fleet file")
              + f"; imported {outcome.imported_rankings} ranking rows and {outcome.imported_models} models")
    if outcome.committed and outcome.message:
        print(f"committed {outcome.commit[:8] if outcome.commit else ''} in {outcome.clone}")
        print("\n".join(f"  {line}" for line in outcome.message.splitlines() if line.strip()))
    else:
        print("nothing changed since the last sync")
    if outcome.pushed:
        print(f"pushed to origin/{outcome.branch} at {outcome.remote}")
    elif not args.push and outcome.committed:
        print("not pushed; run with --push to share it")
    return 0


def _s3_target(args: argparse.Namespace, ctx: CliContext) -> Any:
    from fleetui.sync.s3 import S3Target

    settings = ctx.fleet().sync
    bucket = args.bucket or settings.s3_bucket
    if not bucket:
        raise CliError("no bucket: pass --bucket, or set `s3_bucket = \"…\"` under [sync] in the fleet file")
    prefix = settings.s3_prefix if args.prefix is None else args.prefix
    return S3Target(bucket=bucket, prefix=prefix, endpoint=args.endpoint or settings.s3_endpoint)


def run_publish_s3(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.sync import SyncError
    from fleetui.sync.s3 import publish
    from fleetui.sync.tree import commit_message

    target = _s3_target(args, ctx)
    try:
        outcome = publish(target, ctx.fleet_source().path, ctx.store())
    except SyncError as exc:
        raise _failed(exc) from None
    if args.json:
        ctx.print_json(outcome.as_json())
    elif outcome.unchanged:
        print(f"nothing changed since set {outcome.set_id} at {target}; nothing uploaded")
    else:
        print(f"published set {outcome.set_id} to {target}: {outcome.files} files, manifest written last")
        if outcome.changes:
            print("  " + commit_message(outcome.changes).splitlines()[0])
    return 0


def run_pull_s3(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.sync import SyncError
    from fleetui.sync.merge import Prefer
    from fleetui.sync.s3 import pull

    target = _s3_target(args, ctx)
    source = ctx.own_fleet_source()
    try:
        outcome = pull(target, source.path, ctx.store(), prefer=Prefer(args.prefer or "none"))
    except SyncError as exc:
        raise _failed(exc) from None
    if args.json:
        ctx.print_json(outcome.as_json())
        return 0
    if outcome.set_id is None:
        print(f"nothing published at {target} yet")
        return 0
    if outcome.unchanged:
        print(f"already up to date with set {outcome.set_id} at {target}")
        return 0
    by = f" by {outcome.published_by}" if outcome.published_by else ""
    print(f"pulled set {outcome.set_id}{by} from {target}: "
          + (f"merged into {source.path} (previous version: {source.path.name}.bak)" if outcome.fleet_file_changed
             else "no change to your fleet file")
          + f"; imported {outcome.imported_rankings} ranking rows and {outcome.imported_models} models")
    return 0


def run_now(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.sync.auto import is_configured, sync_everywhere

    settings = ctx.fleet().sync
    if not is_configured(settings):
        raise CliError("nowhere to sync: set `git = \"…\"` or `s3_bucket = \"…\"` under [sync] in the fleet file")
    reports = sync_everywhere(settings, ctx.own_fleet_source().path, ctx.store(), interactive=sys.stdin.isatty())
    if args.json:
        ctx.print_json(reports)
    else:
        for report in reports:
            print(f"{report.place}: {report.line}", file=sys.stdout if report.ok else sys.stderr)
    return 0 if all(r.ok for r in reports) else 1


def sync_after(ctx: CliContext, reason: str) -> None:
    """After `apply` or an accepted recommendation: sync when [sync] asks for it. A failed sync
    is said on stderr and does not undo or fail the change itself."""
    from fleetui.sync.auto import Reason, sync_everywhere, wanted

    settings = ctx.fleet().sync
    if not wanted(settings, Reason(reason)):
        return
    for report in sync_everywhere(settings, ctx.fleet_source().path, ctx.store(), interactive=sys.stdin.isatty()):
        ctx.note(f"sync to {report.place}: {report.line}" if report.ok
                 else f"fleetui: the change is saved, but the sync to {report.place} failed: {report.line}")


def run_status(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.store.shared import last_syncs, shared_rankings
    from fleetui.sync.status import ago

    store = ctx.store()
    syncs, rankings = last_syncs(store), shared_rankings(store)
    if args.json:
        ctx.print_json({"syncs": syncs, "shared_rankings": rankings})
        return 0
    if not syncs:
        print("never synced; share the fleet with `fleetui sync git --repo URL --push` or `fleetui publish s3 --bucket B`")
    for sync in syncs:
        print(f"{sync.kind:<4} {sync.action:<8} {ago(sync.ts)} to {sync.target}: {sync.summary}")
    if rankings:
        print("\nshared by teammates (best per use case):")
        for row in rankings:
            if row["rank"] == 1:
                score = "—" if row["score"] is None else f"{row['score']:.1f}"
                print(f"  {row['use_case']:<18} {row['model_id']:<18} {score:>5}  n={row['n']:,}  "
                      f"from {row['source']} ({row['published_by'] or 'unknown'})")
    return 0
