"""The GraphQL documents of the organisation's catalogue: brands, markets, articles, article and
artwork categories, print specifications. Part of the one registry, re-exported by ``documents``,
validated like every document."""

from __future__ import annotations

from cway_tools.document_registry import _mutation, _query

BRANDS = _query("Brands", "{ brands { id name } }")
MARKETS = _query("Markets", "{ markets { id name } }")
ARTICLE_CATEGORIES = _query("ArticleCategories", "{ articleCategories { id name parent } }")
PRINT_SPECIFICATIONS = _query(
    "PrintSpecifications", "{ printSpecifications { id name createdAt createdBy { username } } }"
)
PRINT_SPECIFICATION = _query(
    "PrintSpecification",
    """
($id: UUID!) {
  printSpecification(id: $id) {
    id name createdAt createdBy { username }
    packaging { packagingItem substrate substrateColor }
    specialInstructions { printAndSubstrate other deliverables }
  }
}""",
)

F_ARTICLE = """
fragment ArticleRow on Article { id articleNo name size brand { id name } market { id name } categories { id name } }
"""
ARTICLES = _query(
    "Articles",
    """
($articleNo: String, $name: String, $gtin: String, $category: UUID, $brand: UUID, $paging: Paging) {
  articles(articleNo: $articleNo, name: $name, gtin: $gtin, category: $category, brand: $brand, paging: $paging) {
    page totalHits articles { ...ArticleRow }
  }
}""",
    F_ARTICLE,
)
ARTICLE = _query("Article", "($articleId: UUID!) { article(articleId: $articleId) { ...ArticleRow } }", F_ARTICLE)

CREATE_BRAND = _mutation("CreateBrand", "($id: UUID, $name: String!) { createBrand(id: $id, name: $name) }")
UPDATE_BRAND = _mutation("UpdateBrand", "($id: UUID!, $name: String!) { updateBrand(id: $id, name: $name) }")
CREATE_MARKET = _mutation("CreateMarket", "($name: String!) { createMarket(name: $name) }")
UPDATE_MARKET = _mutation("UpdateMarket", "($id: UUID!, $name: String!) { updateMarket(id: $id, name: $name) }")
CREATE_ARTICLE = _mutation("CreateArticle", "($input: CreateArticleInput) { createArticle(input: $input) }")
UPDATE_ARTICLES = _mutation(
    "UpdateArticles", "($articles: [UpdateArticleInput!]!) { updateArticles(articles: $articles) }"
)
CREATE_ARTWORK_CATEGORY = _mutation(
    "CreateArtworkCategory",
    "($name: String!, $description: String) { createArtworkCategory(name: $name, description: $description) }",
)
RENAME_ARTWORK_CATEGORY = _mutation(
    "ChangeNameAndDescriptionOfCategory",
    "($categoryId: UUID!, $name: String!, $description: String!) "
    "{ changeNameAndDescriptionOfCategory(categoryId: $categoryId, name: $name, description: $description) }",
)
CREATE_PRINT_SPECIFICATION = _mutation(
    "CreatePrintSpecification", "($name: String!) { createPrintSpecification(name: $name) }"
)
UPDATE_PRINT_SPECIFICATION = _mutation(
    "UpdatePrintSpecification",
    "($input: UpdatePrintSpecificationInput!) { updatePrintSpecification(input: $input) }",
)
