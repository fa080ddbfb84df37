"""Cway operations the assistant never sends, by schema name, and why.

Why a module and not only a paragraph in docs/mcp.md: the generic mutation tool must refuse these
too (otherwise "out" would only mean "no dedicated tool"), and the schema coverage test checks
that every name here is a real schema operation and is listed, with its reason, in docs/mcp.md.
Pure data: importing it costs nothing at the shim's start.
"""

from __future__ import annotations

#: Why each group is out; the docs table quotes these words.
REASONS: dict[str, str] = {
    "billing": "Money moves: payment methods and invoicing go through Stripe pages a person must see "
    "and sign for, not an assistant's tool call.",
    "subscriptions": "Plan changes, trials and enterprise subscriptions commit the organisation to a "
    "contract; an organisation owner does them in the web app.",
    "hubspot": "Cway's CRM integration (HubSpot contacts and companies) is Cway staff's back office, "
    "not a user's working day, and exposes other customers' contact data.",
    "api_keys": "An API key is a long-lived credential; minting or revoking one from a chat would put a "
    "secret into a model's context and around the per-user sign-in this product exists for.",
    "webhooks": "A webhook sends the organisation's events to any URL; creating one from a chat is an "
    "exfiltration path a prompt injection could use.",
    "organisation_activation": "Activating or deactivating whole organisations is a Cway system "
    "administrator's operation that locks every user of a customer out or in.",
}

#: Schema operation (root field) -> group in :data:`REASONS`. Mutations and queries alike.
EXCLUDED: dict[str, str] = {
    "updatePaymentMethod": "billing",
    "startSubscriptionPaymentFlow": "subscriptions",
    "changeSubscription": "subscriptions",
    "cancelSubscription": "subscriptions",
    "endTrial": "subscriptions",
    "createEnterpriseSubscription": "subscriptions",
    "subscriptionProducts": "subscriptions",
    "createHubSpotContactIfMissing": "hubspot",
    "createHubSpotContactForAllUsers": "hubspot",
    "updateHubSpotContactToCustomer": "hubspot",
    "updateAllHubSpotContactsToCustomer": "hubspot",
    "hubSpotCompanies": "hubspot",
    "searchHubSpotContacts": "hubspot",
    "addApiKey": "api_keys",
    "removeApiKey": "api_keys",
    "createWebhook": "webhooks",
    "updateWebhook": "webhooks",
    "removeWebhook": "webhooks",
    "webhookEventTypes": "webhooks",
    "activateOrganisations": "organisation_activation",
    "deactivateOrganisations": "organisation_activation",
}


#: Fields (at any depth, on any type) that expose what the groups above keep out: webhook secrets
#: (``Webhook.bearerToken``/``signingSecret``), API keys, invoices. Refused by both GraphQL tools.
EXCLUDED_FIELDS: dict[str, str] = {
    "webhooks": REASONS["webhooks"],
    "apiKeys": REASONS["api_keys"],
    "invoices": REASONS["billing"],
}


def excluded_reason(operation: str) -> str | None:
    """The reason ``operation`` is out, or None when the assistant may send it."""
    group = EXCLUDED.get(operation)
    return REASONS[group] if group else None
