"""The organisation's catalogue: brands, markets, articles, article and artwork categories, print
specifications.

Every member reads the catalogue of the current organisation. Changing brands, markets, articles
and categories is organisation base data (``canChangeOrganisationBaseData``); print
specifications are written by whoever may create projects, and changed only by their author or
an organisation admin. Names are unique per organisation (case-insensitive), article numbers too,
and GTINs must be well-formed (8, 12, 13 or 14 digits with a correct check digit).
"""

from __future__ import annotations

import uuid
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import Ctx, Resolver, contains, ctx_of, forbidden, in_org, org_records, paginate, require

BASE_DATA = "canChangeOrganisationBaseData"


def _text(value: str | None, what: str, max_chars: int = 255) -> str:
    text = (value or "").strip()
    if not text:
        raise GraphQLError(f"{what} must not be empty")
    if len(text) > max_chars:
        raise GraphQLError(f"{what} is longer than {max_chars} characters")
    return text


def _unique(ctx: Ctx, records: list[Record], key: str, value: str, what: str, except_id: str | None = None) -> None:
    for r in records:
        if r["id"] != except_id and str(r.get(key) or "").lower() == value.lower():
            raise GraphQLError(f"{what} {value!r} already exists")


def _new_id(given: str | None, taken: dict[str, Any], kind: str) -> str:
    ident = str(given).lower() if given else str(uuid.uuid4())
    if ident in taken:
        raise GraphQLError(f"{kind} {ident} already exists")
    return ident


def gtin_ok(code: str) -> bool:
    """GS1 check digit: weights 3,1,3,... from the right, excluding the check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    body, check = [int(c) for c in code[:-1]], int(code[-1])
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _gtins(values: list[str] | None) -> list[str]:
    codes = [v.strip() for v in values or []]
    bad = [c for c in codes if not gtin_ok(c)]
    if bad:
        raise GraphQLError(f"Invalid GTIN: {', '.join(bad)}")
    return codes


# --- brands and markets ------------------------------------------------------------------------


def _named(collection_name: str, kind: str) -> tuple[Resolver, Resolver, Resolver]:
    """List, create and rename resolvers for a simple named catalogue entry (brand, market)."""

    def listing(_: Any, info: GraphQLResolveInfo) -> list[Record]:
        ctx = ctx_of(info)
        return sorted(org_records(ctx, getattr(ctx.store, collection_name)), key=lambda r: r["name"].lower())

    def create(_: Any, info: GraphQLResolveInfo, name: str, id: str | None = None) -> bool:
        ctx = ctx_of(info)
        require(ctx, BASE_DATA)
        collection = getattr(ctx.store, collection_name)
        title = _text(name, f"{kind} name")
        _unique(ctx, org_records(ctx, collection), "name", title, kind)
        ident = _new_id(id, collection, kind)
        collection[ident] = {"id": ident, "name": title, "_org": ctx.org_id}
        return True

    def update(_: Any, info: GraphQLResolveInfo, id: str, name: str) -> bool:
        ctx = ctx_of(info)
        require(ctx, BASE_DATA)
        collection = getattr(ctx.store, collection_name)
        record = in_org(ctx, collection, id, kind)
        title = _text(name, f"{kind} name")
        _unique(ctx, org_records(ctx, collection), "name", title, kind, except_id=record["id"])
        record["name"] = title
        return True

    return listing, create, update


brands, create_brand, update_brand = _named("brands", "Brand")
markets, create_market, update_market = _named("markets", "Market")


# --- articles ----------------------------------------------------------------------------------


def q_articles(
    _: Any,
    info: GraphQLResolveInfo,
    articleNo: str | None = None,
    name: str | None = None,
    gtin: str | None = None,
    category: str | None = None,
    brand: str | None = None,
    paging: Record | None = None,
) -> Record:
    ctx = ctx_of(info)
    rows = sorted(org_records(ctx, ctx.store.articles), key=lambda a: a["articleNo"].lower())
    rows = [a for a in rows if contains([a["articleNo"]], articleNo) and contains([a.get("name")], name)]
    if gtin:
        rows = [a for a in rows if gtin.strip() in a["gtins"]]
    if category:
        rows = [a for a in rows if str(category).lower() in a["_categories"]]
    if brand:
        rows = [a for a in rows if a["_brand"] == str(brand).lower()]
    page_items, page = paginate(rows, paging)
    return {"articles": page_items, "page": page, "totalHits": len(rows)}


def q_article(_: Any, info: GraphQLResolveInfo, articleId: str) -> Record | None:
    ctx = ctx_of(info)
    article = ctx.store.articles.get(str(articleId).lower())
    return article if article is not None and article["_org"] == ctx.org_id else None


def _brand_for(ctx: Ctx, brand_id: str | None, brand_name: str | None) -> str | None:
    if brand_id:
        return str(in_org(ctx, ctx.store.brands, brand_id, "Brand")["id"])
    if not (brand_name or "").strip():
        return None
    title = _text(brand_name, "brandName")
    for b in org_records(ctx, ctx.store.brands):
        if b["name"].lower() == title.lower():
            return str(b["id"])
    ident = str(uuid.uuid4())
    ctx.store.brands[ident] = {"id": ident, "name": title, "_org": ctx.org_id}
    return ident


def _category_path(ctx: Ctx, names: list[str]) -> str:
    parent: str | None = None
    for raw in names:
        title = _text(raw, "categoryNames entry")
        found = next(
            (
                c
                for c in org_records(ctx, ctx.store.article_categories)
                if c["parent"] == parent and c["name"].lower() == title.lower()
            ),
            None,
        )
        if found is None:
            found = {"id": str(uuid.uuid4()), "name": title, "parent": parent, "_org": ctx.org_id}
            ctx.store.article_categories[found["id"]] = found
        parent = str(found["id"])
    assert parent is not None
    return parent


def m_create_article(_: Any, info: GraphQLResolveInfo, input: Record | None = None) -> str:
    ctx = ctx_of(info)
    require(ctx, BASE_DATA)
    data = input or {}
    number = _text(data.get("articleNo"), "articleNo", 100)
    _unique(ctx, org_records(ctx, ctx.store.articles), "articleNo", number, "Article number")
    gtins = _gtins(data.get("gtins"))
    if data.get("categoryId"):
        categories = [str(in_org(ctx, ctx.store.article_categories, data["categoryId"], "ArticleCategory")["id"])]
    elif data.get("categoryNames"):
        categories = [_category_path(ctx, data["categoryNames"])]
    else:
        categories = []
    ident = _new_id(data.get("id"), ctx.store.articles, "Article")
    brand = _brand_for(ctx, data.get("brandId"), data.get("brandName"))
    ctx.store.articles[ident] = {
        "id": ident,
        "articleNo": number,
        "name": (data.get("name") or "").strip() or None,
        "size": (data.get("size") or "").strip() or None,
        "gtins": gtins,
        "_brand": brand,
        "_market": None,
        "_categories": categories,
        "_org": ctx.org_id,
    }
    return ident


def m_update_articles(_: Any, info: GraphQLResolveInfo, articles: list[Record]) -> bool:
    """All or nothing: every change is checked before any is made."""
    ctx = ctx_of(info)
    require(ctx, BASE_DATA)
    if not articles:
        raise GraphQLError("articles must not be empty")
    planned: list[tuple[Record, Record]] = []
    for change in articles:
        article = in_org(ctx, ctx.store.articles, change["id"], "Article")
        update: Record = {}
        if change.get("articleNo") is not None:
            number = _text(change["articleNo"], "articleNo", 100)
            _unique(ctx, org_records(ctx, ctx.store.articles), "articleNo", number, "Article number", article["id"])
            update["articleNo"] = number
        if change.get("name") is not None:
            update["name"] = change["name"].strip() or None
        if change.get("size") is not None:
            update["size"] = change["size"].strip() or None
        if change.get("gtins") is not None:
            update["gtins"] = _gtins(change["gtins"])
        if change.get("brandId") is not None:
            update["_brand"] = in_org(ctx, ctx.store.brands, change["brandId"], "Brand")["id"]
        if change.get("marketId") is not None:
            update["_market"] = in_org(ctx, ctx.store.markets, change["marketId"], "Market")["id"]
        if change.get("categories") is not None:
            update["_categories"] = [
                in_org(ctx, ctx.store.article_categories, c, "ArticleCategory")["id"] for c in change["categories"]
            ]
        planned.append((article, update))
    for article, update in planned:
        article.update(update)
    return True


def _lineage(category: Record, info: GraphQLResolveInfo) -> list[Record]:
    store = ctx_of(info).store
    chain: list[Record] = []
    parent = category.get("parent")
    while parent:
        node = store.article_categories[parent]
        chain.insert(0, node)
        parent = node.get("parent")
    return chain


# --- artwork categories ------------------------------------------------------------------------


def m_create_artwork_category(_: Any, info: GraphQLResolveInfo, name: str, description: str | None = None) -> bool:
    ctx = ctx_of(info)
    require(ctx, BASE_DATA)
    org = ctx.store.orgs[str(ctx.org_id)]
    title = _text(name, "Category name")
    _unique(ctx, org["artworkCategories"], "name", title, "Artwork category")
    org["artworkCategories"].append(
        {"id": str(uuid.uuid4()), "name": title, "description": (description or "").strip(), "usage": 0}
    )
    return True


def m_change_category(_: Any, info: GraphQLResolveInfo, categoryId: str, name: str, description: str) -> bool:
    ctx = ctx_of(info)
    require(ctx, BASE_DATA)
    org = ctx.store.orgs[str(ctx.org_id)]
    ident = str(categoryId).lower()
    category = next((c for c in org["artworkCategories"] if c["id"] == ident), None)
    if category is None:
        raise GraphQLError(f"Category {categoryId} not found", extensions={"classification": "NOT_FOUND"})
    title = _text(name, "Category name")
    _unique(ctx, org["artworkCategories"], "name", title, "Artwork category", except_id=ident)
    category.update(name=title, description=(description or "").strip())
    return True


# --- print specifications ----------------------------------------------------------------------


def m_create_print_spec(_: Any, info: GraphQLResolveInfo, name: str) -> str:
    ctx = ctx_of(info)
    require(ctx, "canCreateProject")
    title = _text(name, "Print specification name")
    _unique(ctx, org_records(ctx, ctx.store.print_specs), "name", title, "Print specification")
    ident = str(uuid.uuid4())
    ctx.store.print_specs[ident] = {
        "id": ident,
        "name": title,
        "createdAt": ctx.now_ms(),
        "_createdBy": ctx.username,
        "_org": ctx.org_id,
    }
    return ident


def m_update_print_spec(_: Any, info: GraphQLResolveInfo, input: Record) -> bool:
    ctx = ctx_of(info)
    spec = in_org(ctx, ctx.store.print_specs, input["id"], "PrintSpecification")
    if spec["_createdBy"] != ctx.username and not ctx.permissions.get(BASE_DATA):
        raise forbidden("only the author or an organisation admin changes a print specification")
    title = _text(input.get("name"), "Print specification name")
    _unique(ctx, org_records(ctx, ctx.store.print_specs), "name", title, "Print specification", spec["id"])
    spec["name"] = title
    for part in ("packaging", "print", "decor", "specialInstructions"):
        if input.get(part) is not None:
            spec[part] = dict(input[part])
    return True


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "brands": brands,
        "markets": markets,
        "articles": q_articles,
        "article": q_article,
        "articleCategories": lambda _, info: sorted(
            org_records(ctx_of(info), ctx_of(info).store.article_categories), key=lambda c: c["name"].lower()
        ),
        "printSpecifications": lambda _, info: sorted(
            org_records(ctx_of(info), ctx_of(info).store.print_specs), key=lambda s: s["name"].lower()
        ),
        "printSpecification": lambda _, info, id: in_org(
            ctx_of(info), ctx_of(info).store.print_specs, id, "PrintSpecification"
        ),
    },
    "Mutation": {
        "createBrand": create_brand,
        "updateBrand": update_brand,
        "createMarket": create_market,
        "updateMarket": update_market,
        "createArticle": m_create_article,
        "updateArticles": m_update_articles,
        "createArtworkCategory": m_create_artwork_category,
        "changeNameAndDescriptionOfCategory": m_change_category,
        "createPrintSpecification": m_create_print_spec,
        "updatePrintSpecification": m_update_print_spec,
    },
    "Article": {
        "brand": lambda a, info: ctx_of(info).store.brands.get(a.get("_brand") or ""),
        "market": lambda a, info: ctx_of(info).store.markets.get(a.get("_market") or ""),
        "categories": lambda a, info: [ctx_of(info).store.article_categories[c] for c in a["_categories"]],
    },
    "ArticleCategory": {"lineage": _lineage},
    "PrintSpecification": {
        "createdBy": lambda s, info: ctx_of(info).store.cway_user(s["_createdBy"]) or {},
    },
}
