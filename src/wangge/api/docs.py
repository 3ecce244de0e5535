"""The API reference page (ReDoc), with the few Content-Security-Policy relaxations ReDoc needs.

ReDoc injects its styles at run time and runs its search index in a worker made from a blob: URL, so
this one page allows inline styles and blob: workers. Its script comes from drf-spectacular's
REDOC_DIST: the SIDECAR package serves it from our own static files ('self'); a CDN URL is added to
script-src for this page only.
"""

from urllib.parse import urlsplit

from csp.decorators import csp_update
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.views import SpectacularRedocView


def docs_csp() -> dict[str, list[str]]:
    config = {"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]}
    dist = urlsplit(str(spectacular_settings.REDOC_DIST))
    if dist.scheme in {"http", "https"}:
        config["script-src"] = [f"{dist.scheme}://{dist.netloc}"]
    return config


class ApiDocsView(SpectacularRedocView):
    template_name = "api/redoc.html"


def api_docs_view(url_name: str):
    return csp_update(docs_csp())(ApiDocsView.as_view(url_name=url_name))
