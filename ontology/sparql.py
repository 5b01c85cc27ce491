"""A read-only SPARQL 1.1 query service over the graphs a caller's role may see.

* Dataset (``ontology.rdf.store.audience``): the public, legitimate-interest and authority roles query
  their in-memory replica, which holds exactly their audience graphs, with the union of its graphs as the
  default graph; an economic operator queries the store with ``default_graph`` = the union of its
  audience graphs and ``named_graphs`` = the same list (``audience_graphs``). pyoxigraph's dataset options
  replace the query's own ``FROM``/``FROM NAMED``, and a replica has no other graphs, so those clauses
  (and ``GRAPH <g>`` of a graph outside the role's) cannot widen access: they see the role's graphs or
  nothing. The protocol's ``default-graph-uri``/``named-graph-uri`` parameters are refused (400) for the
  same reason.
* Updates: only the query operation exists; an update sent as a query is a parse error (400).
* Time limit: pyoxigraph has no cancellation. The query is parsed and evaluated in a worker thread
  (pyoxigraph releases the GIL while it works) that collects solutions and checks a stop flag between
  them; the request waits at most ``CELLPASS_SPARQL_TIMEOUT_SECONDS`` and then answers 503 with a clear
  error. Limit: a query that spends its time *before* its first solution (a big ORDER BY, GROUP BY or
  join) keeps its thread busy until that step ends; at most ``WORKERS`` such queries run at once, further
  ones are refused with 503 at once rather than queued behind them.
* Result limit: at most ``CELLPASS_SPARQL_MAX_RESULTS`` solutions (or triples); beyond that the result is
  truncated and the response says so (``Cellpass-Results-Truncated: true`` and a ``Warning`` header).
"""

from __future__ import annotations

import csv
import io
import json
import threading
from dataclasses import dataclass
from operator import attrgetter
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox
from django.conf import settings
from django.http.request import MediaType

from ontology.rdf import store as rdf_store

WORKERS = 2
_slots = threading.BoundedSemaphore(WORKERS)

RESULT_FORMATS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_FORMATS = {
    "turtle": ("text/turtle", ox.RdfFormat.TURTLE),
    "ntriples": ("application/n-triples", ox.RdfFormat.N_TRIPLES),
}


class SparqlError(Exception):
    status = 400
    code = "malformed_query"


class QueryTimeout(SparqlError):
    status = 503
    code = "query_timeout"


class Busy(SparqlError):
    status = 503
    code = "sparql_busy"


@dataclass
class Outcome:
    kind: str  # "solutions", "boolean" or "triples"
    variables: list[str]
    rows: list  # QuerySolution or Triple
    boolean: bool | None
    truncated: bool


def _evaluate(query: str, audience: rdf_store.Audience, limit: int, stop: threading.Event) -> Outcome:
    try:
        result = audience.query(query, base_iri=f"{rdf_store.graph('')}")
    except SyntaxError as exc:
        raise SparqlError(f"malformed SPARQL query: {exc}") from exc
    if isinstance(result, ox.QueryBoolean):
        return Outcome("boolean", [], [], bool(result), False)
    kind = "solutions" if isinstance(result, ox.QuerySolutions) else "triples"
    variables = [v.value for v in result.variables] if kind == "solutions" else []
    rows = []
    truncated = False
    for row in result:
        if stop.is_set():
            break
        if len(rows) >= limit:
            truncated = True
            break
        rows.append(row)
    return Outcome(kind, variables, rows, None, truncated)


def run(
    query: str, audience: rdf_store.Audience, *, timeout: float | None = None, limit: int | None = None
) -> Outcome:
    """Evaluate ``query`` over what ``audience`` may see within the time and result limits."""
    timeout = settings.CELLPASS_SPARQL_TIMEOUT_SECONDS if timeout is None else timeout
    limit = settings.CELLPASS_SPARQL_MAX_RESULTS if limit is None else limit
    if not _slots.acquire(blocking=False):
        raise Busy(f"all {WORKERS} SPARQL workers are busy with long queries; try again shortly")
    stop = threading.Event()
    box: dict = {}

    def work() -> None:
        try:
            box["outcome"] = _evaluate(query, audience, limit, stop)
        except BaseException as exc:  # handed to the request thread
            box["error"] = exc
        finally:
            _slots.release()

    # A daemon thread, not a pool: a runaway query must not keep the process from exiting.
    worker = threading.Thread(target=work, name="sparql", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        stop.set()
        raise QueryTimeout(
            f"the query ran longer than {timeout:g} s and was cut off; narrow it (filters, LIMIT) or "
            "ask for fewer results"
        )
    if "error" in box:
        raise box["error"]
    return box["outcome"]


# --- result serialisation -----------------------------------------------------------------------


def _term_json(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        out["datatype"] = term.datatype.value
    return out


def _term_xml(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if term.language:
        return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
    if term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
    return f"<literal>{escape(term.value)}</literal>"


def _term_tsv(term) -> str:
    return str(term).replace("\t", "\\t").replace("\n", "\\n")


def serialise(outcome: Outcome, fmt: str) -> bytes:
    """SPARQL results in ``fmt`` (json, xml, csv, tsv) or, for CONSTRUCT/DESCRIBE, turtle/ntriples."""
    if outcome.kind == "triples":
        return ox.serialize(outcome.rows, format=GRAPH_FORMATS[fmt][1]) or b""
    if fmt == "json":
        if outcome.kind == "boolean":
            return json.dumps({"head": {}, "boolean": outcome.boolean}).encode()
        bindings = [
            {v: _term_json(row[v]) for v in outcome.variables if row[v] is not None} for row in outcome.rows
        ]
        return json.dumps({"head": {"vars": outcome.variables}, "results": {"bindings": bindings}}).encode()
    if fmt == "xml":
        head = "".join(f"<variable name={quoteattr(v)}/>" for v in outcome.variables)
        parts = [
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
            f"<head>{head}</head>",
        ]
        if outcome.kind == "boolean":
            parts.append(f"<boolean>{'true' if outcome.boolean else 'false'}</boolean>")
        else:
            parts.append("<results>")
            for row in outcome.rows:
                cells = "".join(
                    f"<binding name={quoteattr(v)}>{_term_xml(row[v])}</binding>"
                    for v in outcome.variables
                    if row[v] is not None
                )
                parts.append(f"<result>{cells}</result>")
            parts.append("</results>")
        parts.append("</sparql>")
        return "".join(parts).encode()
    if outcome.kind == "boolean":
        raise SparqlError(f"an ASK result has no {fmt.upper()} form; ask for JSON or XML")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(outcome.variables)
        for row in outcome.rows:
            writer.writerow(["" if row[v] is None else row[v].value for v in outcome.variables])
        return buffer.getvalue().encode()
    lines = ["\t".join(f"?{v}" for v in outcome.variables)]
    lines += [
        "\t".join("" if row[v] is None else _term_tsv(row[v]) for v in outcome.variables)
        for row in outcome.rows
    ]
    return ("\n".join(lines) + "\n").encode()


def choose_format(kind: str, requested: str | None, accept: str) -> str:
    """The response format: ``?format=`` wins, then the Accept header, then JSON (Turtle for graphs)."""
    options = GRAPH_FORMATS if kind == "triples" else RESULT_FORMATS
    aliases = {"ttl": "turtle", "nt": "ntriples", "n-triples": "ntriples", "text": "tsv"}
    if requested:
        name = aliases.get(requested.lower(), requested.lower())
        for key, value in options.items():
            media = value[0] if isinstance(value, tuple) else value
            if name in (key, media):
                return key
        raise SparqlError(f"unsupported format {requested!r}; choose one of {', '.join(options)}")
    for media in _accepted(accept):
        for key, value in options.items():
            if media == (value[0] if isinstance(value, tuple) else value):
                return key
        if media in ("application/json",) and kind != "triples":
            return "json"
        if media in ("application/xml", "text/xml") and kind != "triples":
            return "xml"
    return next(iter(options))


def _accepted(accept: str) -> list[str]:
    """Media types of an Accept header, best first: Django's parsing and its quality and specificity
    order (the same rules as ``HttpRequest.accepted_types``)."""
    types = [MediaType(token) for token in accept.split(",") if token.strip()]
    ranked = sorted(
        (media for media in types if media.quality), key=attrgetter("quality", "specificity"), reverse=True
    )
    return [f"{media.main_type}/{media.sub_type}".lower() for media in ranked]
