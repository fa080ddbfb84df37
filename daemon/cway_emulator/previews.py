"""Preview images for the emulated artworks, served the way Cway serves files: behind the bearer.

Cway's schema exposes an artwork's preview as ``Artwork.previewFile: File`` (no URL field); a file's
bytes are reached through ``tempFileDownloadUrl(fileId)``, a short-lived signed URL. The emulator
models both, strictly: the preview's ``File`` is made (deterministically) from the artwork, the
signed URL is bound to the user it was issued to, and the download needs that user's bearer too.

The PNG is generated here (a tiny encoder on ``zlib``; no imaging dependency): a coloured panel
per artwork, so a screenshot shows which artwork it is.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import uuid
import zlib

from cway_emulator.fixtures import Record

PREVIEW_NAMESPACE = uuid.UUID("5b0f8c9e-64c1-4d8e-9a31-7d2f0e6a1c55")
WIDTH, HEIGHT = 240, 320


def preview_file_id(artwork_id: str) -> str:
    return str(uuid.uuid5(PREVIEW_NAMESPACE, f"preview:{artwork_id}"))


def preview_file(art: Record) -> Record:
    """The ``File`` record of an artwork's preview (the same id on every call)."""
    return {
        "id": preview_file_id(str(art["id"])),
        "name": "preview.png",
        "size": len(preview_png(str(art["id"]))),
        "contentType": "image/png",
        "xPixels": WIDTH,
        "yPixels": HEIGHT,
        "created": 1_736_000_000_000,
        "isVideo": False,
        "barcodeStatus": "NONE",
        "barcodes": [],
        "pages": [],
        "_org": art.get("_org"),
        "_artwork": str(art["id"]),
    }


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG from ``height`` rows of ``3 * width`` bytes (filter type 0 on every row)."""
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")
    )


@functools.lru_cache(maxsize=256)
def preview_png(artwork_id: str) -> bytes:
    """A panel in the artwork's own colour with a frame and diagonal bands."""
    seed = hashlib.sha256(artwork_id.encode()).digest()
    base = (64 + seed[0] % 160, 64 + seed[1] % 160, 64 + seed[2] % 160)
    dark = tuple(c // 3 for c in base)
    light = tuple(min(255, c + 60) for c in base)
    rows = []
    for y in range(HEIGHT):
        row = bytearray()
        for x in range(WIDTH):
            if x < 8 or y < 8 or x >= WIDTH - 8 or y >= HEIGHT - 8:
                row += bytes(dark)
            elif (x + y) // 24 % 2:
                row += bytes(light)
            else:
                row += bytes(base)
        rows.append(bytes(row))
    return encode_png(WIDTH, HEIGHT, rows)


def find_preview(artworks: dict[str, Record], file_id: str) -> Record | None:
    """The preview ``File`` with this id, if it is one (previews are not in the media centre's files)."""
    wanted = str(file_id).lower()
    for art in artworks.values():
        if preview_file_id(str(art["id"])) == wanted:
            return preview_file(art)
    return None


def download_signature(file_id: str, expires: int, username: str) -> str:
    """What ``tempFileDownloadUrl`` signs: this file, until then, for this user only."""
    return hashlib.sha256(f"{file_id}:{expires}:{username}".encode()).hexdigest()[:32]
