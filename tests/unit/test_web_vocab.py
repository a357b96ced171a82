"""The pages' vocabulary (/static/vocab.js) and their ES modules, without a browser.

The vocabulary module says exactly what the Python constants say; every name a page imports is
exported by the module it imports it from; each page preloads what it imports; the agent's
service worker caches every module the agent page needs; and no page script keeps its own copy of
the vocabulary. The pages themselves are exercised in tests/e2e.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router
from litestar.testing import TestClient

from registry.core.access import ROLE_LABELS_ZH
from registry.coverage.rules import COVERAGE_CLASSES
from registry.plans.rules import TARGET_LABELS_ZH
from registry.sites.rules import status as status_rules
from registry.web import pages
from registry.web.vocab import vocab_module, vocabulary

WEB = Path(pages.__file__).resolve().parent
STATIC = WEB / "static"
PAGES = {"/": "index.html", "/login": "login.html", "/agent": "agent.html"} | {
    f"/{name}": f"{name}.html" for name in ("planner", "municipal")
}
IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"([^"]+)";', re.M)
BARE_IMPORT = re.compile(r'^import\s*"([^"]+)";', re.M)  # a module run for its effect
EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function|const|class)\s+([\w$]+)", re.M)
MODULE_SCRIPT = re.compile(r'<script type="module" src="([^"]+)"></script>')
PRELOAD = re.compile(r'<link rel="modulepreload" href="([^"]+)">')


def _exports_of_vocab() -> dict[str, object]:
    """The exported constants of the generated module, read back as JSON."""
    text = vocab_module().decode()
    found = re.findall(r"^export const (\w+) = frozen\((.*)\);$", text, re.M)
    return {name: json.loads(value) for name, value in found}


def _source(url: str) -> str:
    return pages.shell_content(url).decode()


def _imports(url: str) -> list[tuple[list[str], str]]:
    """(names, module URL) of each static import of a module (no names: run for its effect)."""
    source = _source(url)
    return [
        ([n.strip().split(" as ")[0] for n in names.split(",") if n.strip()], target)
        for names, target in IMPORT.findall(source)
    ] + [([], target) for target in BARE_IMPORT.findall(source)]


def _module_graph(entry: str) -> set[str]:
    """Every module URL reached from ``entry`` (included) by static imports."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        todo.extend(target for _, target in _imports(url))
    return seen


def test_the_vocabulary_says_what_the_python_constants_say():
    served = _exports_of_vocab()
    assert served == vocabulary()
    assert served["STATUSES"] == list(status_rules.STATUSES)
    assert served["STATUS_LABELS"] == status_rules.LABELS_ZH
    assert served["STATUS_LABELS"]["in_service"] == "已运行"
    assert served["STATUS_COLOURS"] == status_rules.COLOURS
    assert served["PLAN_TARGET_LABELS"] == TARGET_LABELS_ZH
    assert served["ROLE_LABELS"] == ROLE_LABELS_ZH
    classes = served["COVERAGE_CLASSES"]
    assert classes["breaks"] == list(COVERAGE_CLASSES.breaks)
    assert classes["colours"] == list(COVERAGE_CLASSES.colours)
    assert classes["labels"] == list(COVERAGE_CLASSES.labels)
    assert (classes["nullColour"], classes["nullLabel"]) == (
        COVERAGE_CLASSES.null_colour,
        COVERAGE_CLASSES.null_label,
    )
    assert set(served["SITE_KIND_LABELS"]) == set(served["SITE_KINDS"])
    assert set(served["CENTRE_KINDS"]) | set(served["POINT_KINDS"]) == set(served["SITE_KINDS"])


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_imported_name_is_exported_and_preloaded(page):
    html = (WEB / PAGES[page]).read_text(encoding="utf-8")
    entries = MODULE_SCRIPT.findall(html)
    assert entries, "module scripts only, no classic or inline script"
    assert html.count("<script") == len(entries)
    assert "<script>" not in html and " defer" not in html
    graph = set().union(*(_module_graph(entry) for entry in entries))
    for url in graph:
        for names, target in _imports(url):
            if target == pages.VOCAB_URL:
                exported = set(_exports_of_vocab())
            else:
                exported = set(EXPORT.findall(_source(target)))
            assert set(names) <= exported, (url, target, set(names) - exported)
    # Preloads fetch the whole graph at once (no waterfall on a weak signal), and only it.
    assert set(PRELOAD.findall(html)) == graph - set(entries)


def test_the_agent_service_worker_caches_every_module_of_the_agent_page():
    html = (WEB / "agent.html").read_text(encoding="utf-8")
    graph = set().union(*(_module_graph(u) for u in MODULE_SCRIPT.findall(html)))
    styles = set(re.findall(r'<link rel="stylesheet" href="([^"]+)">', html))
    assert graph | styles | {"/agent"} <= set(pages.AGENT_SHELL)
    worker = pages.service_worker().decode()
    assert "__SHELL" not in worker
    shell = json.loads(re.search(r"const SHELL = (\[.*\]);", worker).group(1))
    assert shell == list(pages.AGENT_SHELL)


def test_no_page_script_keeps_its_own_vocabulary():
    served = _exports_of_vocab()
    words = [
        *served["STATUS_COLOURS"].values(),
        *served["COVERAGE_CLASSES"]["colours"],
        *served["SITE_KIND_LABELS"].values(),
        *served["ROLE_LABELS"].values(),
        served["STATUS_LABELS"]["planned"],
        served["STATUS_LABELS"]["under_construction"],
    ]
    for script in sorted(STATIC.glob("*.js")):
        text = script.read_text(encoding="utf-8")
        copies = [w for w in words if w.lower() in text.lower()]
        assert copies == [], (script.name, copies)


@pytest.fixture(scope="module")
def web_client():
    """The page routes and the static files as registry/app.py mounts them (no database)."""
    app = Litestar(
        route_handlers=[
            pages.PageController,
            create_static_files_router(
                path="/static",
                directories=[STATIC],
                cache_control=CacheControlHeader(no_cache=True),
            ),
        ]
    )
    with TestClient(app) as client:
        yield client


def test_the_vocabulary_is_served_like_the_static_files(web_client):
    response = web_client.get("/static/vocab.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == vocab_module()
    etag = response.headers["etag"]
    again = web_client.get("/static/vocab.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert web_client.get("/static/vocab.js", headers={"If-None-Match": '"x"'}).status_code == 200
    # The files beside it still come from the directory.
    common = web_client.get("/static/common.js")
    assert common.status_code == 200
    assert common.headers["cache-control"] == "no-cache"


def test_the_service_worker_lists_the_shell(web_client):
    response = web_client.get("/agent-sw.js")
    assert response.status_code == 200
    assert response.headers["service-worker-allowed"] == "/agent"
    assert pages.VOCAB_URL in response.text
