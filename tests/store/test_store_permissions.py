"""permissions.py helpers (reused by the socket dir and audit log) and atomic write ordering."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cway_auth_core.atomic import atomic_write
from cway_authd.store import StorePermissionError, check_private_dir, check_private_file, ensure_private_dir


@pytest.fixture(params=[0o000, 0o277], ids=["umask000", "umask277"])
def any_umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_ensure_private_dir_sets_exact_mode_whatever_the_umask(tmp_path: Path, any_umask: int) -> None:
    path = ensure_private_dir(tmp_path / "a" / "b")
    assert path == tmp_path / "a" / "b"
    assert _mode(path) == 0o700
    ensure_private_dir(path)  # idempotent on a good dir


def test_atomic_write_sets_exact_mode_whatever_the_umask(tmp_path: Path, any_umask: int) -> None:
    target = tmp_path / "f"
    atomic_write(target, b"data")
    assert _mode(target) == 0o600
    assert target.read_bytes() == b"data"


def test_check_private_dir_refusals(tmp_path: Path) -> None:
    with pytest.raises(StorePermissionError, match="does not exist"):
        check_private_dir(tmp_path / "missing")
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o701)  # even execute-only for others is refused
    with pytest.raises(StorePermissionError, match=r"0701.*chmod 700"):
        check_private_dir(loose)
    with pytest.raises(StorePermissionError, match="chmod 700"):
        ensure_private_dir(loose)
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(StorePermissionError, match="not a directory"):
        check_private_dir(a_file)


def test_check_private_file_refusals(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    path.chmod(0o600)
    check_private_file(path)
    path.chmod(0o604)
    with pytest.raises(StorePermissionError, match=r"0604.*chmod 600"):
        check_private_file(path)
    if os.geteuid() == 0:
        path.chmod(0o600)
        os.chown(path, 65534, 65534)
        with pytest.raises(StorePermissionError, match="uid 65534"):
            check_private_file(path)


def test_atomic_write_fsyncs_file_before_rename_and_dir_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    atomic_write(tmp_path / "f", b"data")
    assert calls == ["fsync-file", "replace", "fsync-dir"]
