"""Resource links: what can be fetched comes as a ``resource_link`` block, not only as a URL in JSON."""

from __future__ import annotations

from mcp.types import ResourceLink

from tests.shim_tools.conftest import artwork_id, connected, file_id, project_id
from tests.shim_tools.static_gateway import StaticTokenGateway


def links(result: object) -> list[ResourceLink]:
    return [b for b in result.content if isinstance(b, ResourceLink)]  # type: ignore[attr-defined]


async def test_download_url_is_a_resource_link_with_the_files_name_and_type(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as c:
        result = await c.call_tool("get_file_download_url", {"file_id": file_id(1)})
    assert not result.is_error, result.content
    (link,) = links(result)
    assert result.structured_content is not None
    assert str(link.uri) == result.structured_content["url"] and link.name == "contoso-logo.svg"
    assert link.mime_type == "image/svg+xml" and link.size == 12_345


async def test_artworks_and_projects_link_their_cway_resources(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as c:
        artwork = await c.call_tool("get_artwork", {"artwork_id": artwork_id(1)})
        review = await c.call_tool("review_artwork", {"artwork_id": artwork_id(1)})
        project = await c.call_tool("get_project", {"project_id": project_id(1)})
    for result in (artwork, review):
        (link,) = links(result)
        assert str(link.uri) == f"cway://artworks/{artwork_id(1)}" and link.name == "Poster A2"
    (link,) = links(project)
    assert str(link.uri) == f"cway://projects/{project_id(1)}" and link.name == "Spring Campaign 2026"
