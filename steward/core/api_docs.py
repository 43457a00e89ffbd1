"""The API documentation pages under the Content-Security-Policy.

Swagger UI is served split (its start-up script is a separate response, not inline) and Redoc starts
from its `<redoc spec-url>` element, so neither needs an inline script. Both inject their own styles
and Redoc builds a web worker from a blob, so these two pages (and only these) allow inline styles
and blob workers.
"""

from __future__ import annotations

from csp.decorators import csp_update
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

DOCS_POLICY = {"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}

swagger_ui = csp_update(DOCS_POLICY)(SpectacularSwaggerSplitView.as_view(url_name="schema"))
redoc = csp_update(DOCS_POLICY)(
    SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html")
)
