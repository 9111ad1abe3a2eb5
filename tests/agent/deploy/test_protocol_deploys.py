"""Deploy wire models refuse bad sources and requests with reasons, and round-trip."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone

import pytest
from basepod_agent.protocol.deploys import (
    BUILD_LOG_ADAPTER,
    SOURCE_ADAPTER,
    BuildEnd,
    BuildLogChunk,
    DeployInfo,
    DeployRequest,
    DeployStatus,
    GitSource,
    ImageSource,
    ref_name_problem,
)
from pydantic import ValidationError


@pytest.mark.parametrize("url", [
    "https://github.com/owner/repo.git",
    "https://gitlab.example.com:8443/group/sub/repo",
    "ssh://git@github.com/owner/repo.git",
    "ssh://git@host:2222/srv/repo.git",
    "git://example.org/repo.git",
    "file:///srv/git/app.git",
    "git@github.com:owner/repo.git",
    "deploy@git.example.org:apps/web.git",
])
def test_git_urls_with_allowed_transports_are_accepted(url):
    assert GitSource(url=url).url == url


@pytest.mark.parametrize("url, fragment", [
    ("", "1 to"),
    ("http://example.com/repo.git", "scheme 'http' is not allowed"),
    ("ftp://example.com/repo.git", "not allowed"),
    ("ext::sh -c touch% /tmp/pwned", "spaces"),
    ("ext::sh", "remote-helper"),
    ("fd::3", "remote-helper"),
    ("--upload-pack=touch /tmp/x", "spaces"),
    ("-uhttps://x", "must not start with '-'"),
    ("https://", "no valid host"),
    ("https://github.com", "no repository path"),
    ("file://relative/path", "absolute path"),
    ("just-a-word", "not recognised"),
    ("https://exa mple.com/r", "spaces"),
])
def test_git_urls_that_could_run_commands_or_are_malformed_are_refused(url, fragment):
    with pytest.raises(ValidationError, match=fragment):
        GitSource(url=url)


VALID_BRANCHES = ["main", "feature/login", "release-1.2", "v1.0", "a/b/c", "fix_#12", "UPPER", "x@y"]
INVALID_BRANCHES = ["", "-rf", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[1]", "a\\b",
                    "/a", "a/", "a//b", "a.", ".hidden", "a/.b", "a.lock", "a/b.lock/c",
                    "@", "a@{1}", "HEAD", "tab\tbranch", "del\x7f"]


@pytest.mark.parametrize("branch", VALID_BRANCHES)
def test_valid_branch_names_are_accepted(branch):
    assert GitSource(url="https://h/r.git", branch=branch).branch == branch


@pytest.mark.parametrize("branch", INVALID_BRANCHES)
def test_invalid_branch_names_are_refused(branch):
    with pytest.raises(ValidationError, match="branch|is not a branch name"):
        GitSource(url="https://h/r.git", branch=branch)


# "HEAD" and "@" pass git's check but mean the current commit to git commands, so Basepod
# refuses them on purpose.
@pytest.mark.parametrize("branch", VALID_BRANCHES + [b for b in INVALID_BRANCHES if b not in ("", "HEAD", "@")])
def test_branch_rules_agree_with_git_check_ref_format(branch):
    """A name is valid when git accepts it both as refs/heads/<name> and as a --branch
    argument (the latter refuses a leading '-')."""
    as_ref = subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"], capture_output=True, check=False)
    as_branch = subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True, check=False)
    git_accepts = as_ref.returncode == 0 and as_branch.returncode == 0
    assert (ref_name_problem(branch) is None) == git_accepts, branch


@pytest.mark.parametrize("subdir, expected", [
    ("apps/web", "apps/web"), ("apps/web/", "apps/web"), ("./svc", "svc"), (".", None), (None, None),
])
def test_subdir_is_normalised_to_a_relative_path(subdir, expected):
    assert GitSource(url="https://h/r.git", subdir=subdir).subdir == expected


@pytest.mark.parametrize("subdir, fragment", [
    ("/etc", "not absolute"), ("../up", "'..'"), ("a/../../b", "'..'"), ("a\\b", "backslash"), ("", "empty"),
])
def test_subdirs_escaping_the_repository_are_refused(subdir, fragment):
    with pytest.raises(ValidationError, match=fragment):
        GitSource(url="https://h/r.git", subdir=subdir)


def test_source_union_is_chosen_by_its_type_field():
    git = SOURCE_ADAPTER.validate_python({"type": "git", "url": "git@h:o/r.git"})
    image = SOURCE_ADAPTER.validate_python({"type": "image", "image": "nginx:1.27"})
    assert isinstance(git, GitSource) and git.branch == "main"
    assert isinstance(image, ImageSource)
    with pytest.raises(ValidationError):
        SOURCE_ADAPTER.validate_python({"type": "svn", "url": "x"})


@pytest.mark.parametrize("commit", ["abc1234", "ABCDEF0", "a" * 40])
def test_deploy_request_accepts_7_to_40_hex_digits_and_lowercases(commit):
    assert DeployRequest(commit=commit).commit == commit.lower()


@pytest.mark.parametrize("commit", ["abc123", "a" * 41, "main", "HEAD~1", "abc123g", "--all"])
def test_deploy_request_refuses_anything_but_a_commit_id(commit):
    with pytest.raises(ValidationError, match="hexadecimal"):
        DeployRequest(commit=commit)


def test_deploy_request_without_commit_means_branch_head():
    assert DeployRequest().commit is None
    assert DeployRequest.model_validate({}).commit is None


def test_deploy_info_round_trips_through_json():
    info = DeployInfo(id="d1", app="web", source_type="git", commit="a" * 40, commit_message="fix",
                      triggered_by="admin@example.com", status=DeployStatus.BUILDING,
                      created_at=datetime(2024, 1, 1, tzinfo=timezone.utc), dockerfile_generated=True)
    assert DeployInfo.model_validate_json(info.model_dump_json()) == info


def test_finished_statuses_are_the_terminal_ones():
    assert {s for s in DeployStatus if s.finished} == {
        DeployStatus.SUCCESS, DeployStatus.FAILED, DeployStatus.CANCELLED, DeployStatus.INTERRUPTED}


def test_build_log_messages_are_told_apart_by_type():
    chunk = BUILD_LOG_ADAPTER.validate_json(BuildLogChunk(offset=5, text="x\n").model_dump_json())
    end = BUILD_LOG_ADAPTER.validate_json(BuildEnd(status=DeployStatus.FAILED).model_dump_json())
    assert isinstance(chunk, BuildLogChunk) and chunk.offset == 5
    assert isinstance(end, BuildEnd) and end.status is DeployStatus.FAILED
