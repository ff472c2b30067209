"""Problem answers outside DRF: unknown routes under /api/ (the catch-all at the end of
``api.urls``), and Django's 404/500 handlers for /api/ paths (``handler404``/``handler500``
in the root URLconf may point here; /fhir/ paths get an OperationOutcome, other paths keep
Django's pages)."""

from __future__ import annotations

from django.http import HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from api.exceptions import problem_response
from api.fhir import outcome_http_response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _is_fhir(request) -> bool:
    return request.path == "/fhir" or request.path.startswith("/fhir/")


def _resolves_elsewhere(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is not api_not_found


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """No API route here: 404 problem+json. A GET of a known route without its trailing
    slash is redirected, as Django's ``APPEND_SLASH`` would."""
    if not request.path.endswith("/") and _resolves_elsewhere(request.path + "/"):
        if request.method in ("GET", "HEAD"):
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
        return problem_response("not-found", 404, f"No route here; did you mean {request.path}/ ?")
    return problem_response("not-found", 404, "No API route matches this path.")


def not_found(request, exception=None):
    if _is_fhir(request):
        return outcome_http_response(404, "Not found.")
    if _is_api(request):
        return problem_response("not-found", 404, "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_fhir(request):
        return outcome_http_response(500, "The server failed to answer; it has been logged.")
    if _is_api(request):
        return problem_response("server-error", 500, "The server failed to answer; it has been logged.")
    return defaults.server_error(request)
