"""unsafe_command: what may run as root (keepalived's enable_script_security)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from failover.security import unsafe_command
from tests.support import require
from tests.unit.children import script

NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def root() -> None:
    require(os.geteuid() == 0, "chown needs root")


@pytest.fixture
def exe(tmp_path: Path) -> Path:
    """A root-owned script, mode 0755, in a root-owned 0755 directory (tmp_path's
    parents are root's, mode 0700)."""
    (tmp_path / "bin").mkdir(mode=0o755)
    return script(tmp_path / "bin" / "check", "exit 0\n")


def refused(path: Path, euid: int = 0) -> str:
    reason = unsafe_command([str(path), "--flag"], euid)
    assert reason is not None, f"{path} was accepted"
    return reason


class TestWhoeverRunsIt:
    def test_relative_path_is_refused(self) -> None:
        for euid in (0, 1000):
            assert unsafe_command(["check.sh"], euid) == "'check.sh' is not an absolute path"
            assert unsafe_command(["bin/check"], euid) == "'bin/check' is not an absolute path"

    def test_empty_command(self) -> None:
        assert unsafe_command([], 0) == "the command is empty"

    def test_not_root_skips_the_ownership_checks(self, exe: Path) -> None:
        exe.chmod(0o777)
        assert unsafe_command([str(exe)], 1000) is None
        assert unsafe_command(["/nonexistent/check"], NOBODY.pw_uid) is None


@pytest.mark.usefixtures("root")
class TestAsRoot:
    def test_root_owned_script_is_accepted(self, exe: Path) -> None:
        assert unsafe_command([str(exe), "-v"], 0) is None

    def test_system_command_through_a_symlinked_directory(self) -> None:
        assert unsafe_command(["/bin/true"], 0) is None  # /bin is a symlink on merged /usr

    def test_missing_file(self, tmp_path: Path) -> None:
        assert refused(tmp_path / "gone") == f"{tmp_path}/gone: No such file or directory"

    def test_not_a_regular_file(self, tmp_path: Path) -> None:
        assert refused(tmp_path) == f"{tmp_path} is not a regular file"

    def test_world_writable_file(self, exe: Path) -> None:
        exe.chmod(0o757)
        assert refused(exe) == (
            f"{exe}: file {exe} is writable by everyone (mode 0757), "
            "so a user other than root could change what runs as root"
        )

    def test_group_writable_file(self, exe: Path) -> None:
        exe.chmod(0o775)
        assert unsafe_command([str(exe)], 0) is None  # group root
        os.chown(exe, 0, NOBODY.pw_gid)
        assert f"file {exe} is writable by group " in refused(exe)
        assert f"(gid {NOBODY.pw_gid}) (mode 0775)" in refused(exe)

    def test_file_owned_by_another_user(self, exe: Path) -> None:
        os.chown(exe, NOBODY.pw_uid, 0)
        assert f"file {exe} is owned by nobody (uid {NOBODY.pw_uid})" in refused(exe)

    def test_writable_directory_on_the_path(self, exe: Path) -> None:
        exe.parent.chmod(0o777)
        assert f"directory {exe.parent} is writable by everyone (mode 0777)" in refused(exe)

    def test_directory_owned_by_another_user(self, exe: Path) -> None:
        os.chown(exe.parent.parent, NOBODY.pw_uid, NOBODY.pw_gid)
        assert f"directory {exe.parent.parent} is owned by nobody" in refused(exe)

    def test_sticky_directory_is_not_refused_for_being_writable(self, exe: Path) -> None:
        exe.parent.chmod(0o1777)
        assert unsafe_command([str(exe)], 0) is None
        os.chown(exe, NOBODY.pw_uid, 0)  # but what is in it still must be root's
        assert f"file {exe} is owned by nobody" in refused(exe)

    def test_symlink_to_an_unsafe_place(self, tmp_path: Path, exe: Path) -> None:
        exe.parent.chmod(0o777)
        (tmp_path / "safe").mkdir(mode=0o755)
        link = tmp_path / "safe" / "check"
        link.symlink_to(exe)
        assert f"directory {exe.parent} is writable by everyone" in refused(link)

    def test_symlinked_directory_to_an_unsafe_place(self, tmp_path: Path, exe: Path) -> None:
        os.chown(exe.parent, NOBODY.pw_uid, 0)
        (tmp_path / "opt").symlink_to(exe.parent)
        assert f"directory {exe.parent} is owned by nobody" in refused(tmp_path / "opt" / "check")

    def test_symlink_owned_by_another_user(self, tmp_path: Path, exe: Path) -> None:
        (tmp_path / "shared").mkdir(mode=0o1777)
        link = tmp_path / "shared" / "check"
        link.symlink_to(exe)
        assert unsafe_command([str(link)], 0) is None
        os.lchown(link, NOBODY.pw_uid, NOBODY.pw_gid)  # it may replace it: sticky lets it
        assert f"symlink {link} is owned by nobody" in refused(link)
