"""JSON-LD, offline only: the two shipped contexts, a loader that never fetches, and the term check.

JSON-LD expansion silently drops a property its context does not define, so a credential can
carry a claim that means nothing to a JSON-LD processor while a plain-JSON reader still sees
it. ``undefined_terms`` refuses that: every property (and every ``type`` value) must be a term
that the shipped contexts define, in the scope where it is used (Open Badges scopes most of its
terms to a type: ``achievement`` means something only inside an ``AchievementSubject``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.documentloader.base import DocumentLoader, RemoteDocument

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_V3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: The ``@context`` of every credential the registry issues, in this order.
CREDENTIAL_CONTEXT: tuple[str, ...] = (VC_V2_CONTEXT, OB_V3_CONTEXT)
#: The ``@context`` of a ``BitstringStatusListCredential`` (VC 2.0 defines its terms).
STATUS_LIST_CONTEXT: tuple[str, ...] = (VC_V2_CONTEXT,)

#: URL → the shipped copy (byte-identical to the published documents).
SHIPPED_CONTEXTS: Mapping[str, Path] = MappingProxyType(
    {
        VC_V2_CONTEXT: CONTEXTS_DIR / "credentials-v2.jsonld",
        OB_V3_CONTEXT: CONTEXTS_DIR / "ob-v3p0-context-3.0.3.json",
    }
)


@cache
def _read_context(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


class OfflineDocumentLoader(DocumentLoader):
    """A PyLD document loader serving the shipped contexts from disk. Any other URL is a
    ``JsonLdError``: it never touches the network."""

    def __init__(self, documents: Mapping[str, Path] = SHIPPED_CONTEXTS) -> None:
        self._documents = dict(documents)

    def __call__(self, url: str, options: dict | None = None) -> RemoteDocument:
        path = self._documents.get(url)
        if path is None:
            raise jsonld.JsonLdError(
                "Refusing to load a JSON-LD document that is not one of the shipped contexts.",
                "jsonld.LoadDocumentError",
                {"url": url},
                code="loading document failed",
            )
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            # PyLD resolves relative URLs in a context in place: hand out a copy.
            "document": copy.deepcopy(_read_context(path)),
        }


document_loader = OfflineDocumentLoader()
# Our own resolved-context cache: PyLD's module-wide one may hold contexts another loader
# fetched. Bounded: only the shipped contexts (and their scoped contexts) ever reach it,
# because embedded contexts are refused before expansion.
_resolved_contexts: dict[str, Any] = {}


def expand(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Expand ``document`` with the offline loader (raises ``JsonLdError`` for any other URL)."""
    return jsonld.expand(dict(document), _options())


def _options() -> dict[str, Any]:
    return {
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_resolved_contexts, document_loader),
        "processingMode": "json-ld-1.1",
    }


def _dotted(path: tuple[str, ...], key: str) -> str:
    return ".".join((*path, key))


def _embedded_contexts(value: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context" and path:
                yield ".".join(path)
            yield from _embedded_contexts(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from _embedded_contexts(item, path)


class _TermCheckingProcessor(jsonld.JsonLdProcessor):
    """Expands like PyLD and, on every node object, checks each key against the active context
    PyLD itself uses there (type- and property-scoped contexts applied)."""

    def __init__(self) -> None:
        super().__init__(on_property_dropped=self._note_dropped)
        self.problems: list[str] = []
        self.dropped: list[str | None] = []
        self.visited = 0
        self._path: list[str | None] = []

    def _note_dropped(self, expanded_property: str | None) -> None:
        self.dropped.append(expanded_property)

    def _expand_object(
        self,
        active_ctx,
        active_property,
        expanded_active_property,
        element,
        expanded_parent,
        options,
        inside_list=False,
        type_key=None,
        type_scoped_ctx=None,
    ):
        self._path.append(active_property)
        try:
            self._check_node(active_ctx, element, type_scoped_ctx or active_ctx)
            return super()._expand_object(
                active_ctx,
                active_property,
                expanded_active_property,
                element,
                expanded_parent,
                options,
                inside_list,
                type_key,
                type_scoped_ctx,
            )
        finally:
            self._path.pop()

    def _check_node(self, active_ctx: dict, element: dict, type_ctx: dict) -> None:
        self.visited += 1
        path = tuple(p for p in self._path if p)
        mappings = active_ctx.get("mappings", {})
        for key, value in element.items():
            if key == "@context":
                continue  # the top-level one is checked before expansion; others refused there
            definition = mappings.get(key)
            if not definition or definition.get("@id") is None:
                self.problems.append(f"{_dotted(path, key)}: not defined by the shipped contexts")
                continue
            if definition["@id"] == "@type":
                type_mappings = type_ctx.get("mappings", {})
                for name in value if isinstance(value, list) else [value]:
                    if not isinstance(name, str) or not type_mappings.get(name):
                        self.problems.append(
                            f"{_dotted(path, key)}: type {name!r} is not defined by the shipped contexts"
                        )


def undefined_terms(
    document: Mapping[str, Any], *, context: tuple[str, ...] = CREDENTIAL_CONTEXT
) -> list[str]:
    """What in ``document`` the shipped contexts do not define, one message per property
    (naming it by its dotted path); empty when every property and type is defined.

    The ``@context`` must be exactly ``context`` (by default the two contexts of a certificate;
    ``STATUS_LIST_CONTEXT`` for a status list) and no node may embed its own.
    """
    if not isinstance(document, Mapping):
        return ["the credential is not a JSON object"]
    given = document.get("@context")
    if given != list(context):
        return [f"@context must be {list(context)}, got {given!r}"]
    embedded = [
        f"{where}.@context: embedded contexts are not allowed" for where in _embedded_contexts(document)
    ]
    if embedded:
        return embedded

    processor = _TermCheckingProcessor()
    try:
        processor.expand(dict(document), _options())
    except jsonld.JsonLdError as exc:
        message = exc.args[0] if exc.args else exc.type
        return [*processor.problems, f"JSON-LD expansion failed: {message} ({exc.code or exc.type})"]
    if processor.problems:
        return processor.problems
    if not processor.visited:  # PyLD no longer calls the hook: fail closed, never silently pass
        return ["the term check could not inspect the document (unsupported PyLD version?)"]
    # Belt and braces: nothing may have been dropped that the node check did not name.
    return [f"{name}: dropped by JSON-LD expansion" for name in processor.dropped]
