"""The review app: an MCP App (``io.modelcontextprotocol/ui``) that shows an artwork and lets the
person approve or reject it without leaving the chat.

Why an app and not just text: an approver decides by *looking*. The host renders this ``ui://``
document in a sandboxed iframe next to the ``review_artwork`` result (and the approval list).
The page is static and self-contained: no data is baked into it (so no token, code or e-mail can
be), everything it shows arrives from the host over the ext-apps ``postMessage`` JSON-RPC bridge
(``ui/initialize``, then ``ui/notifications/tool-input`` / ``tool-result``), and its two buttons
call the existing ``approve_artwork`` / ``reject_artwork`` tools through the host (``tools/call``):
every decision passes the same tool, bearer rule, confirmation and audit as one the model makes.

The preview image comes as an ``ImageContent`` block of the tool result (bytes the shim fetched
with the caller's bearer), shown as a ``data:`` URL; the page loads nothing from anywhere, which
its Content-Security-Policy (a ``<meta>`` here, and ``_meta.ui.csp`` with no domains on the
resource) enforces. Text is set with ``textContent`` only: artwork names cannot inject markup.
"""

from __future__ import annotations

from typing import Any

from mcp.server.apps import EXTENSION_ID, Apps, ResourceCsp
from mcp.server.mcpserver import MCPServer

from cway_tools import sdk_adapter

RESOURCE_URI = "ui://cway/review-artwork.html"
#: What a tool's ``_meta`` carries to name the app (the key the SDK's ``Apps.tool`` stamps).
UI_META: dict[str, Any] = {"ui": {"resourceUri": RESOURCE_URI}}

#: No external origin at all: the host bridge is ``postMessage``, which no CSP directive governs.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'none'; base-uri 'none'; form-action 'none'"
)

HTML = (
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="__CSP__">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Review artwork</title>
<style>
  :root { font: 15px/1.4 system-ui, sans-serif; color: #1b1b1f; background: #fff; }
  body { margin: 0; padding: 12px; max-width: 640px; }
  h1 { font-size: 1.15rem; margin: 0 0 4px; overflow-wrap: anywhere; }
  .muted { color: #555; font-size: .9rem; }
  .state { display: inline-block; padding: 2px 8px; border-radius: 10px; background: #eee; font-weight: 600; }
  .state.APPROVED { background: #d7f5dd; } .state.REJECTED { background: #fbd9d9; }
  .state.FOR_REVIEW, .state.COMMENTED { background: #fff1c7; }
  figure { margin: 10px 0; }
  figure img { max-width: 100%; height: auto; border: 1px solid #ccc; display: block; }
  h2 { font-size: 1rem; margin: 14px 0 4px; }
  ul { margin: 0; padding-left: 18px; }
  li { overflow-wrap: anywhere; }
  textarea { width: 100%; box-sizing: border-box; min-height: 4em; font: inherit; }
  .actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
  button { font: inherit; padding: 8px 14px; border-radius: 6px; border: 1px solid #444; cursor: pointer; }
  button:focus-visible, textarea:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
  button.approve { background: #15803d; color: #fff; border-color: #15803d; }
  button.reject { background: #fff; color: #b91c1c; border-color: #b91c1c; }
  button:disabled { opacity: .5; cursor: default; }
  #outcome { margin-top: 8px; font-weight: 600; }
  #outcome.error { color: #b91c1c; }
  .row { border-bottom: 1px solid #eee; padding: 6px 0; }
</style>
</head>
<body>
<main id="app" aria-live="polite">
  <p class="muted" id="loading">Waiting for the artwork…</p>
  <section id="detail" hidden>
    <h1 id="name"></h1>
    <div class="muted" id="project"></div>
    <div><span class="state" id="state"></span> <span class="muted" id="due"></span></div>
    <figure id="figure" hidden><img id="preview" alt=""><figcaption class="muted">Preview</figcaption></figure>
    <h2>Approvers</h2><ul id="approvers"></ul>
    <h2>Corrections</h2><ul id="corrections"></ul>
    <h2>History</h2><ul id="history"></ul>
    <h2>Decision</h2>
    <label for="comment">Comment (required to reject)</label>
    <textarea id="comment" maxlength="5000"></textarea>
    <div class="actions">
      <button type="button" class="approve" id="approve">Approve</button>
      <button type="button" class="reject" id="reject">Reject with comment</button>
    </div>
    <div id="outcome" role="status"></div>
  </section>
  <section id="list" hidden>
    <h1>Waiting for your approval</h1>
    <div id="rows"></div>
  </section>
</main>
<script>
"use strict";
(function () {
  var nextId = 1, pending = {}, artwork = null;
  var $ = function (id) { return document.getElementById(id); };

  function send(message) { window.parent.postMessage(message, "*"); }
  function request(method, params) {
    var id = nextId++;
    send({ jsonrpc: "2.0", id: id, method: method, params: params });
    return new Promise(function (resolve, reject) { pending[id] = { resolve: resolve, reject: reject }; });
  }
  function items(el, values, text) {
    el.textContent = "";
    (values || []).forEach(function (v) {
      var li = document.createElement("li"); li.textContent = text(v); el.appendChild(li);
    });
    if (!el.children.length) { var li = document.createElement("li"); li.textContent = "none"; el.appendChild(li); }
  }
  function who(p) { return p ? (p.name || p.username || "") : ""; }
  function setBusy(busy) {
    var can = artwork && !busy;
    $("approve").disabled = !(can && artwork.can_approve);
    $("reject").disabled = !(can && artwork.can_reject);
  }
  function outcome(text, isError) { $("outcome").textContent = text; $("outcome").className = isError ? "error" : ""; }
  function textOf(result) {
    return (result.content || []).filter(function (b) { return b.type === "text"; })
      .map(function (b) { return b.text; }).join("\\n");
  }

  function showDetail(result) {
    var a = result.structuredContent; artwork = a;
    $("loading").hidden = true; $("list").hidden = true; $("detail").hidden = false;
    $("name").textContent = a.name;
    $("project").textContent = a.project_name ? "Project: " + a.project_name : "";
    $("state").textContent = a.state; $("state").className = "state " + a.state;
    $("due").textContent = a.due_date ? "due " + a.due_date.slice(0, 10) : "";
    var image = (result.content || []).filter(function (b) { return b.type === "image"; })[0];
    if (image && /^image\\/(png|jpeg|gif|webp)$/.test(image.mimeType)) {
      $("preview").src = "data:" + image.mimeType + ";base64," + image.data;
      $("preview").alt = "Preview of " + a.name; $("figure").hidden = false;
    } else { $("figure").hidden = true; }
    items($("approvers"), a.approvers, who);
    items($("corrections"), a.corrections, function (e) { return (e.timestamp || "").slice(0, 10) + " " + e.description; });
    items($("history"), a.history, function (e) { return (e.timestamp || "").slice(0, 10) + " " + e.description; });
    outcome("", false); setBusy(false);
  }

  function showList(result) {
    var rows = $("rows"); rows.textContent = "";
    $("loading").hidden = true; $("detail").hidden = true; $("list").hidden = false;
    (result.structuredContent.artworks || []).forEach(function (a) {
      var div = document.createElement("div"); div.className = "row";
      var b = document.createElement("button"); b.type = "button";
      b.textContent = "Review " + a.name + (a.project_name ? " (" + a.project_name + ")" : "");
      b.addEventListener("click", function () { review(a.id); });
      div.appendChild(b); rows.appendChild(div);
    });
    if (!rows.children.length) rows.textContent = "Nothing is waiting for your approval.";
  }

  function show(result) {
    if (!result || result.isError || !result.structuredContent) {
      $("loading").textContent = result ? textOf(result) : "No result."; return;
    }
    if (result.structuredContent.artworks) showList(result); else showDetail(result);
  }

  function review(id) {
    request("tools/call", { name: "review_artwork", arguments: { artwork_id: id } }).then(show, function (e) {
      outcome(String(e.message || e), true);
    });
  }

  function decide(name, args) {
    setBusy(true); outcome("Sending…", false);
    request("tools/call", { name: name, arguments: args }).then(function (result) {
      var d = result.structuredContent, first = d && d.artworks && d.artworks[0];
      if (result.isError || !first) { outcome(textOf(result) || "The decision failed.", true); setBusy(false); return; }
      artwork.state = first.state; artwork.can_approve = false; artwork.can_reject = false;
      $("state").textContent = first.state; $("state").className = "state " + first.state;
      outcome((d.decision === "approved" ? "Approved" : "Rejected") + ": state now " + first.state, false);
      setBusy(false);
    }, function (e) { outcome(String(e.message || e), true); setBusy(false); });
  }

  $("approve").addEventListener("click", function () { decide("approve_artwork", { artwork_id: artwork.id }); });
  $("reject").addEventListener("click", function () {
    var comment = $("comment").value.trim();
    if (!comment) { outcome("Write what must change before rejecting.", true); $("comment").focus(); return; }
    decide("reject_artwork", { artwork_id: artwork.id, comment: comment });
  });

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent) return;
    var m = event.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.id !== undefined && !m.method && pending[m.id]) {
      var p = pending[m.id]; delete pending[m.id];
      if (m.error) p.reject(m.error); else p.resolve(m.result);
      return;
    }
    if (m.method === "ui/notifications/tool-result") show(m.params);
  });

  request("ui/initialize", {
    protocolVersion: "2026-01-26",
    appInfo: { name: "cway-review", version: "1" },
    appCapabilities: {}
  }).then(function () { send({ jsonrpc: "2.0", method: "ui/notifications/initialized", params: {} }); });
})();
</script>
</body>
</html>
"""
).replace("__CSP__", CSP)


def review_apps() -> Apps:
    """The app's resource, built with the SDK's Apps extension (``ui://`` and MIME checks, ``_meta.ui``)."""
    apps = Apps()
    apps.add_html_resource(
        RESOURCE_URI,
        HTML,
        name="review-artwork",
        title="Review artwork",
        description="Preview, status, approvers, history and Approve / Reject buttons for one artwork.",
        csp=ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[]),
        prefers_border=True,
    )
    return apps


def register_app(server: MCPServer) -> None:
    """Put the app's resource on ``server`` and advertise the extension.

    The tools that show it are registered by their own modules with :data:`UI_META` (the same
    ``_meta.ui.resourceUri`` the SDK's ``Apps.tool`` stamps); the server and its tools exist before
    this module is reached, so the extension's contributions are applied here rather than through
    ``MCPServer(extensions=[...])``.
    """
    apps = review_apps()
    for binding in apps.resources():
        server.add_resource(binding.resource)
    sdk_adapter.advertise_extension(server, EXTENSION_ID, apps.settings())
