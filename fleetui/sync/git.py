"""`fleetui sync git`: the shared tree in a git repository, through the git command the user
has, with git's own credentials (credential helper, SSH agent) — fleetui never sees them.

fleetui keeps its own clone of the remote in the data folder (one per remote); that clone is a
cache that fleetui resets at the start of every sync, so an interrupted sync leaves nothing half
done behind. The user's fleet file is the one they edit; it reaches the clone as `fleet.toml`
and comes back from a teammate through a three-way merge (:mod:`fleetui.sync.merge`) whose
base is the fleet file of the last commit both sides share.

Order of work, so that a failure changes nothing local: fetch; merge the fleet file's text in
memory (a conflict stops here); read and check the teammate's tree; then the clone, the user's
fleet file (atomically, previous version kept as .bak) and the store; then commit; then push.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from fleetui import locations
from fleetui.store import Store
from fleetui.sync import SyncError
from fleetui.sync.merge import Prefer, merge_fleet, read_fleet_file, write_merged
from fleetui.sync.tree import FLEET_FILE, MODELS_DIR, Tree, build_tree, commit_message, describe_changes, read_shared

GIT_TIMEOUT_S = 120.0

_NETWORK = ("could not resolve host", "could not resolve hostname", "network is unreachable", "connection refused",
            "connection timed out", "failed to connect", "operation timed out", "couldn't connect",
            "no route to host", "connection reset")
_CREDENTIALS = ("authentication failed", "could not read username", "could not read password",
                "permission denied (publickey", "terminal prompts disabled", "invalid username or password",
                "the requested url returned error: 403", "the requested url returned error: 401",
                "host key verification failed")
_NOT_A_REPO = ("does not appear to be a git repository", "repository not found", "not a git repository",
               "the requested url returned error: 404", "no such file or directory", "not found")
_REJECTED = ("[rejected]", "non-fast-forward", "fetch first", "failed to push some refs")


@dataclass(frozen=True, slots=True)
class GitOptions:
    remote: str  # URL or path, as git takes it
    branch: str
    fleet_file: Path
    pull: bool = False
    push: bool = False
    prefer: Prefer = Prefer.NONE
    interactive: bool = False  # may git ask for a password on the terminal?


@dataclass(slots=True)
class GitOutcome:
    remote: str
    branch: str
    clone: Path
    commit: str | None = None  # HEAD after the sync
    committed: bool = False
    message: str | None = None
    changes: list[str] = field(default_factory=list)
    merged: str | None = None  # the teammate's commit brought in
    fleet_file_changed: bool = False
    imported_rankings: int = 0
    imported_models: int = 0
    pushed: bool = False

    @property
    def target(self) -> str:
        return f"origin/{self.branch} ({self.remote})"

    def summary(self) -> str:
        parts = []
        if self.merged:
            parts.append(f"merged {self.merged[:8]} from origin/{self.branch}"
                         + (" into your fleet file" if self.fleet_file_changed else ""))
        parts.append(f"committed {self.commit[:8] if self.commit else '?'}: {self.message.splitlines()[0]}"
                     if self.committed and self.message else "nothing new to commit")
        if self.pushed:
            parts.append(f"pushed to origin/{self.branch}")
        return "; ".join(parts)


def clone_dir(remote: str) -> Path:
    """fleetui's own clone of `remote`, in the data folder."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", remote).strip("-")[-40:] or "remote"
    return locations.data_dir() / "sync" / "git" / f"{slug}-{hashlib.sha256(remote.encode()).hexdigest()[:8]}"


def normalise_remote(remote: str) -> str:
    """A local path made absolute (the clone runs git elsewhere); a URL unchanged. A URL with a
    password or token in it is refused: it would end up in the store, the clone's path and the
    screen."""
    from fleetui.config.schema import URL_WITH_PASSWORD

    if URL_WITH_PASSWORD.match(remote):
        raise SyncError("the remote URL carries a password or token; give git the URL without it and keep the "
                        "token in git's credential helper (e.g. `git credential approve`, `gh auth login`)")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", remote) or re.match(r"^[^/]+@[^:/]+:", remote):
        return remote
    return str(Path(remote).expanduser().resolve())


class _Repo:
    def __init__(self, path: Path, remote: str, branch: str, interactive: bool) -> None:
        self.path = path
        self.remote = remote
        self.branch = branch
        self.env = dict(os.environ, LC_ALL="C", LANGUAGE="C")  # messages we can recognise
        if not interactive:
            # Credentials come from git's helpers or an SSH agent; nothing may stop to ask on a
            # terminal that is not there (a script, or the app's worker thread).
            self.env["GIT_TERMINAL_PROMPT"] = "0"
            if "GIT_SSH_COMMAND" not in os.environ and not self._config("core.sshCommand"):
                self.env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"

    def _config(self, key: str) -> str | None:
        done = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True, check=False,
                              env=dict(os.environ, LC_ALL="C"))
        return done.stdout.strip() or None

    def run(self, *args: str, check: bool = True, stdin: bytes | None = None, network: bool = False) -> bytes:
        code, out, err = self.status(*args, stdin=stdin)
        if check and code != 0:
            raise self._error(args[0], err.decode(errors="replace"), network)
        return out

    def status(self, *args: str, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
        """git's exit status, stdout and stderr; a SyncError only when git cannot run at all."""
        try:
            done = subprocess.run(
                ["git", *args], cwd=self.path, env=self.env, capture_output=True, input=stdin,
                timeout=GIT_TIMEOUT_S, check=False,
            )
        except FileNotFoundError:
            raise SyncError("git is not installed or not on PATH; install git to sync through a repository") from None
        except subprocess.TimeoutExpired:
            raise SyncError(f"git {args[0]} with {self.remote} took over {GIT_TIMEOUT_S:.0f} s; "
                            "check the network and try again") from None
        return done.returncode, done.stdout, done.stderr

    def text(self, *args: str) -> str:
        return self.run(*args).decode("utf-8").strip()

    def _error(self, command: str, stderr: str, network: bool) -> SyncError:
        said = stderr.lower()
        last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "no message")
        if "please tell me who you are" in said or "empty ident" in said:
            return SyncError("git does not know who you are, so it cannot commit: run "
                             "`git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`")
        if network:
            if "refusing to update checked out branch" in said or "checked out" in said and "refus" in said:
                return SyncError(f"{self.remote} is a working copy with {self.branch} checked out; push to a bare "
                                 "repository (`git init --bare`) or to a hosted one instead")
            if any(s in said for s in _REJECTED):
                return self.not_pulled()
            if any(s in said for s in _CREDENTIALS):
                return SyncError(f"{self.remote} refused your git credentials ({last}); set up git's credential "
                                 f"helper or SSH key, check with `git ls-remote {self.remote}`")
            if any(s in said for s in _NETWORK):
                return SyncError(f"cannot reach {self.remote}: no network, or the host is down ({last}); "
                                 "nothing was changed, try again later")
            if any(s in said for s in _NOT_A_REPO):
                return SyncError(f"{self.remote} is not a git repository you can reach ({last}); check --repo "
                                 "or [sync] git in the fleet file")
        return SyncError(f"git {command} failed in {self.path}: {last}")

    def not_pulled(self) -> SyncError:
        return SyncError(f"origin/{self.branch} at {self.remote} has commits you have not pulled; run "
                         "`fleetui sync git --pull --push` to merge them first (nothing was pushed)")

    # -- state -----------------------------------------------------------------------------

    def prepare(self) -> bool:
        """Create the clone, or bring it back to its last commit. True when it was just created."""
        created = not (self.path / ".git").is_dir()
        if created:
            self.path.mkdir(parents=True, exist_ok=True)
            self.run("init", "-q")
            self.run("remote", "add", "origin", self.remote)
        else:
            self.run("remote", "set-url", "origin", self.remote)
        self.run("symbolic-ref", "HEAD", f"refs/heads/{self.branch}")
        if self.head() is not None:
            self.run("reset", "-q", "--hard", "HEAD")  # also ends a merge a crash left open
            self.run("clean", "-q", "-fd")
        else:
            self.run("read-tree", "--empty")
            for child in self.path.iterdir():
                if child.name != ".git":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        return created

    def check_identity(self) -> None:
        self.run("var", "GIT_COMMITTER_IDENT")

    def head(self) -> str | None:
        return self.rev("HEAD")

    def rev(self, name: str) -> str | None:
        out = self.run("rev-parse", "-q", "--verify", f"{name}^{{commit}}", check=False)
        return out.decode().strip() or None

    def fetch(self) -> str | None:
        """Fetch the branch; its commit, or None when the remote does not have it yet."""
        heads = self.run("ls-remote", "--heads", "origin", f"refs/heads/{self.branch}", network=True)
        if not heads.strip():
            return None
        self.run("fetch", "-q", "origin", f"+refs/heads/{self.branch}:refs/remotes/origin/{self.branch}",
                 network=True)
        return self.rev(f"refs/remotes/origin/{self.branch}")

    def contains(self, ancestor: str, descendant: str | None) -> bool:
        if descendant is None:
            return False
        return self.status("merge-base", "--is-ancestor", ancestor, descendant)[0] == 0

    def merge_base(self, a: str | None, b: str) -> str | None:
        if a is None:
            return None
        out = self.run("merge-base", a, b, check=False).decode().strip()
        return out or None

    def show(self, rev: str | None, path: str) -> str | None:
        if rev is None:
            return None
        code, out, _ = self.status("show", f"{rev}:{path}")
        return out.decode("utf-8") if code == 0 else None

    def tree_at(self, rev: str) -> Tree:
        names = [n for n in self.run("ls-tree", "-r", "-z", "--name-only", rev).decode().split("\0") if n]
        if not names:
            return {}
        out = self.run("cat-file", "--batch", stdin="".join(f"{rev}:{n}\n" for n in names).encode())
        tree: Tree = {}
        position = 0
        for name in names:
            header_end = out.index(b"\n", position)
            size = int(out[position:header_end].split()[2])
            tree[name] = out[header_end + 1:header_end + 1 + size].decode("utf-8", errors="replace")
            position = header_end + 1 + size + 1
        return tree

    def author(self, rev: str) -> tuple[str, float]:
        name, ts = self.text("log", "-1", "--format=%an <%ae>%x00%ct", rev).split("\0")
        return name, float(ts)

    # -- the work tree ---------------------------------------------------------------------

    def worktree(self) -> Tree:
        tree: Tree = {}
        for path in sorted(self.path.rglob("*")):
            relative = path.relative_to(self.path)
            if path.is_file() and relative.parts[0] != ".git":
                tree[relative.as_posix()] = path.read_text(encoding="utf-8", errors="replace")
        return tree

    def write(self, tree: Tree) -> None:
        """Write the generated tree. Model files follow the fleet file (a model it no longer has
        loses its file); rankings of use cases this store does not rank stay, a teammate's."""
        for name in self.worktree():
            if name.startswith(MODELS_DIR) and name not in tree:
                (self.path / name).unlink()
        # Plain writes: the clone is fleetui's cache, reset to its last commit at every start.
        for name, text in tree.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def sync_git(options: GitOptions, store: Store) -> GitOutcome:
    """Commit the fleet's tree to fleetui's clone of the remote; pull and push when asked."""
    from fleetui.store.shared import Origin, SyncRecord, record_sync, replace_shared

    remote = normalise_remote(options.remote)
    repo = _Repo(clone_dir(remote), remote, options.branch, options.interactive)
    outcome = GitOutcome(remote, options.branch, repo.path)
    ours, fleet = read_fleet_file(options.fleet_file)
    created = repo.prepare()
    repo.check_identity()
    theirs = repo.fetch() if options.pull or options.push or created else repo.rev(f"refs/remotes/origin/{options.branch}")
    head = repo.head()
    behind = theirs is not None and not repo.contains(theirs, head)
    if options.push and behind and not options.pull:
        raise repo.not_pulled()

    their_only: Tree = {}
    if options.pull and behind and theirs is not None:
        base_commit = repo.merge_base(head, theirs)
        merged, fleet = merge_fleet(options.fleet_file, ours, repo.show(base_commit, FLEET_FILE),
                                    repo.show(theirs, FLEET_FILE), prefer=options.prefer,
                                    where=f"origin/{options.branch}")
        their_tree = repo.tree_at(theirs)
        rankings, models = read_shared(their_tree, f"{remote}@{theirs[:8]}")
        published_by, published_ts = repo.author(theirs)
        # From here on, local things change: the clone, then the fleet file, then the store.
        if head is None:
            repo.run("checkout", "-q", "-B", options.branch, theirs)
        elif repo.contains(head, theirs):
            repo.run("merge", "-q", "--ff-only", theirs)
        else:
            their_only = {n: t for n, t in their_tree.items() if n not in repo.worktree()}
            repo.run("merge", "-q", "--no-commit", "--no-ff", "-s", "ours", "--allow-unrelated-histories", theirs)
        outcome.fleet_file_changed = write_merged(options.fleet_file, ours, merged)
        replace_shared(store, Origin(f"git:{remote}", theirs, published_by, published_ts, time.time()),
                       rankings, models)
        outcome.merged, outcome.imported_rankings, outcome.imported_models = theirs, len(rankings), len(models)
        ours = merged

    before = repo.worktree()
    repo.write({**their_only, **build_tree(ours, fleet, store)})
    after = repo.worktree()
    outcome.changes = describe_changes(before, after)
    repo.run("add", "-A")
    merging = outcome.merged if outcome.merged is not None and repo.rev("MERGE_HEAD") is not None else None
    if merging or repo.status("diff", "--cached", "--quiet")[0] == 1:
        changes = outcome.changes or ["no change to the tree"]
        if merging:
            changes = [f"merge origin/{options.branch} ({merging[:8]})", *changes]
        outcome.message = commit_message(changes)
        repo.run("commit", "-q", "-m", outcome.message)
        outcome.committed = True
    outcome.commit = repo.head()

    if options.push and outcome.commit is not None and outcome.commit != theirs:
        repo.run("push", "-q", "origin", f"HEAD:refs/heads/{options.branch}", network=True)
        repo.run("update-ref", f"refs/remotes/origin/{options.branch}", outcome.commit)
        outcome.pushed = True
    action = "push" if outcome.pushed else "pull" if outcome.merged else "commit"
    record_sync(store, SyncRecord(time.time(), "git", outcome.target, action, outcome.commit, outcome.summary()))
    return outcome

