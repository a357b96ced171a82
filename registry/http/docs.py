"""The offline API documentation page: Swagger UI from our own static files, no inline script."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>怀化便民服务登记 API 文档</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/docs/swagger-ui.css">
<script src="/static/docs/swagger-ui-bundle.js"></script>
<script src="/static/docs/swagger-ui-standalone-preset.js"></script>
<script src="/static/swagger-init.js"></script>
</head>
<body><div id="swagger-container"></div></body>
</html>
"""


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI served entirely by the registry, compatible with a strict CSP."""

    def __init__(self) -> None:
        super().__init__(
            path="/",
            js_url="/static/docs/swagger-ui-bundle.js",
            css_url="/static/docs/swagger-ui.css",
            standalone_preset_js_url="/static/docs/swagger-ui-standalone-preset.js",
            favicon="<link rel='icon' href='data:,'>",
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return PAGE.encode()
