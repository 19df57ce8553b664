"""Pages for people: the front page and a project page with each file's trust level."""

from __future__ import annotations

from html import escape

from packaging.utils import canonicalize_name
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from endorse import __version__
from endorse.errors import NotFound
from endorse.services.index import Services

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;"
    "text-align:left}code{background:#f4f4f4;padding:0 .2rem}.l1{color:#8a6d00}.l2{color:#6b5b00}"
    ".l3,.l4{color:#1a7f37}"
)


def verified_install_command(base: str, root_sha256: str) -> str:
    """The install a new user should copy: through endorse's verifying client."""
    return f"endorse install --index {base} --root-sha256 {root_sha256} -- PROJECT"


def upload_command(base: str, token: str) -> str:
    """twine with an API token (the username is always ``__token__``)."""
    return f"twine upload --repository-url {base}/legacy/ -u __token__ -p {token} dist/*"


class Pages:
    """Handlers for the HTML pages and the health check."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def home(self, request: Request) -> Response:
        """What this index is, how to upload and install, and its root of trust."""
        base = str(request.base_url).rstrip("/")
        root_sha = await run_in_threadpool(self._root_sha256)
        signed = (
            f"<p>Every file and listing is signed with TUF. Metadata: "
            f"<code>{base}/tuf/metadata/</code>; targets: <code>{base}/tuf/targets/</code>.</p>"
            f"<p>Root metadata SHA-256 (check it out of band before trusting "
            f"<code>root.json</code>): <code>{root_sha}</code></p>"
            if root_sha
            else "<p><strong>This index publishes no TUF metadata.</strong></p>"
        )
        verified = (
            f"<p>Verified (the endorse client checks every file against the signed "
            f"metadata before pip or uv gets it):</p>"
            f"<pre>{escape(verified_install_command(base, root_sha))}</pre>"
            if root_sha
            else ""
        )
        body = (
            f"<h1>endorse {__version__}</h1>{signed}"
            f"<h2>Install</h2>{verified}"
            f"<p>Unverified (plain pip trusts whatever answers):</p>"
            f"<pre>pip install --index-url {base}/simple/ PROJECT</pre>"
            f"<h2>Upload</h2><pre>{escape(upload_command(base, '<token>'))}</pre>"
            f"<p><a href='/simple/'>All projects</a></p>"
        )
        return HTMLResponse(_page("endorse", body))

    async def project(self, request: Request) -> Response:
        """A project's files, newest first, each with its trust level."""
        raw = request.path_params["project"]
        name = canonicalize_name(raw)
        if raw != name:
            return RedirectResponse(f"/project/{name}/", status_code=301)
        try:
            project = await run_in_threadpool(self.services.projects.files, name)
        except NotFound:
            return HTMLResponse(_page("not found", f"<p>No project {escape(name)}.</p>"), 404)
        lines = []
        for f in project.files:
            level = f.trust_level
            state = "yanked" if f.yanked else ("published" if f.published else "pending")
            lines.append(
                f"<tr><td>{escape(f.version)}</td><td>{escape(f.filename)}</td>"
                f"<td class='l{int(level)}' title='{escape(level.explanation)}'>"
                f"{int(level)} · {escape(level.label)}</td><td>{state}</td></tr>"
            )
        table = (
            "<table><tr><th>version</th><th>file</th><th>trust level</th><th>state</th></tr>"
            + "".join(lines)
            + "</table>"
        )
        return HTMLResponse(_page(name, f"<h1>{escape(name)}</h1>{table}"))

    async def health(self, _request: Request) -> Response:
        """Liveness plus the newest timestamp version."""
        version = None
        if self.services.settings.tuf_enabled:
            md = await run_in_threadpool(self.services.published.timestamp)
            version = md.signed.version
        return JSONResponse({"status": "ok", "timestamp_version": version})

    def _root_sha256(self) -> str | None:
        published = self.services.published
        if not self.services.settings.tuf_enabled or not published.is_initialised():
            return None
        return published.root_sha256()


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
