"""The emulated presigned upload (resolvers_uploads.py): an object store's rules, strictly.

A URL for one file, signed, expiring, single use; the PUT carries exactly the signed content type,
a Content-Length within the limit, a body of that length, and no Authorization header; until it
has finished, no mutation knows the file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from cway_contract.clock import ManualClock
from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ARTWORK_IDS
from cway_emulator.resolvers_uploads import UPLOAD_URL_SECONDS
from tests.emulator.conftest import Flow

ALICE_TOKEN = "cway-static-alice-0001"
BOB_TOKEN = "cway-static-bob-0001"  # another organisation
PDF = b"%PDF-1.7\nhello\n%%EOF\n"
URL_QUERY = "query U($f: UUID!, $n: String) { tempFileUploadUrl(fileId: $f, filename: $n) }"
NEW_REVISION = "mutation R($a: UUID!, $f: UUID!) { newRevisionFromFile(artworkId: $a, fileId: $f) }"


def upload_url(flow: Flow, file_id: str, name: str = "v2.pdf", token: str = ALICE_TOKEN) -> str:
    body = flow.gql(token, URL_QUERY, {"f": file_id, "n": name}).json()
    assert "errors" not in body, body
    return str(body["data"]["tempFileUploadUrl"])


def put(url: str, data: bytes = PDF, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {"Content-Type": "application/pdf", **(headers or {})}
    return httpx.put(url, content=data, headers=sent)


def test_a_well_formed_upload_is_stored_once_and_then_usable(emu: EmulatorServer, flow: Flow) -> None:
    file_id = str(uuid.uuid4())
    url = upload_url(flow, file_id)
    refused_before = flow.gql(ALICE_TOKEN, NEW_REVISION, {"a": ARTWORK_IDS[5], "f": file_id}).json()
    assert "not found" in refused_before["errors"][0]["message"]  # no file until the PUT has finished
    assert put(url).status_code == 200
    assert emu.emulator.store.files[file_id]["size"] == len(PDF)
    again = put(url)
    assert again.status_code == 403 and "AccessDenied" in again.text  # single use
    done = flow.gql(ALICE_TOKEN, NEW_REVISION, {"a": ARTWORK_IDS[5], "f": file_id}).json()
    assert done["data"]["newRevisionFromFile"] is True


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Authorization": "Bearer cway-static-alice-0001"}, 400, "InvalidArgument"),  # a bearer never goes there
        ({"Content-Type": "image/png"}, 403, "SignatureDoesNotMatch"),  # not the signed type
    ],
)
def test_the_put_must_match_what_was_signed(flow: Flow, headers: dict[str, str], status: int, code: str) -> None:
    url = upload_url(flow, str(uuid.uuid4()))
    refused = put(url, headers=headers)
    assert refused.status_code == status and code in refused.text


def test_a_tampered_or_expired_url_is_refused(flow: Flow, clock: ManualClock) -> None:
    url = upload_url(flow, str(uuid.uuid4()))
    tampered = url.replace("sig=", "sig=0")
    assert put(tampered).status_code == 403
    clock.advance(UPLOAD_URL_SECONDS + 1)
    expired = put(url)
    assert expired.status_code == 403 and "expired" in expired.text


def test_a_put_without_a_length_is_refused(flow: Flow) -> None:
    url = upload_url(flow, str(uuid.uuid4()))

    def chunks() -> Iterator[bytes]:
        yield PDF  # streamed: chunked transfer encoding, no Content-Length

    refused = httpx.put(url, content=chunks(), headers={"Content-Type": "application/pdf"})
    assert refused.status_code == 411 and "MissingContentLength" in refused.text


def test_another_organisation_cannot_use_the_file(flow: Flow) -> None:
    file_id = str(uuid.uuid4())
    assert put(upload_url(flow, file_id)).status_code == 200
    foreign = flow.gql(BOB_TOKEN, "mutation F($p: UUID!, $f: UUID!) { addFilesToProject(projectId: $p, files: [$f]) }",
                       {"p": "0000000c-0000-4000-8000-000000000005", "f": file_id}).json()  # fmt: skip
    assert "errors" in foreign and "not found" in foreign["errors"][0]["message"]


def test_an_id_in_use_and_a_path_as_name_are_refused(flow: Flow) -> None:
    file_id = str(uuid.uuid4())
    upload_url(flow, file_id)
    assert (
        "already in use"
        in flow.gql(ALICE_TOKEN, URL_QUERY, {"f": file_id, "n": "x.pdf"}).json()["errors"][0]["message"]
    )
    assert (
        "plain file name"
        in flow.gql(ALICE_TOKEN, URL_QUERY, {"f": str(uuid.uuid4()), "n": "../x.pdf"}).json()["errors"][0]["message"]
    )
