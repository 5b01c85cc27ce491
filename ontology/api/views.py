"""``/sparql``: the SPARQL 1.1 Protocol query operation (GET and POST), read-only, per role."""

from __future__ import annotations

from urllib.parse import parse_qs

from django.http import HttpResponse, JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from ontology import sparql
from ontology.rdf import store as rdf_store
from passport.services import access


def _error(exc: sparql.SparqlError) -> JsonResponse:
    return JsonResponse({"code": exc.code, "message": str(exc)}, status=exc.status)


class SparqlView(APIView):
    """Queries run over exactly the graphs the caller's role may see (see docs/ontology.md)."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    # The body is read raw (application/sparql-query) or as a form, never by DRF's parsers.
    parser_classes: list = []

    def perform_content_negotiation(self, request, force=False):
        # SPARQL result media types are negotiated below; DRF must not answer 406 for them.
        return JSONRenderer(), "application/json"

    def get(self, request: Request) -> HttpResponse:
        return self._answer(request, request.query_params)

    def post(self, request: Request) -> HttpResponse:
        django_request = request._request
        media = (django_request.content_type or "").lower()
        if media == "application/sparql-query":
            params = {
                **{k: v for k, v in request.query_params.lists()},
                "query": [django_request.body.decode()],
            }
        elif media == "application/x-www-form-urlencoded":
            params = parse_qs(django_request.body.decode(), keep_blank_values=True)
        elif media == "application/sparql-update":
            return JsonResponse(
                {
                    "code": "read_only",
                    "message": "this endpoint is read-only: SPARQL updates are not accepted",
                },
                status=405,
                headers={"Allow": "GET, POST"},
            )
        else:
            return JsonResponse(
                {
                    "code": "unsupported_media_type",
                    "message": (
                        "POST a query as application/sparql-query or application/x-www-form-urlencoded"
                    ),
                },
                status=415,
            )
        return self._answer(request, _MultiDict(params))

    def _answer(self, request: Request, params) -> HttpResponse:
        if params.get("update") is not None:
            return JsonResponse(
                {
                    "code": "read_only",
                    "message": "this endpoint is read-only: SPARQL updates are not accepted",
                },
                status=405,
                headers={"Allow": "GET, POST"},
            )
        query = params.get("query")
        if not query:
            return JsonResponse(
                {"code": "missing_query", "message": "give the query as the query= parameter"}, status=400
            )
        if params.get("default-graph-uri") or params.get("named-graph-uri"):
            return JsonResponse(
                {
                    "code": "dataset_fixed",
                    "message": (
                        "the dataset is fixed by your role; default-graph-uri and named-graph-uri "
                        "are not accepted"
                    ),
                },
                status=400,
            )
        role = access.granted_role(request.user)
        audience = rdf_store.audience(role, access.organisation_id(request.user))
        try:
            outcome = sparql.run(query, audience)
            fmt = sparql.choose_format(outcome.kind, params.get("format"), request.headers.get("Accept", ""))
            body = sparql.serialise(outcome, fmt)
        except sparql.SparqlError as exc:
            return _error(exc)
        media = sparql.GRAPH_FORMATS[fmt][0] if outcome.kind == "triples" else sparql.RESULT_FORMATS[fmt]
        response = HttpResponse(body, content_type=f"{media}; charset=utf-8")
        response["Vary"] = "Accept, Authorization, Cookie"
        if outcome.truncated:
            response["Cellpass-Results-Truncated"] = "true"
            response["Warning"] = (
                f'199 - "results truncated at {len(outcome.rows)} (CELLPASS_SPARQL_MAX_RESULTS)"'
            )
        return response


class _MultiDict:
    """First value of a parse_qs dict, like QueryDict.get."""

    def __init__(self, data: dict[str, list[str]]):
        self.data = data

    def get(self, key: str, default=None):
        values = self.data.get(key)
        return values[0] if values else default
