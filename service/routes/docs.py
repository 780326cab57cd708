"""An interactive API page that needs no internet access.

Litestar's bundled UIs (Swagger, ReDoc, Scalar, ...) load their JavaScript from a CDN. This page
is one self-contained HTML document: the OpenAPI schema is embedded in it, and a few lines of
plain JavaScript list every operation with a form to send it. Nothing external is referenced.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.plugins import OpenAPIRenderPlugin

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
details{border:1px solid #ccc;border-radius:4px;margin:.5em 0;padding:.4em .8em}
summary{cursor:pointer}.m{display:inline-block;width:4.5em;font-weight:bold}
.get{color:#1769aa}.post{color:#2e7d32}.delete{color:#b71c1c}
textarea{width:100%;min-height:10em;font-family:monospace}input{font-family:monospace}
pre{background:#f5f5f5;padding:.6em;overflow:auto;max-height:30em}
</style></head><body>
<h1>__TITLE__ <small>__VERSION__</small></h1>
<p>The OpenAPI document is at <a href="__JSON__">__JSON__</a>. Open an operation, fill it in, send it.</p>
<div id="ops"></div>
<script id="schema" type="application/json">__SCHEMA__</script>
<script>
"use strict";
const schema = JSON.parse(document.getElementById("schema").textContent);
const ops = document.getElementById("ops");
function resolve(s){
  while (s && s.$ref){ s = s.$ref.split("/").slice(1).reduce((o,k)=>o[k], schema); }
  return s;
}
function example(s, depth){
  s = resolve(s) || {}; depth = depth || 0;
  if (s.default !== undefined) return s.default;
  if (s.oneOf) return example(s.oneOf.find(x => x.type !== "null") || s.oneOf[0], depth);
  if (s.anyOf) return example(s.anyOf.find(x => x.type !== "null") || s.anyOf[0], depth);
  if (s.enum) return s.enum[0];
  if (s.type === "object" && depth < 4){ const o = {};
    for (const k of (s.required || [])) o[k] = example(s.properties[k], depth + 1); return o; }
  if (s.type === "array") return [];
  if (s.type === "integer" || s.type === "number") return s.minimum || 0;
  if (s.type === "boolean") return false;
  return "string";
}
for (const [path, item] of Object.entries(schema.paths || {})){
  for (const [method, op] of Object.entries(item)){
    const d = document.createElement("details");
    const params = (op.parameters || []).map(p =>
      `<label>${p.name} (${p.in}) <input data-in="${p.in}" name="${p.name}"></label><br>`).join("");
    const body = op.requestBody ? example(op.requestBody.content["application/json"].schema) : null;
    d.innerHTML = `<summary><span class="m ${method}">${method.toUpperCase()}</span> <code>${path}</code>
      ${op.summary || ""}</summary>${params}` +
      (body !== null ? `<textarea>${JSON.stringify(body, null, 2)}</textarea>` : "") +
      `<br><button>Send</button><pre></pre>`;
    d.querySelector("button").onclick = async () => {
      let url = path; const query = new URLSearchParams();
      for (const input of d.querySelectorAll("input")){
        if (!input.value) continue;
        const value = encodeURIComponent(input.value);
        if (input.dataset.in === "path") url = url.replace(`{${input.name}}`, value);
        else query.append(input.name, input.value);
      }
      const init = {method: method.toUpperCase(), headers: {}};
      const text = d.querySelector("textarea");
      if (text){ init.body = text.value; init.headers["Content-Type"] = "application/json"; }
      const out = d.querySelector("pre"); out.textContent = "...";
      const q = query.toString();
      const response = await fetch(url + (q ? "?" + q : ""), init);
      out.textContent = `${response.status} ${response.statusText}\\n` + await response.text();
    };
    ops.appendChild(d);
  }
}
</script></body></html>
"""


class OfflineDocsPlugin(OpenAPIRenderPlugin):
    """Serves the self-contained page above (at the schema root, /schema)."""

    def __init__(self, *, path: str = "/", json_path: str = "/schema/openapi.json") -> None:
        super().__init__(path=path, favicon="", style="")
        self.json_path = json_path

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        info = openapi_schema.get("info", {})
        # "</" would end the script element; JSON allows the escaped form.
        embedded = self.render_json(request, openapi_schema).decode().replace("</", "<\\/")
        page = (
            _PAGE.replace("__TITLE__", html.escape(str(info.get("title", "API"))))
            .replace("__VERSION__", html.escape(str(info.get("version", ""))))
            .replace("__JSON__", html.escape(self.json_path))
            .replace("__SCHEMA__", embedded)
        )
        return page.encode()


# The API's first clients read the schema and the docs at these paths; /schema serves them too.
ROOT_DOCS = OfflineDocsPlugin(path="/api/v1/docs", json_path="/openapi.json")


@get("/openapi.json", include_in_schema=False, media_type="application/json", sync_to_thread=False)
def openapi_json(request: Request) -> Response[bytes]:
    """The OpenAPI document (the same as /schema/openapi.json)."""
    return Response(ROOT_DOCS.render_json(request, _schema(request)), media_type="application/json")


@get("/api/v1/docs", include_in_schema=False, media_type="text/html", sync_to_thread=False)
def api_docs(request: Request) -> Response[bytes]:
    """The offline docs page (the same as /schema)."""
    return Response(ROOT_DOCS.render(request, _schema(request)), media_type="text/html")


def _schema(request: Request) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi_schema.to_schema()
    return schema
