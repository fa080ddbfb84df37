"""The organisation's catalogue: brands, markets, articles, article and artwork categories, and
print specifications; read by everyone, changed by whoever Cway lets (organisation base data:
admins; print specifications: their author or an admin).

"Save" tools create when no id is given and update otherwise, so the model needs one tool per
kind of entry instead of two.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from cway_tools import documents as D
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.tool_support import (
    In,
    Out,
    Page,
    Paged,
    PageSize,
    Username,
    dicts,
    millis_to_iso,
    optional_text,
    paging,
    read_only,
    require_text,
    require_uuid,
    tool_result,
    writes,
)

TOOLSET = "catalogue"

Kind = Literal["brands", "markets", "article_categories", "artwork_categories", "print_specifications"]


class Entry(Out):
    id: str
    name: str
    description: str | None = None
    parent_id: str | None = None
    created_by: str | None = None
    created: str | None = None


class Catalogue(Out):
    kind: str
    entries: list[Entry]


class Ref(Out):
    id: str
    name: str


class Article(Out):
    id: str
    article_no: str
    name: str | None = None
    size: str | None = None
    brand: Ref | None = None
    market: Ref | None = None
    categories: list[Ref] = Field(default_factory=list)


class ArticlesPage(Paged):
    articles: list[Article]


class Packaging(In):
    packaging_item: str
    substrate: str
    substrate_color: str


class SpecialInstructions(In):
    print_and_substrate: str
    other: str
    deliverables: str


class PrintSpecification(Out):
    id: str
    name: str
    created_by: str | None = None
    created: str | None = None
    packaging: dict[str, str] | None = None
    special_instructions: dict[str, str] | None = None


def _ref(r: Any) -> Ref | None:
    return Ref(id=r["id"], name=r["name"]) if isinstance(r, dict) else None


def _article(a: dict[str, Any]) -> Article:
    return Article(
        id=a["id"],
        article_no=a["articleNo"],
        name=a.get("name"),
        size=a.get("size"),
        brand=_ref(a.get("brand")),
        market=_ref(a.get("market")),
        categories=[Ref(id=c["id"], name=c["name"]) for c in dicts(a.get("categories"))],
    )


def register(server: MCPServer, gateway: CwayGateway) -> None:
    """Register the catalogue tools on ``server``."""

    async def entries(kind: str, username: str | None) -> list[Entry]:
        if kind == "artwork_categories":
            org = (await gateway.execute(D.ARTWORK_CATEGORIES, username=username)).get("organisation") or {}
            rows = dicts(org.get("artworkCategories"))
            return [Entry(id=r["id"], name=r["name"], description=r.get("description") or None) for r in rows]
        if kind == "print_specifications":
            rows = dicts((await gateway.execute(D.PRINT_SPECIFICATIONS, username=username)).get("printSpecifications"))
            return [
                Entry(
                    id=r["id"],
                    name=r["name"],
                    created_by=(r.get("createdBy") or {}).get("username"),
                    created=millis_to_iso(r.get("createdAt")),
                )
                for r in rows
            ]
        doc, field = {
            "brands": (D.BRANDS, "brands"),
            "markets": (D.MARKETS, "markets"),
            "article_categories": (D.ARTICLE_CATEGORIES, "articleCategories"),
        }[kind]
        rows = dicts((await gateway.execute(doc, username=username)).get(field))
        return [Entry(id=r["id"], name=r["name"], parent_id=r.get("parent")) for r in rows]

    async def saved(kind: str, ident: str | None, name: str, username: str | None) -> CallToolResult:
        """The entry just saved, read back (by id, else by its unique name)."""
        rows = await entries(kind, username)
        found = next((e for e in rows if (e.id == ident if ident else e.name == name)), None)
        if found is None:
            raise ToolError(f"Cway accepted the change but the entry is not listed; try list_catalogue({kind}).")
        return tool_result(Catalogue(kind=kind, entries=[found]))

    @server.tool(title="List catalogue", annotations=read_only())
    async def list_catalogue(kind: Kind, username: Username = None) -> Annotated[CallToolResult, Catalogue]:
        """Brands, markets, article categories, artwork categories or print specifications, with ids."""
        return tool_result(Catalogue(kind=kind, entries=await entries(kind, username)))

    @server.tool(title="Find articles", annotations=read_only())
    async def find_articles(
        article_no: str | None = None,
        name: str | None = None,
        gtin: str | None = None,
        brand_id: str | None = None,
        category_id: str | None = None,
        page: Page = 1,
        page_size: PageSize = 25,
        username: Username = None,
    ) -> Annotated[CallToolResult, ArticlesPage]:
        """Search articles (products) by number, name, GTIN, brand or category. Paged."""
        variables = {
            "articleNo": optional_text(article_no),
            "name": optional_text(name),
            "gtin": optional_text(gtin),
            "brand": require_uuid(brand_id, "brand_id") if brand_id else None,
            "category": require_uuid(category_id, "category_id") if category_id else None,
            "paging": {"page": page - 1, "pageSize": page_size},
        }
        result = (await gateway.execute(D.ARTICLES, variables, username=username)).get("articles") or {}
        rows = [_article(a) for a in dicts(result.get("articles"))]
        return tool_result(ArticlesPage(articles=rows, **paging(page, page_size, int(result.get("totalHits") or 0))))

    @server.tool(title="Save brand or market", annotations=writes(destructive=False, idempotent=False))
    async def save_brand_or_market(
        kind: Literal["brand", "market"],
        name: str,
        id: Annotated[str | None, Field(description="Omit to create; give to rename.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, Catalogue]:
        """Create a brand or market, or rename one (organisation admins)."""
        title = require_text(name, "name", max_chars=255)
        ident = require_uuid(id, "id") if id else None
        if kind == "brand":
            doc = D.UPDATE_BRAND if ident else D.CREATE_BRAND
            variables: dict[str, Any] = {"id": ident, "name": title}
        else:
            doc = D.UPDATE_MARKET if ident else D.CREATE_MARKET
            variables = {"id": ident, "name": title} if ident else {"name": title}
        await gateway.execute(doc, variables, username=username)
        return await saved(f"{kind}s", ident, title, username)

    @server.tool(title="Save artwork category", annotations=writes(destructive=False, idempotent=False))
    async def save_artwork_category(
        name: str,
        description: str = "",
        category_id: Annotated[str | None, Field(description="Omit to create; give to change.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, Catalogue]:
        """Create an artwork category, or change one's name and description (organisation admins)."""
        title = require_text(name, "name", max_chars=255)
        text = (description or "").strip()
        if category_id:
            cid = require_uuid(category_id, "category_id")
            variables = {"categoryId": cid, "name": title, "description": text}
            await gateway.execute(D.RENAME_ARTWORK_CATEGORY, variables, username=username)
            return await saved("artwork_categories", cid, title, username)
        await gateway.execute(D.CREATE_ARTWORK_CATEGORY, {"name": title, "description": text}, username=username)
        return await saved("artwork_categories", None, title, username)

    @server.tool(title="Save article", annotations=writes(destructive=False, idempotent=False))
    async def save_article(
        article_no: Annotated[str | None, Field(description="Article number (required to create).")] = None,
        name: str | None = None,
        size: str | None = None,
        gtins: Annotated[list[str] | None, Field(description="GTIN/EAN codes (replace the existing).")] = None,
        brand_id: str | None = None,
        market_id: Annotated[str | None, Field(description="Update only.")] = None,
        category_ids: list[str] | None = None,
        article_id: Annotated[str | None, Field(description="Omit to create; give to update.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, Article]:
        """Create an article (product), or update the fields given (organisation admins)."""
        brand = require_uuid(brand_id, "brand_id") if brand_id else None
        cats = [require_uuid(c, "category_ids") for c in category_ids] if category_ids is not None else None
        if article_id:
            aid = require_uuid(article_id, "article_id")
            change: dict[str, Any] = {"id": aid, "articleNo": optional_text(article_no), "name": name, "size": size}
            change.update(gtins=gtins, brandId=brand, categories=cats)
            change["marketId"] = require_uuid(market_id, "market_id") if market_id else None
            change = {k: v for k, v in change.items() if v is not None}
            await gateway.execute(D.UPDATE_ARTICLES, {"articles": [change]}, username=username)
        else:
            if market_id:
                raise ToolError("market_id can only be set on an existing article: create it, then update it.")
            if cats is not None and len(cats) > 1:
                raise ToolError("A new article takes one category; add more by updating it.")
            create = {
                "articleNo": require_text(article_no, "article_no", max_chars=100),
                "name": optional_text(name),
                "size": optional_text(size),
                "gtins": gtins,
                "brandId": brand,
                "categoryId": cats[0] if cats else None,
            }
            result = await gateway.execute(
                D.CREATE_ARTICLE, {"input": {k: v for k, v in create.items() if v is not None}}, username=username
            )
            aid = str(result.get("createArticle"))
        found = (await gateway.execute(D.ARTICLE, {"articleId": aid}, username=username)).get("article")
        if not isinstance(found, dict):
            raise ToolError(f"Article {aid} was not found, or this account cannot see it.")
        return tool_result(_article(found))

    async def spec(sid: str, username: str | None) -> CallToolResult:
        s = (await gateway.execute(D.PRINT_SPECIFICATION, {"id": sid}, username=username)).get("printSpecification")
        if not isinstance(s, dict):
            raise ToolError(f"Print specification {sid} was not found, or this account cannot see it.")
        return tool_result(
            PrintSpecification(
                id=s["id"],
                name=s["name"],
                created_by=(s.get("createdBy") or {}).get("username"),
                created=millis_to_iso(s.get("createdAt")),
                packaging=s.get("packaging"),
                special_instructions=s.get("specialInstructions"),
            )
        )

    @server.tool(title="Print specification", annotations=read_only())
    async def get_print_specification(
        print_specification_id: str, username: Username = None
    ) -> Annotated[CallToolResult, PrintSpecification]:
        """One print specification with its packaging and special instructions."""
        return await spec(require_uuid(print_specification_id, "print_specification_id"), username)

    @server.tool(title="Save print specification", annotations=writes(destructive=False, idempotent=False))
    async def save_print_specification(
        name: str,
        packaging: Packaging | None = None,
        special_instructions: SpecialInstructions | None = None,
        print_specification_id: Annotated[str | None, Field(description="Omit to create; give to update.")] = None,
        username: Username = None,
    ) -> Annotated[CallToolResult, PrintSpecification]:
        """Create a print specification, or rename it and set its packaging/special instructions."""
        title = require_text(name, "name", max_chars=255)
        if print_specification_id:
            sid = require_uuid(print_specification_id, "print_specification_id")
        else:
            sid = str(
                (await gateway.execute(D.CREATE_PRINT_SPECIFICATION, {"name": title}, username=username)).get(
                    "createPrintSpecification"
                )
            )
            if packaging is None and special_instructions is None:
                return await spec(sid, username)
        update: dict[str, Any] = {"id": sid, "name": title}
        if packaging is not None:
            update["packaging"] = {
                "packagingItem": packaging.packaging_item,
                "substrate": packaging.substrate,
                "substrateColor": packaging.substrate_color,
            }
        if special_instructions is not None:
            update["specialInstructions"] = {
                "printAndSubstrate": special_instructions.print_and_substrate,
                "other": special_instructions.other,
                "deliverables": special_instructions.deliverables,
            }
        await gateway.execute(D.UPDATE_PRINT_SPECIFICATION, {"input": update}, username=username)
        return await spec(sid, username)
