"""The Kobo API v2 endpoints: requests in, responses out (no sockets here; see server.py).

Bodies, status codes and messages follow kpi as described in shared/kobo/API.md and its fixtures;
where kpi's exact wording was not known the docstring of the endpoint says so.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from kobo_simulator import imports
from kobo_simulator import query as Q
from kobo_simulator.store import (
    FAST_FIELDS,
    VALIDATION_LABELS,
    Asset,
    NotFound,
    Record,
    Store,
    attachment_json,
    fast_field,
    render,
)
from kobo_simulator.wire import (
    BadRequest,
    Request,
    Response,
    body_data,
    dumps,
    json_response,
    not_found,
    to_bool,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


# --- helpers ----------------------------------------------------------------------------------


def positive_int(value: str, *, strict: bool = False, cutoff: int | None = None) -> int:
    """DRF's _positive_int: int(), no negatives, no zero when strict, capped at cutoff."""
    number = int(value)
    if number < 0 or (number == 0 and strict):
        raise ValueError(value)
    return min(number, cutoff) if cutoff else number


def replace_query_param(url: str, key: str, value: Any) -> str:
    """DRF's helper: the query string is re-encoded with its keys sorted."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params[key] = [str(value)]
    return urlunsplit(
        (scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment)
    )


def remove_query_param(url: str, key: str) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params.pop(key, None)
    return urlunsplit(
        (scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment)
    )


def page_links(url: str, count: int, start: int, limit: int) -> tuple[str | None, str | None]:
    """`next` and `previous` of DRF's LimitOffsetPagination (offset parameter named `start`)."""
    nxt = None
    if start + limit < count:
        nxt = replace_query_param(replace_query_param(url, "limit", limit), "start", start + limit)
    prev = None
    if start > 0:
        with_limit = replace_query_param(url, "limit", limit)
        prev = (
            remove_query_param(with_limit, "start")
            if start - limit <= 0
            else replace_query_param(with_limit, "start", start - limit)
        )
    return nxt, prev


# --- assets -----------------------------------------------------------------------------------


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def summary(asset: Asset) -> dict[str, Any]:
    rows = asset.spec.content.get("survey", [])
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if not k.startswith("$") and k not in columns]
    langs = [t for t in asset.spec.content.get("translations", []) if t]
    labels = [r["label"][0] for r in rows if r.get("label") and r["label"][0]][:5]
    return {
        "geo": bool(asset.spec.geopoints),
        "labels": labels,
        "columns": columns,
        "languages": langs,
        "row_count": len(rows),
        "default_translation": langs[0] if langs else None,
        "lock_all": False,
        "lock_any": False,
    }


def asset_json(store: Store, base: str, asset: Asset, *, detail: bool) -> dict[str, Any]:
    """AssetSerializer (detail) or AssetListSerializer (list) fields, as in the fixture."""
    url = f"{base}/api/v2/assets/{asset.uid}/"
    last = store.last_submission_time(asset)
    out: dict[str, Any] = {
        "url": url,
        "owner": f"{base}/api/v2/users/{asset.owner}/",
        "owner__username": asset.owner,
        "parent": None,
        "settings": {"description": asset.name},
        "asset_type": asset.asset_type,
        "summary": summary(asset),
        "date_created": _iso(asset.created_at),
        "date_modified": _iso(asset.modified_at),
        "date_deployed": _iso(asset.deployed_at),
        "version_id": asset.version_id,
        "version__content_hash": asset.content_hash,
        "version_count": asset.version_count,
        "has_deployment": asset.has_deployment,
        "deployed_version_id": asset.deployed_version_id,
    }
    if detail:
        out["deployed_versions"] = {
            "count": len(asset.deployed_versions),
            "next": None,
            "previous": None,
            "results": [
                {
                    "uid": uid,
                    "url": f"{url}versions/{uid}/",
                    "content_hash": asset.content_hash,
                    "date_deployed": _iso(when),
                    "date_modified": _iso(when),
                    "version_number": str(len(asset.deployed_versions) - i),
                }
                for i, (uid, when) in enumerate(asset.deployed_versions)
            ],
        }
        out["deployment__links"] = (
            {"url": f"{base}/x/{asset.uid[-8:]}", "offline_url": f"{base}/x/{asset.uid[-8:]}"}
            if asset.has_deployment
            else {}
        )
    out["deployment__active"] = asset.active
    if detail:
        out["deployment__data_download_links"] = {}
    out["deployment__submission_count"] = len(asset.ids)
    if detail:
        out["deployment__last_submission_time"] = f"{last}.000000Z" if last else None
        out["deployment__encrypted"] = False
        out["deployment__uuid"] = asset.formhub_uuid if asset.has_deployment else None
    out["deployment_status"] = asset.deployment_status
    if detail:
        out["content"] = asset.spec.content
    out["uid"] = asset.uid
    out["kind"] = "asset"
    out["name"] = asset.name
    out["data"] = f"{url}data/"
    if detail:
        out["xform_link"] = f"{url}xform/"
        out["xls_link"] = f"{url}xls/"
        out["hooks_link"] = f"{url}hooks/"
    return out


def _q_matches(asset: Asset, q: str) -> bool:
    """A small subset of kpi's `q` search: field:value terms with AND/OR, bare terms."""
    text = q.replace("(", " ").replace(")", " ")
    fields = {
        "asset_type": asset.asset_type,
        "uid": asset.uid,
        "name": asset.name,
        "owner__username": asset.owner,
        "owner": asset.owner,
        "_deployment_status": asset.deployment_status,
    }
    for group in re.split(r"\s+OR\s+", text.strip()):
        ok = True
        for term in re.split(r"\s+AND\s+|\s+", group.strip()):
            if not term:
                continue
            if ":" in term:
                key, value = term.split(":", 1)
                ok = ok and key in fields and fields[key].lower() == value.strip('"').lower()
            else:
                hay = f"{asset.name} {asset.uid} {asset.owner}".lower()
                ok = ok and len(term) >= 3 and term.lower() in hay
        if ok:
            return True
    return False


def assets_list(store: Store, req: Request) -> Response:
    limit, start = _limit_start(req, default=DEFAULT_LIMIT)
    with store.lock:
        assets = list(store.assets.values())
    if "q" in req.query:
        assets = [a for a in assets if _q_matches(a, req.query["q"])]
    page = assets[start : start + limit]
    nxt, prev = page_links(req.url, len(assets), start, limit)
    return json_response(
        200,
        {
            "count": len(assets),
            "next": nxt,
            "previous": prev,
            "results": [asset_json(store, req.base, a, detail=False) for a in page],
        },
    )


def _limit_start(req: Request, *, default: int) -> tuple[int, int]:
    try:
        limit = positive_int(req.query["limit"], strict=True, cutoff=MAX_LIMIT)
    except KeyError:
        limit = default
    except ValueError:
        limit = default
    try:
        start = positive_int(req.query.get("start", "0"))
    except ValueError:
        start = 0
    return limit, start


def asset_detail(store: Store, req: Request, asset: Asset) -> Response:
    return json_response(200, asset_json(store, req.base, asset, detail=True))


# --- deployment -------------------------------------------------------------------------------


def _deployment_body(store: Store, req: Request, asset: Asset) -> dict[str, Any]:
    return {
        "backend": "openrosa",
        "active": asset.active,
        "version_id": asset.deployed_version_id,
        "asset": asset_json(store, req.base, asset, detail=True),
    }


def _version_mismatch() -> Response:
    # kpi raises NotImplementedError here, which nothing maps to a 4xx (API.md §7).
    return Response(500, b"<h1>Server Error (500)</h1>", "text/html; charset=utf-8")


def _unconvertible(asset: Asset) -> Response | None:
    """kpi's DeploymentSerializer: the form goes through pyxform now, and pyxform's error comes
    back as 400 {"error": ...}. Our own forms (no uploaded workbook) are known to convert."""
    if asset.xlsx is None:
        return None
    try:
        convert(asset.xlsx)
    except PyXFormError as exc:
        return json_response(400, {"error": str(exc)})
    return None


def deployment(store: Store, req: Request, asset: Asset) -> Response:
    if req.method == "GET":
        if not asset.has_deployment:
            return not_found()
        return json_response(200, _deployment_body(store, req, asset))
    data = body_data(req)
    if asset.asset_type != "survey":
        return json_response(
            400,
            {"detail": f"Only surveys may be deployed, but this asset is a {asset.asset_type}"},
        )
    if req.method == "POST":
        if asset.has_deployment:
            return json_response(405, {"detail": "Use PATCH to update an existing deployment"})
        if "version_id" in data and str(data["version_id"]) != asset.version_id:
            return _version_mismatch()
        if (refused := _unconvertible(asset)) is not None:
            return refused
        store.deploy(asset, active=to_bool(data.get("active", False)))
        return json_response(200, _deployment_body(store, req, asset))
    # PATCH
    if not asset.has_deployment:
        return json_response(405, {"detail": "Use POST to create a new deployment"})
    if set(data) == {"active"}:
        with store.lock:
            asset.active = to_bool(data["active"])  # archive / unarchive only
        return json_response(200, _deployment_body(store, req, asset))
    if "version_id" in data and str(data["version_id"]) != asset.version_id:
        return _version_mismatch()
    if (refused := _unconvertible(asset)) is not None:
        return refused
    store.deploy(asset, active=to_bool(data.get("active", asset.active)))
    return json_response(200, _deployment_body(store, req, asset))


# --- data list --------------------------------------------------------------------------------


def _json_param(req: Request, name: str, default: Any) -> Any:
    if name not in req.query:
        return default
    try:
        return json.loads(req.query[name])
    except ValueError:
        raise BadRequest({name: "Value must be valid JSON."}) from None


def data_list(store: Store, req: Request, asset: Asset) -> Response:
    """GET .../data/: limit/start/query/sort/fields as kpi validates them, in kpi's order."""
    if "limit" in req.query:
        try:
            limit = positive_int(req.query["limit"], strict=True, cutoff=MAX_LIMIT)
        except ValueError:
            raise BadRequest({"limit": "A positive integer is required"}) from None
    else:
        limit = DEFAULT_LIMIT
    if "count" in req.query:
        raise BadRequest(
            {
                "count": "This param is not implemented. Use `count` property "
                "of the response instead."
            }
        )
    mongo_query = _json_param(req, "query", {})
    sort = _json_param(req, "sort", {})
    try:
        start = positive_int(req.query.get("start", "0"))
    except ValueError:
        raise BadRequest({"start": "A positive integer is required."}) from None
    fields = _json_param(req, "fields", [])
    try:
        count, rows = select(store, req.base, asset, mongo_query, sort, fields, start, limit)
    except Q.QueryError as exc:
        raise BadRequest([str(exc)]) from None
    nxt, prev = page_links(req.url, count, start, limit)
    head = b'{"count":%d,"next":%s,"previous":%s,"results":[' % (
        count,
        dumps(nxt).encode(),
        dumps(prev).encode(),
    )
    return Response(200, head + b",".join(rows) + b"]}")


def select(
    store: Store,
    base: str,
    asset: Asset,
    mongo_query: Any,
    sort: Any,
    fields: Any,
    start: int,
    limit: int,
) -> tuple[int, list[bytes]]:
    """Filter, count, sort, page and serialise: (count, JSON rows)."""
    if not isinstance(mongo_query, dict):
        raise Q.QueryError("Unsupported query")
    predicate = Q.compile_query(mongo_query)
    order = Q.parse_sort(sort) if sort else []
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise Q.QueryError("Unsupported query")
    lo, hi, only_id = Q.id_bounds(mongo_query)
    by_id = order in ([], [("_id", 1)], [("_id", -1)])
    with store.lock:
        ids = asset.ids
        i = 0 if lo is None else bisect.bisect_left(ids, lo)
        j = len(ids) if hi is None else bisect.bisect_right(ids, hi)
        j = max(i, j)
        if only_id and by_id:
            # The fast path of every harvest: an `_id` range in `_id` order, nothing decoded.
            count = j - i
            if order == [("_id", -1)]:
                chosen = ids[max(i, j - start - limit) : max(i, j - start)][::-1]
            else:
                chosen = ids[i + start : min(j, i + start + limit)]
            records = [asset.records[k] for k in chosen]
        else:
            records = [asset.records[k] for k in ids[i:j]]
    if not (only_id and by_id):
        records = [r for r in records if predicate(_getter(asset, r, base))]
        count = len(records)
        if order:
            Q.sort_docs(records, order, lambda r, k: _getter(asset, r, base)(k))
        records = records[start : start + limit]
    if fields:
        return count, [_project(base, asset, r, fields) for r in records]
    return count, [render(base, asset, r) for r in records]


def _getter(asset: Asset, record: Record, base: str = "") -> Q.Getter:
    """Field access for the query engine; answers are decoded only when a filter needs them."""
    decoded: dict[str, Any] | None = None

    def get(key: str) -> Any:
        nonlocal decoded
        if key in FAST_FIELDS:
            return fast_field(asset, record, key)
        if key == "_attachments":
            return attachment_json(base, asset, record)
        if decoded is None:
            decoded = record.answers()
        return decoded.get(key, Q.MISSING)

    return get


def _project(base: str, asset: Asset, record: Record, fields: list[str]) -> bytes:
    """A `fields` projection: the named keys (plus `_uuid` and `meta/rootUuid`), document order."""
    wanted = set(fields) | {"_uuid", "meta/rootUuid"}
    wanted.discard("_userform_id")
    if wanted <= FAST_FIELDS:
        doc: dict[str, Any] = {}
        for key in ("_uuid", "meta/rootUuid", "_id", *fields):
            if key in wanted and key not in doc:
                value = fast_field(asset, record, key)
                if value is not Q.MISSING:
                    doc[key] = value
        return dumps(doc).encode()
    full = json.loads(render(base, asset, record))
    out = {k: v for k, v in full.items() if k in wanted}
    for key in wanted:  # `_validation_status.uid`: a sub-document projection
        if "." in key and key.split(".", 1)[0] in full:
            top, sub = key.split(".", 1)
            if isinstance(full[top], dict) and sub in full[top]:
                out.setdefault(top, {})[sub] = full[top][sub]
    return dumps(out).encode()


# --- one submission ---------------------------------------------------------------------------


def _record(store: Store, asset: Asset, ident: str) -> Record:
    """By `_id` or rootUuid (the current `_uuid` works too, as on attachments)."""
    try:
        return store.find(asset, ident)
    except NotFound:
        raise BadRequest({"detail": "Not found."}, 404) from None


def data_detail(store: Store, req: Request, asset: Asset, ident: str) -> Response:
    record = _record(store, asset, ident)
    if req.method == "DELETE":
        store.delete(asset, record.id)
        return Response(204)
    return Response(200, render(req.base, asset, record))


def validation_status(store: Store, req: Request, asset: Asset, ident: str) -> Response:
    record = _record(store, asset, ident)
    if req.method == "GET":
        return json_response(200, record.validation)
    if req.method == "DELETE":
        store.set_validation(asset, record.id, None, req.username)
        return Response(204)
    uid = body_data(req).get("validation_status.uid")
    if uid not in VALIDATION_LABELS:
        return json_response(400, {"detail": f"Invalid validation status: `{uid}`"})
    return json_response(200, store.set_validation(asset, record.id, uid, req.username))


def _bulk_payload(req: Request, *, need_status: bool) -> dict[str, Any]:
    """kpi's DataBulkActionsValidator; its errors come back under `payload` as a list."""
    data = body_data(req)
    if "payload" not in data:
        raise BadRequest({"payload": ["This field is required."]})
    payload = data["payload"]
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            raise BadRequest({"payload": ["Value must be valid JSON."]}) from None
    if not isinstance(payload, dict):
        raise BadRequest({"payload": ["Value must be valid JSON."]})
    if "submission_ids" in payload:
        ids = payload["submission_ids"]
        try:
            if not isinstance(ids, list):
                raise ValueError
            payload["submission_ids"] = list(dict.fromkeys(int(i) for i in ids))
        except (TypeError, ValueError):
            raise BadRequest(
                {"payload": ["`submission_ids` must only contain integer values"]}
            ) from None
        if not payload["submission_ids"]:
            raise BadRequest({"payload": ["`submission_ids` must contain at least one value"]})
        if "query" in payload:
            # Rejected by kpi (database_query.py); the exact wording there is not known.
            raise BadRequest({"detail": "`query` and `submission_ids` cannot be used together"})
    elif "query" not in payload and not to_bool(payload.get("confirm", False)):
        raise BadRequest({"payload": ["Confirmation is required"]})
    if need_status and "validation_status.uid" not in payload:
        raise BadRequest({"payload": ["`validation_status.uid` is required"]})
    return payload


def _bulk_targets(store: Store, asset: Asset, payload: dict[str, Any]) -> list[int]:
    if "submission_ids" in payload:
        ids = payload["submission_ids"]
        with store.lock:
            if any(i not in asset.records for i in ids):
                raise BadRequest({"detail": "One or more submission ids are invalid"})
        return list(ids)
    if "query" in payload:
        try:
            predicate = Q.compile_query(payload["query"])
        except Q.QueryError as exc:
            raise BadRequest([str(exc)]) from None
        with store.lock:
            records = [asset.records[i] for i in asset.ids]
        return [r.id for r in records if predicate(_getter(asset, r))]
    with store.lock:
        return list(asset.ids)


def validation_statuses(store: Store, req: Request, asset: Asset) -> Response:
    """Bulk PATCH/DELETE. As in kpi, an unknown uid is not refused: it writes `{}` everywhere."""
    payload = _bulk_payload(req, need_status=True)
    targets = _bulk_targets(store, asset, payload)
    uid = payload.get("validation_status.uid")
    with store.lock:
        for record_id in targets:
            store.set_validation(asset, record_id, uid, req.username)
    return json_response(200, {"detail": f"{len(targets)} submissions have been updated"})


def bulk_delete(store: Store, req: Request, asset: Asset) -> Response:
    payload = _bulk_payload(req, need_status=False)
    targets = _bulk_targets(store, asset, payload)
    deleted = sum(store.delete(asset, i) for i in targets)
    return json_response(200, {"detail": f"{deleted} submissions have been deleted"})


# --- attachments ------------------------------------------------------------------------------


def attachment(
    store: Store, req: Request, asset: Asset, ident: str, att_id: str | None
) -> Response:
    record = _record(store, asset, ident)
    if att_id is None:  # .../attachments/?xpath=<question xpath>
        xpath = req.query.get("xpath")
        found = next((a for a in record.attachments if xpath and a.question_xpath == xpath), None)
    else:
        found = next((a for a in record.attachments if a.uid == att_id), None)
    if found is None or found.is_deleted:
        return not_found()
    return Response(200, store.file_bytes(asset, record, found), found.mimetype)


# --- routing ----------------------------------------------------------------------------------

A = r"^/api/v2/assets/(?P<uid>[^/]+)"
ROUTES: list[tuple[re.Pattern[str], frozenset[str], str]] = [
    (re.compile(r"^/api/v2/assets/$"), frozenset({"GET"}), "assets"),
    (re.compile(A + r"/$"), frozenset({"GET"}), "asset"),
    (re.compile(A + r"/deployment/$"), frozenset({"GET", "POST", "PATCH"}), "deployment"),
    (re.compile(A + r"/data/$"), frozenset({"GET"}), "data"),
    (re.compile(A + r"/data/bulk/$"), frozenset({"DELETE"}), "bulk"),
    (re.compile(A + r"/data/validation_statuses/$"), frozenset({"PATCH", "DELETE"}), "statuses"),
    (re.compile(A + r"/data/(?P<id>[^/]+)/$"), frozenset({"GET", "DELETE"}), "submission"),
    (
        re.compile(A + r"/data/(?P<id>[^/]+)/validation_status/$"),
        frozenset({"GET", "PATCH", "DELETE"}),
        "status",
    ),
    (re.compile(A + r"/data/(?P<id>[^/]+)/attachments/$"), frozenset({"GET"}), "attachments"),
    (
        re.compile(
            A + r"/data/(?P<id>[^/]+)/attachments/(?P<att>[^/]+)/"
            r"(?:(?:original|large|medium|small)/)?$"
        ),
        frozenset({"GET"}),
        "attachment",
    ),
    (re.compile(r"^/api/v2/imports/$"), frozenset({"POST"}), "imports"),
    (re.compile(r"^/api/v2/imports/(?P<uid>[^/]+)/$"), frozenset({"GET"}), "import"),
]


def route(path: str) -> tuple[str, frozenset[str], dict[str, str]] | None:
    for pattern, methods, name in ROUTES:
        match = pattern.match(path)
        if match:
            return name, methods, match.groupdict()
    return None


def authenticate(store: Store, req: Request) -> Response | None:
    """DRF TokenAuthentication: `Authorization: Token <key>`; 401 otherwise."""
    header = req.headers.get("authorization", "")
    parts = header.split()
    if not parts or parts[0].lower() != "token":
        return json_response(
            401,
            {"detail": "Authentication credentials were not provided."},
            **{"WWW-Authenticate": "Token"},
        )
    if len(parts) != 2:
        return json_response(
            401,
            {"detail": "Invalid token header. No credentials provided."},
            **{"WWW-Authenticate": "Token"},
        )
    username = store.tokens.get(parts[1])
    if username is None:
        return json_response(401, {"detail": "Invalid token."}, **{"WWW-Authenticate": "Token"})
    req.username = username
    return None


def handle(store: Store, req: Request) -> Response:
    found = route(req.path)
    if found is None:
        if not req.path.endswith("/") and route(req.path + "/") is not None:
            if req.method == "GET":  # Django's APPEND_SLASH
                parts = urlsplit(req.url)
                target = urlunsplit(parts._replace(path=parts.path + "/"))
                return Response(301, b"", "text/html; charset=utf-8", {"Location": target})
        return not_found()
    name, methods, args = found
    if req.method not in methods:
        return json_response(
            405,
            {"detail": f'Method "{req.method}" not allowed.'},
            Allow=", ".join(sorted(methods)),
        )
    fmt = req.query.get("format", "json")
    if fmt != "json":
        return json_response(404, {"detail": "Not found."})
    denied = authenticate(store, req)
    if denied is not None:
        return denied
    try:
        return _dispatch(store, req, name, args)
    except BadRequest as exc:
        return json_response(exc.status, exc.data)


def _dispatch(store: Store, req: Request, name: str, args: dict[str, str]) -> Response:
    if name == "assets":
        return assets_list(store, req)
    if name == "imports":
        return imports.create(store, req)
    if name == "import":
        return imports.detail(store, req, args["uid"])
    try:
        asset = store.asset(args["uid"])
    except NotFound:
        return not_found()
    if name == "asset":
        return asset_detail(store, req, asset)
    if name == "deployment":
        return deployment(store, req, asset)
    if not asset.has_deployment:
        return json_response(400, {"detail": "The specified asset has not been deployed"})
    if name == "data":
        return data_list(store, req, asset)
    if name == "bulk":
        return bulk_delete(store, req, asset)
    if name == "statuses":
        return validation_statuses(store, req, asset)
    if name == "submission":
        return data_detail(store, req, asset, args["id"])
    if name == "status":
        return validation_status(store, req, asset, args["id"])
    return attachment(store, req, asset, args["id"], args.get("att"))
