"""Ownership and mode checks for private directories and files (ssh-agent style).

The rules, applied explicitly so each refusal can say exactly what is wrong:

* a private directory must be a real directory, owned by the effective uid, with no
  group/other permission bits at all (0700);
* a private file must be a regular file, owned by the effective uid, with no group/other
  permission bits (0600; 0400 is accepted too).

Paths we create ourselves get their mode set with an explicit ``chmod`` so the process
umask cannot loosen them. Paths that already exist are *checked, never repaired*: a loose
mode on an existing path means something else changed it, and the operator should decide.

Other modules (socket directory, audit log) reuse ``ensure_private_dir`` / ``check_private_dir``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cway_auth_core.store_errors import StorePermissionError
from cway_contract import PRIVATE_PATH_FIX, describe_owner, is_shared_dir, make_private_dirs, unusable_path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_GROUP_OTHER_BITS = 0o077


def _check_private(path: Path, st: os.stat_result, *, is_dir: bool) -> None:
    """Owner is us, and group/others have no access: the ssh-agent rule for every private path."""
    euid = os.geteuid()
    kind, is_kind, mode_fix = ("directory", stat.S_ISDIR, 0o700) if is_dir else ("regular file", stat.S_ISREG, 0o600)
    if not is_kind(st.st_mode):
        fix = "remove it or point cway-auth elsewhere" if is_dir else "move it out of the way"
        raise StorePermissionError(f"{path} is not a {kind}; {fix}")
    if st.st_uid != euid:
        # Never advise changing someone else's file or directory: point at a path of our own instead.
        raise StorePermissionError(
            f"{path} is owned by {describe_owner(st.st_uid)}, not by the user running cway-auth "
            f"({describe_owner(euid)}); {PRIVATE_PATH_FIX}"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & _GROUP_OTHER_BITS:
        fix = PRIVATE_PATH_FIX if is_dir and is_shared_dir(st) else f"fix with: chmod {mode_fix:o} {path}"
        raise StorePermissionError(f"{path} has mode {mode:04o}, which lets group/others access it; {fix}")


def check_private_dir_stat(path: Path, st: os.stat_result) -> None:
    """Apply the private-directory rules to an already obtained ``stat`` result."""
    _check_private(path, st, is_dir=True)


def check_private_dir(path: Path) -> None:
    """Refuse a directory that is not private to the current user.

    Symlinks are followed (a state dir on another volume via a symlink is legitimate); the
    checks apply to the directory actually used.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise StorePermissionError(f"{path} does not exist") from None
    check_private_dir_stat(path, st)


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` as a 0700 directory if missing, otherwise check it; return it.

    Missing parents are created 0700 as well, with an explicit ``chmod`` (``mkdir``'s mode is
    filtered by the umask; under umask 000 it gave 0777). Parents that already exist (``~``,
    ``/tmp``) are left alone: they are not ours to tighten.
    """
    path = Path(path)
    try:
        make_private_dirs(path)
    except PermissionError as exc:  # e.g. under a /tmp/runtime-<uid> that someone else created
        raise StorePermissionError(unusable_path(path, exc)) from None
    check_private_dir(path)
    return path


def check_private_file_stat(path: Path, st: os.stat_result) -> None:
    """Apply the private-file rules to a ``stat``/``fstat`` result (fstat avoids TOCTOU)."""
    _check_private(path, st, is_dir=False)


def check_private_file(path: Path) -> None:
    """Refuse a file that is not private to the current user (does not follow symlinks)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise StorePermissionError(f"{path} does not exist") from None
    check_private_file_stat(path, st)
