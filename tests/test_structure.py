"""The package's shape: no import cycles, and djng's per-request state in its one declared place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import djng
from djng.testing import Client

PACKAGE = Path(djng.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").is_file()


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The djng modules ``path`` imports, at module level or inside functions alike.

    Importing ``djng.a.b`` runs ``djng/a/__init__.py`` first, so the subpackage counts
    too, except for the packages the importing module is itself in (they always run
    before it). The top-level ``djng/__init__.py`` (the public API that imports
    everything) is left out, as every submodule would otherwise be in a cycle with it.
    """
    name = module_name(path)
    package = name if is_package(name) else name.rpartition(".")[0]
    parts = name.split(".")
    own_packages = {".".join(parts[:i]) for i in range(1, len(parts))}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from .services import cache` imports djng.services.cache if it is a module,
            # and takes a name from djng/services/__init__.py if it is not.
            submodules = [f"{origin}.{alias.name}" for alias in node.names]
            targets = submodules
            if not all(target in modules for target in submodules):
                targets = [origin, *submodules]
        else:
            continue
        for target in targets:
            if target in modules:
                found.add(target)
                parts = target.split(".")
                found.update(".".join(parts[:i]) for i in range(2, len(parts)))
    found.discard(name)
    found.discard("djng")
    return found - own_packages


def import_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imported_modules(path, set(files)) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return visiting[visiting.index(node) :] + [node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node)
        if cycle:
            return cycle
    return None


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "djng.services" in graph["djng.health"]  # djng/services/__init__.py runs first
    assert "djng.services.db" in graph["djng.commands"]  # imported inside _alias()
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_djng_has_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


# -- per-request state -----------------------------------------------------------------


class Recording:
    """A Django middleware with every view hook, so that each runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        return None

    def process_exception(self, request, exception):
        return None


def boom(request):
    raise RuntimeError("boom")


@pytest.mark.parametrize("path", ["/ok", "/missing", "/boom", "/inner/ok"])
def test_no_layer_leaves_attributes_of_its_own_on_requests_responses_or_exceptions(path):
    seen = {}

    def report(request, exc):
        seen["exception"] = exc

    inner = djng.Router(djng.path("ok", lambda request: "ok"))
    app = djng.errors(
        djng.middleware(Recording)(
            djng.reconfigure(
                djng.Router(
                    djng.path("ok", lambda request: "ok"),
                    djng.path("boom", boom),
                    djng.mount("inner", djng.gzip(inner)),
                ),
                cache=djng.cache.Dummy(),
            )
        ),
        not_found=lambda request: ("custom 404", 404),
    )
    reporter = type("Reporter", (), {"report": staticmethod(report)})()
    with djng.errors.use(reporter):
        response = Client(app, raise_exceptions=False).get(path)
    own = [name for name in vars(response.wsgi_request) if "djng" in name and name != "djng"]
    assert own == []
    assert [name for name in vars(response) if "djng" in name] == []
    if "exception" in seen:
        assert [name for name in vars(seen["exception"]) if "djng" in name] == []
