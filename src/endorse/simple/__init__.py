"""The Simple Repository API: PEP 503 HTML and PEP 691 JSON, rendered byte-stably."""

from endorse.simple.render import (
    HTML_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    ListedFile,
    StatusMarker,
    render_project_html,
    render_project_json,
    render_root_html,
    render_root_json,
)

__all__ = [
    "HTML_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "ListedFile",
    "StatusMarker",
    "render_project_html",
    "render_project_json",
    "render_root_html",
    "render_root_json",
]
