"""Reading a file from the person's disk for an upload, and refusing what must not be sent.

The path comes from a model, which may have been talked into naming ``~/.ssh/id_ed25519`` or
``/dev/zero``. So before a single byte leaves the machine:

* the path must be absolute (``~`` expanded): an MCP client spawns the shim in a directory of its
  own choosing, so a relative path would mean something other than what the person read;
* the file is opened with ``O_NOFOLLOW | O_NONBLOCK``: the last component may not be a symbolic
  link (the upload is of the file the person named, not of whatever a link points at), and a FIFO
  or device cannot block the open; the opened descriptor must be a regular file;
* its type must be one of :data:`ALLOWED_TYPES` (artwork, documents, images, archives), judged by
  the extension *and*, where the format has one, the file's first bytes (a ``.pdf`` that is not a
  PDF is refused);
* its size must be at most :data:`MAX_UPLOAD_BYTES` (checked on the descriptor, so it cannot grow
  between the check and the read: only that many bytes are ever read).

The remote server takes no paths at all (its disk is not the person's): it takes the content.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
CHUNK_BYTES = 256 * 1024

#: Extension -> the first bytes the format starts with (None: the format has no signature to check).
ALLOWED_TYPES: dict[str, tuple[bytes, ...] | None] = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".zip": (b"PK\x03\x04",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
    ".pptx": (b"PK\x03\x04",),
    ".ai": (b"%PDF-", b"%!PS"),
    ".eps": (b"%!PS", b"\xc5\xd0\xd3\xc6"),
    ".psd": (b"8BPS",),
    ".svg": None,
    ".indd": None,
    ".txt": None,
    ".csv": None,
    ".mp4": None,
    ".mov": None,
}


class FileRefused(Exception):
    """Why this file will not be uploaded; the message names the rule, never the file's content."""


@dataclass
class LocalFile:
    name: str
    size: int
    content_type: str
    fd: int

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, at most :attr:`size` of them, read off the event loop."""
        left = self.size
        offset = 0
        while left > 0:
            block = await asyncio.to_thread(os.pread, self.fd, min(CHUNK_BYTES, left), offset)
            if not block:
                raise FileRefused("the file shrank while it was being read")
            offset += len(block)
            left -= len(block)
            yield block

    def close(self) -> None:
        os.close(self.fd)


def content_type_for(name: str) -> str:
    """As object stores sign it: from the file name."""
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def check_name_and_start(name: str, first: bytes) -> str:
    """The content type for ``name`` whose content begins with ``first``, or :class:`FileRefused`."""
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_TYPES:
        allowed = ", ".join(sorted(ALLOWED_TYPES))
        raise FileRefused(f"{name}: files of type {suffix or '(none)'} are not uploaded; allowed: {allowed}")
    signatures = ALLOWED_TYPES[suffix]
    if signatures is not None and not any(first.startswith(s) for s in signatures):
        raise FileRefused(f"{name} does not look like a {suffix} file (its content does not match its name)")
    return content_type_for(name)


def open_local_file(raw_path: str, *, max_bytes: int = MAX_UPLOAD_BYTES) -> LocalFile:
    """Open ``raw_path`` by the rules above; the caller closes the result."""
    path = Path(os.path.expanduser(raw_path.strip()))
    if not path.is_absolute():
        raise FileRefused(f"give the full path of the file (e.g. ~/Documents/{path.name}), not a relative one")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileRefused(f"{path}: no such file") from None
    except PermissionError:
        raise FileRefused(f"{path}: you may not read this file") from None
    except OSError as exc:
        if exc.errno == getattr(os, "ELOOP", -1) or path.is_symlink():
            raise FileRefused(f"{path} is a symbolic link; name the file it points to instead") from None
        raise FileRefused(f"{path} cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path} is not a regular file (a directory, device, FIFO or socket)")
        if info.st_size > max_bytes:
            raise FileRefused(f"{path} is {info.st_size} bytes; the limit is {max_bytes} bytes")
        if info.st_size == 0:
            raise FileRefused(f"{path} is empty")
        content_type = check_name_and_start(path.name, os.pread(fd, 16, 0))
        return LocalFile(name=path.name, size=info.st_size, content_type=content_type, fd=fd)
    except BaseException:
        os.close(fd)
        raise
