"""The AAS Part 2 HTTP API (V3.0): AAS Repository and Submodel Repository, read profile SSP-002 plus
writes of a battery's category submodels by its operator, the shell lookup by asset id, the
serialization endpoint and file exports.

Ids in paths and ``aasIds``/``submodelIds``/``assetIds`` query values are base64url-encoded (Part 2,
"Encoding"); errors are Part 2 ``Result`` objects. What a request sees is the caller's reading role's
view of the passport (``passport.services.access.reading_role``), as everywhere else in Cellpass.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import uuid
from typing import Any

from basyx.aas import model
from basyx.aas.adapter.json import StrictAASFromJsonDecoder
from basyx.aas.model.base import AASConstraintViolation
from django.http import HttpResponse
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from ontology.aas import build, export, repository
from passport.exceptions import CellpassError
from passport.services import access, content

PREFIX = "aas/api/v3.0/"
PROFILES = [
    "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRepositoryServiceSpecification/SSP-002",
    "https://admin-shell.io/aas/API/3/0/SubmodelRepositoryServiceSpecification/SSP-002",
    "https://admin-shell.io/aas/API/3/0/DiscoveryServiceSpecification/SSP-002",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_CONTAINERS = (model.SubmodelElementCollection, model.SubmodelElementList, model.Entity)


class ApiError(Exception):
    def __init__(self, status: int, text: str, code: str | None = None):
        super().__init__(text)
        self.status = status
        self.text = text
        self.code = code or str(status)


def _json(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(data), status=status, content_type="application/json")


def result(status: int, text: str, code: str | None = None) -> HttpResponse:
    """A Part 2 ``Result`` with one message."""
    message = {
        "code": (code or str(status))[:31],
        "messageType": "Error" if status < 500 else "Exception",
        "text": text,
        "timestamp": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    return _json({"messages": [message]}, status)


def decode_id(value: str, what: str = "identifier") -> str:
    """A base64url-encoded id (padding optional) as text; 400 when it is not base64url UTF-8."""
    if not _BASE64URL.match(value or ""):
        raise ApiError(400, f"{what} {value!r} is not base64url-encoded")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value.rstrip("=")) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"{what} {value!r} is not base64url-encoded UTF-8") from exc


def encode_id(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in allowed:
        raise ApiError(400, f"query parameter {name} is {value!r}; one of {', '.join(allowed)}")
    return value


def _bool(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise ApiError(400, f"query parameter {name} is {value!r}; true or false")
    return value.lower() == "true"


def _paging(request: Request) -> tuple[int, str | None]:
    raw = request.query_params.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError as exc:
            raise ApiError(400, f"limit {raw!r} is not an integer") from exc
        if limit < 1:
            raise ApiError(400, f"limit {raw!r} must be at least 1")
    return min(limit, MAX_LIMIT), request.query_params.get("cursor") or None


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise ApiError(400, f"cursor {cursor!r} is not one this server issued")
    return int(cursor)


def _paged(items: list, limit: int, cursor: str | None) -> dict:
    start = _offset(cursor)
    page = items[start : start + limit]
    metadata = {"cursor": str(start + limit)} if start + limit < len(items) else {}
    return {"paging_metadata": metadata, "result": page}


def _asset_ids(request: Request) -> list[dict]:
    """``assetIds``: base64url-encoded SpecificAssetId objects (``{"name", "value"}``), repeatable."""
    found = []
    for raw in request.query_params.getlist("assetIds"):
        text = decode_id(raw, "assetIds value")
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"assetIds value {raw!r} does not decode to JSON") from exc
        for item in decoded if isinstance(decoded, list) else [decoded]:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or "value" not in item:
                raise ApiError(400, "an assetIds value must be a SpecificAssetId with name and value")
            found.append(item)
    return found


# --- serialisation helpers ---------------------------------------------------------------------

_STRIP_NESTED = {"SubmodelElementCollection": "value", "SubmodelElementList": "value", "Entity": "statements"}


def _core(children: list[dict]) -> list[dict]:
    """level=core: the direct children only, without their own children."""
    return [{k: v for k, v in c.items() if k != _STRIP_NESTED.get(c.get("modelType"))} for c in children]


def _serialise_submodel(submodel: model.Submodel, level: str | None, metadata: bool = False) -> dict:
    data = export.to_json_dict(submodel)
    if metadata:
        data.pop("submodelElements", None)
    elif level == "core" and "submodelElements" in data:
        data["submodelElements"] = _core(data["submodelElements"])
    return data


def _serialise_element(item: model.SubmodelElement, level: str | None, metadata: bool = False) -> dict:
    data = export.to_json_dict(item)
    nested = _STRIP_NESTED.get(data.get("modelType"))
    if metadata:
        data.pop(nested or "value", None)
        data.pop("valueId", None)
    elif level == "core" and nested and nested in data:
        data[nested] = _core(data[nested])
    return data


def _value_only(item: model.SubmodelElement, level: str | None) -> Any:
    value = build.value_of(item, str(item.id_short))
    if level == "core" and isinstance(value, dict):
        return {k: (v if not isinstance(v, (dict, list)) else type(v)()) for k, v in value.items()}
    return value


def _reference(item: model.Referable) -> dict:
    return export.to_json_dict(model.ModelReference.from_referable(item))


def _paths(elements, prefix: str, deep: bool) -> list[str]:
    """idShortPaths of ``elements`` (and of their descendants when ``deep``)."""
    paths = []
    for index, item in enumerate(elements):
        own = (
            f"{prefix}[{index}]"
            if item.id_short is None
            else (f"{prefix}.{item.id_short}" if prefix else str(item.id_short))
        )
        paths.append(own)
        if deep and isinstance(item, (model.SubmodelElementCollection, model.SubmodelElementList)):
            paths.extend(_paths(item.value, own, deep))
    return paths


def find_element(submodel: model.Submodel, path: str) -> tuple[model.SubmodelElement, list[str | int]]:
    """The element at idShortPath ``path`` and the JSON path (member names and indexes) to its value."""
    tokens = _PATH_TOKEN.findall(path)
    if not tokens:
        raise ApiError(400, f"idShortPath {path!r} is malformed")
    current: Any = submodel
    json_path: list[str | int] = []
    for name, index in tokens:
        children = (
            current.submodel_element
            if isinstance(current, model.Submodel)
            else getattr(current, "value", None)
        )
        if name:
            if not isinstance(current, (model.Submodel, model.SubmodelElementCollection)):
                raise repository.NotFoundError(f"no submodel element at {path!r}")
            match = next((c for c in children if c.id_short == name), None)
            if match is None:
                raise repository.NotFoundError(f"no submodel element at {path!r}")
            json_path.append(build.json_name(match))
        else:
            if not isinstance(current, model.SubmodelElementList) or int(index) >= len(current.value):
                raise repository.NotFoundError(f"no submodel element at {path!r}")
            match = list(current.value)[int(index)]
            json_path.append(int(index))
        current = match
    return current, json_path


def _decode_body(request: Request, kind: type) -> Any:
    """The request body as a basyx object of ``kind``; a metamodel constraint it breaks is reported with
    its number (basyx raises AASConstraintViolation, "Constraint AASd-nnn")."""
    try:
        text = request.body.decode("utf-8")
        obj = json.loads(text, cls=StrictAASFromJsonDecoder)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from exc
    except AASConstraintViolation as exc:
        raise ApiError(400, f"{exc}: nothing was written", "AASConstraintViolation") from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        violation = exc
        while violation is not None and not isinstance(violation, AASConstraintViolation):
            violation = violation.__cause__ or violation.__context__
        if violation is not None:
            raise ApiError(
                400,
                f"{violation} (in: {str(exc).split(' >>> ')[0]}); nothing was written",
                "AASConstraintViolation",
            ) from exc
        raise ApiError(400, f"the body is not a valid {kind.__name__}: {exc}; nothing was written") from exc
    if not isinstance(obj, kind):
        raise ApiError(
            400, f"the body is a {type(obj).__name__}, expected a {kind.__name__}; nothing was written"
        )
    return obj


# --- views -------------------------------------------------------------------------------------


class AasView(APIView):
    """Base: the project's token authentication, anonymous = public, errors as Part 2 Results."""

    permission_classes = [AllowAny]

    def handle_exception(self, exc):
        if isinstance(exc, ApiError):
            return result(exc.status, exc.text, exc.code)
        if isinstance(exc, repository.NotFoundError):
            return result(404, str(exc))
        if isinstance(exc, CellpassError):
            details = "; ".join(f"{e.path}: {e.message}" for e in exc.errors)
            return result(exc.status_code, f"{exc.message}{': ' + details if details else ''}", exc.code)
        response = super().handle_exception(exc)
        text = (
            response.data.get("message") or response.data.get("detail")
            if isinstance(response.data, dict)
            else ""
        )
        return result(response.status_code, str(text or response.reason_phrase))


class DescriptionView(AasView):
    def get(self, request: Request) -> HttpResponse:
        return _json({"profiles": PROFILES})


class ShellsView(AasView):
    """GET /shells and /shells/$reference: all shells, filtered by idShort and assetIds."""

    reference = False

    def get(self, request: Request) -> HttpResponse:
        limit, cursor = _paging(request)
        pks = repository.battery_ids(request.query_params.get("idShort"), _asset_ids(request))
        start = _offset(cursor)
        page = list(repository.views(request.user, pks[start : start + limit]))
        shells = [build.build_shell(v) for v in page]
        items = [_reference(s) if self.reference else export.to_json_dict(s) for s in shells]
        metadata = {"cursor": str(start + limit)} if start + limit < len(pks) else {}
        return _json({"paging_metadata": metadata, "result": items})


class LookupShellsView(AasView):
    """GET /lookup/shells?assetIds=…: the ids of the shells of the given assets (Discovery)."""

    def get(self, request: Request) -> HttpResponse:
        limit, cursor = _paging(request)
        asset_ids = _asset_ids(request)
        pks = repository.battery_ids(asset_ids=asset_ids) if asset_ids else []
        return _json(_paged([build.shell_id(pk) for pk in pks], limit, cursor))


class ShellView(AasView):
    """GET /shells/{aasIdentifier}[/$reference | /asset-information[/thumbnail] | /submodel-refs]."""

    def get(self, request: Request, aas_id: str, tail: str = "") -> HttpResponse:
        view = repository.resolve_shell(request.user, decode_id(aas_id, "aasIdentifier"))
        shell = build.build_shell(view)
        if tail == "":
            return _json(export.to_json_dict(shell))
        if tail == "$reference":
            return _json(_reference(shell))
        if tail == "asset-information":
            return _json(export.to_json_dict(shell.asset_information))
        if tail == "asset-information/thumbnail":
            return result(404, "the shell has no thumbnail")
        if tail == "submodel-refs":
            limit, cursor = _paging(request)
            names = build.submodel_names(view)
            refs = [export.to_json_dict(build.submodel_reference(view.battery.pk, n)) for n in names]
            return _json(_paged(refs, limit, cursor))
        return result(404, f"no operation at /shells/{{id}}/{tail}")


class SubmodelsView(AasView):
    """GET /submodels[/$metadata | /$value | /$reference | /$path]: every submodel the reader may see."""

    def get(self, request: Request, modifier: str = "") -> HttpResponse:
        limit, cursor = _paging(request)
        level = _choice(request, "level", ("core", "deep"))
        _choice(request, "extent", ("withBlobValue", "withoutBlobValue"))
        if request.query_params.get("semanticId"):
            decode_id(request.query_params["semanticId"], "semanticId")
        start = (0, 0)
        if cursor is not None:
            match = re.fullmatch(r"(\d+)\.(\d+)", cursor)
            if not match:
                raise ApiError(400, f"cursor {cursor!r} is not one this server issued")
            start = (int(match.group(1)), int(match.group(2)))
        submodels, following = repository.submodels_page(request.user, start, limit)
        semantic = request.query_params.get("semanticId")
        id_short = request.query_params.get("idShort")
        if semantic:
            wanted = decode_id(semantic, "semanticId")
            submodels = [s for s in submodels if s.semantic_id and s.semantic_id.key[0].value == wanted]
        if id_short:
            submodels = [s for s in submodels if s.id_short == id_short]
        if modifier == "$reference":
            items: list = [_reference(s) for s in submodels]
        elif modifier == "$value":
            items = [{s.id_short: build.payload_of(s)} for s in submodels]
        elif modifier == "$path":
            # One entry per submodel (the tool pages this list like the others): its root idShort,
            # the path every idShortPath of the submodel is relative to.
            items = [str(s.id_short) for s in submodels]
        else:
            items = [_serialise_submodel(s, level, metadata=modifier == "$metadata") for s in submodels]
        metadata = {"cursor": f"{following[0]}.{following[1]}"} if following else {}
        return _json({"paging_metadata": metadata, "result": items})


class SubmodelView(AasView):
    """Everything under /submodels/{submodelIdentifier} (also reached through a shell):
    the submodel, its elements by idShortPath, with the $metadata/$value/$reference/$path modifiers;
    PUT of the submodel or of one element by the battery's operator."""

    def _target(
        self, request: Request, aas_id: str | None, sm_id: str
    ) -> tuple[build.BatteryView, model.Submodel]:
        identifier = decode_id(sm_id, "submodelIdentifier")
        if aas_id is not None:
            shell_view = repository.resolve_shell(request.user, decode_id(aas_id, "aasIdentifier"))
            parsed = build.parse_id(identifier)
            if parsed is None or parsed[0] != shell_view.battery.pk:
                raise repository.NotFoundError(f"the shell references no submodel {identifier!r}")
        return repository.resolve_submodel(request.user, identifier)

    def get(self, request: Request, sm_id: str, tail: str = "", aas_id: str | None = None) -> HttpResponse:
        level = _choice(request, "level", ("core", "deep"))
        _choice(request, "extent", ("withBlobValue", "withoutBlobValue"))
        _, submodel = self._target(request, aas_id, sm_id)
        tail = tail or ""
        if tail in ("", "$metadata"):
            return _json(_serialise_submodel(submodel, level, metadata=tail == "$metadata"))
        if tail == "$value":
            return _json(build.payload_of(submodel) if level != "core" else _value_only_core(submodel))
        if tail == "$reference":
            return _json(_reference(submodel))
        if tail == "$path":
            return _json(_paths(submodel.submodel_element, "", level != "core"))
        elements = list(submodel.submodel_element)
        if tail.startswith("submodel-elements"):
            rest = tail[len("submodel-elements") :].lstrip("/")
            if rest in ("", "$metadata", "$value", "$reference", "$path"):
                return self._all_elements(request, elements, rest, level)
            path, _, modifier = rest.partition("/")
            item, _ = find_element(submodel, path)
            return self._element(item, modifier, level, path)
        return result(404, f"no operation at /submodels/{{id}}/{tail}")

    def _all_elements(
        self, request: Request, elements: list, modifier: str, level: str | None
    ) -> HttpResponse:
        limit, cursor = _paging(request)
        if modifier == "$path":
            # Paged over the paths themselves, so limit=1 gives one path even below a collection.
            return _json(_paged(_paths(elements, "", level != "core"), limit, cursor))
        paged = _paged(elements, limit, cursor)
        page = paged["result"]
        if modifier == "$reference":
            paged["result"] = [_reference(e) for e in page]
        elif modifier == "$value":
            paged["result"] = [{str(e.id_short): _value_only(e, level)} for e in page]
        else:
            paged["result"] = [_serialise_element(e, level, metadata=modifier == "$metadata") for e in page]
        return _json(paged)

    def _element(
        self, item: model.SubmodelElement, modifier: str, level: str | None, path: str
    ) -> HttpResponse:
        if modifier == "":
            return _json(_serialise_element(item, level))
        if modifier == "$metadata":
            return _json(_serialise_element(item, level, metadata=True))
        if modifier == "$value":
            value = _value_only(item, level)
            return _json({str(item.id_short): value} if item.id_short else value)
        if modifier == "$reference":
            return _json(_reference(item))
        if modifier == "$path":
            if not isinstance(item, _CONTAINERS):
                raise ApiError(
                    400,
                    f"$path is defined for collections, lists and entities, not for a {type(item).__name__}",
                )
            return _json([path, *_paths(item.value, path, level != "core")])
        if modifier == "attachment":
            raise ApiError(
                400 if not isinstance(item, (model.File, model.Blob)) else 404,
                "no attachment at this element",
            )
        return result(404, f"no operation {modifier!r} on a submodel element")

    # --- writes ---

    def put(self, request: Request, sm_id: str, tail: str = "", aas_id: str | None = None) -> HttpResponse:
        identifier = decode_id(sm_id, "submodelIdentifier")
        parsed = build.parse_id(identifier)
        if parsed is None or parsed[1] is None:
            raise repository.NotFoundError(f"no Submodel with id {identifier!r}")
        battery = repository.battery(parsed[0])
        if aas_id is not None and build.parse_id(decode_id(aas_id, "aasIdentifier")) != (battery.pk, None):
            raise repository.NotFoundError(f"the shell references no submodel {identifier!r}")
        access.require_write(request.user, battery)
        category = parsed[1]
        if category not in build.TEMPLATE_ROOTS:
            raise ApiError(
                403,
                f"submodel {category} is derived from lifecycle records and twin runs; it cannot be written",
            )
        view = repository.view(request.user, battery)
        if view.passport is None:
            raise repository.NotFoundError(f"battery {battery.identifier} has no passport")
        tail = tail or ""
        if tail == "":
            submodel = _decode_body(request, model.Submodel)
            if submodel.id != identifier:
                raise ApiError(400, f"the body's id {submodel.id!r} differs from the path's {identifier!r}")
            payload = build.payload_of(submodel)
        elif tail.startswith("submodel-elements/") and "/" not in tail[len("submodel-elements/") :]:
            path = tail[len("submodel-elements/") :]
            replacement = _decode_body(request, model.SubmodelElement)
            # The operator's own view is the whole passport, so the rest of the category is kept as is.
            current = build.build_submodel(view, category) if category in view.categories else None
            if current is None:
                raise repository.NotFoundError(f"no submodel element at {path!r}")
            item, json_path = find_element(current, path)
            if replacement.id_short != item.id_short:
                raise ApiError(
                    400,
                    f"the body's idShort {replacement.id_short!r} differs from the path's {item.id_short!r}",
                )
            payload = build.payload_of(current)
            target: Any = payload
            for key in json_path[:-1]:
                target = target[key]
            target[json_path[-1]] = build.value_of(replacement, path)
        else:
            return result(405, f"PUT is not supported at /submodels/{{id}}/{tail}")
        try:
            content.write_section(view.passport, category, payload, user=request.user)
        except build.MappingError as exc:
            raise ApiError(400, f"{exc}; nothing was written") from exc
        return HttpResponse(status=204)


def _value_only_core(submodel: model.Submodel) -> dict:
    return {str(e.id_short): _value_only(e, "core") for e in submodel.submodel_element}


class SerializationView(AasView):
    """GET /serialization?aasIds=…&submodelIds=…: an Environment (JSON, XML or AASX by Accept)."""

    def get(self, request: Request) -> HttpResponse:
        aas_ids = [decode_id(v, "aasIds value") for v in request.query_params.getlist("aasIds")]
        submodel_ids = [
            decode_id(v, "submodelIds value") for v in request.query_params.getlist("submodelIds")
        ]
        _bool(request, "includeConceptDescriptions")
        store: model.DictIdentifiableStore = model.DictIdentifiableStore()
        for identifier in aas_ids:
            view = repository.resolve_shell(request.user, identifier)
            shell = build.build_shell(view)
            store.add(shell)
            for name in build.submodel_names(view):
                if not submodel_ids or build.submodel_id(view.battery.pk, name) in submodel_ids:
                    store.add(build.build_submodel(view, name))
        for identifier in submodel_ids:
            if identifier not in store:
                store.add(repository.resolve_submodel(request.user, identifier)[1])
        accept = request.headers.get("Accept", "")
        fmt = (
            "aasx" if "asset-administration-shell-package" in accept else "xml" if "xml" in accept else "json"
        )
        shell_ids = [o.id for o in store if isinstance(o, model.AssetAdministrationShell)]
        if fmt == "aasx" and not shell_ids:
            raise ApiError(400, "an AASX package needs at least one shell (aasIds)")
        return HttpResponse(export.write(store, fmt, shell_ids), content_type=export.FORMATS[fmt])


class ExportView(AasView):
    """GET /aas/export/{battery uuid}?format=json|xml|aasx: one battery's shell as a file download."""

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # DRF reads ?format= as a renderer override and 404s on "aasx"; here it names the file format.
        return JSONRenderer(), "application/json"

    def get(self, request: Request, battery_id: uuid.UUID) -> HttpResponse:
        fmt = request.query_params.get("format", "aasx")
        if fmt not in export.FORMATS:
            raise ApiError(400, f"format {fmt!r}; one of {', '.join(export.FORMATS)}")
        found = repository.battery(battery_id)
        data = export.export([repository.view(request.user, found)], fmt)
        response = HttpResponse(data, content_type=export.FORMATS[fmt])
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", found.identifier)
        response["Content-Disposition"] = f'attachment; filename="{safe}.{fmt}"'
        return response
