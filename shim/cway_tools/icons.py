"""Icons for the server and each toolset, as self-contained ``data:`` SVGs.

Clients show a tool's or server's icons next to its name (MCP ``Icon``: ``src``, ``mimeType``,
``sizes``). ``data:`` URIs keep them self-contained: a client never fetches anything from anywhere
to draw them, and nothing about the user can leak through an icon request. One small SVG per
toolset name, looked up with :func:`icon_for_toolset` (the toolset names are those of the
``TOOLSET`` constants of the tool modules).
"""

from __future__ import annotations

from urllib.parse import quote

from mcp.types import Icon

_FRAME = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' width='24' height='24'>"
    "<rect width='24' height='24' rx='5' fill='{bg}'/>"
    "<g fill='none' stroke='#fff' stroke-width='2' stroke-linecap='round' stroke-linejoin='round'>{body}</g></svg>"
)

#: toolset name -> (background colour, the glyph's SVG path elements)
_GLYPHS: dict[str, tuple[str, str]] = {
    "approvals": ("#15803d", "<path d='M6 12.5l4 4 8-9'/>"),
    "projects": ("#1d4ed8", "<path d='M4 7h6l2 2h8v9H4z'/>"),
    "artworks": ("#7c3aed", "<rect x='5' y='5' width='14' height='14' rx='1'/><path d='M5 16l4-4 4 4 2-2 4 4'/>"),
    "media": ("#0e7490", "<path d='M12 4v11M7 10l5 5 5-5M5 19h14'/>"),
    "people": ("#b45309", "<circle cx='12' cy='9' r='3.5'/><path d='M5 19c1.5-3.5 4-5 7-5s5.5 1.5 7 5'/>"),
    "catalogue": ("#be185d", "<path d='M5 5h14M5 10h14M5 15h14M5 20h9'/>"),
    "admin": ("#374151", "<circle cx='12' cy='12' r='3'/><path d='M12 3v3M12 18v3M3 12h3M18 12h3'/>"),
    "ai": ("#c2410c", "<path d='M12 4l1.8 4.7L18.5 10l-4.7 1.8L12 16.5l-1.8-4.7L5.5 10l4.7-1.3z'/>"),
}
_SERVER = ("#111827", "<path d='M15.5 8.5a5 5 0 1 0 0 7'/><path d='M9 12h0'/>")


def _icon(colour: str, body: str) -> Icon:
    svg = _FRAME.format(bg=colour, body=body)
    return Icon(src="data:image/svg+xml," + quote(svg, safe=""), mime_type="image/svg+xml", sizes=["any"])


def icon_for_toolset(name: str) -> list[Icon] | None:
    """The icons of a toolset (one scalable SVG), or None for a name without one."""
    glyph = _GLYPHS.get(name)
    return [_icon(*glyph)] if glyph else None


TOOLSETS = tuple(_GLYPHS)
#: The server's own icon (``serverInfo.icons``).
SERVER_ICONS = [_icon(*_SERVER)]
