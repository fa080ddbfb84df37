"""The local-file rules that need no server: size bounds read off the descriptor, empty files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cway_tools.local_files import FileRefused, open_local_file


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"x" * 2000)
    with pytest.raises(FileRefused, match="the limit is 1000 bytes"):
        open_local_file(str(big), max_bytes=1000)
    opened = open_local_file(str(big), max_bytes=5000)
    try:
        assert (opened.size, opened.content_type, opened.name) == (2009, "application/pdf", "big.pdf")
    finally:
        opened.close()


def test_an_empty_file_and_a_missing_one_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(FileRefused, match="is empty"):
        open_local_file(str(tmp_path / "empty.png"))
    with pytest.raises(FileRefused, match="no such file"):
        open_local_file(str(tmp_path / "missing.png"))


async def test_chunks_yield_exactly_the_file(tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3000
    (tmp_path / "a.png").write_bytes(data)
    opened = open_local_file(str(tmp_path / "a.png"))
    try:
        got = b"".join([block async for block in opened.chunks()])
    finally:
        opened.close()
    assert got == data
