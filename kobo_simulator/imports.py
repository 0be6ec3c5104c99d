"""`/api/v2/imports/`: upload an XLSForm to create an asset or replace one's content (API.md §7).

As in kpi, the import only reads the workbook into the asset's content; pyxform meets the form
when it is deployed (api.deployment). As in kpi's ImportExportTask.run, whatever the import raises
becomes `messages = {"error_type": <exception class>, "error": <message>}`.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import re
from typing import Any
from urllib.parse import parse_qs

from pyxform.errors import PyXFormError

from kobo_simulator.forms import FormSpec, spec_from_xlsx
from kobo_simulator.ids import short_uid
from kobo_simulator.store import Asset, ImportTask, Store
from kobo_simulator.wire import Request, Response, json_response, not_found
from surveys import paths as F

ASSET_URL = re.compile(r"/api/v2/assets/(?P<uid>[^/]+)/?")


class DoesNotExist(LookupError):
    """Django's Model.DoesNotExist, which kpi raises for a `destination` that names no asset."""


class XlsFormatException(ValueError):
    """kpi's answer to an upload that is neither .xlsx (PK...) nor .xls (OLE2)."""


def parse_form(req: Request) -> dict[str, tuple[str | None, bytes]]:
    """Fields of a multipart/form-data, urlencoded or JSON body: name -> (filename, bytes)."""
    ctype = req.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.body)
        out: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True)
            out[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
        return out
    if ctype.startswith("application/x-www-form-urlencoded"):
        pairs = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: (None, v[-1].encode()) for k, v in pairs.items()}
    if req.body:
        try:
            data = json.loads(req.body)
        except ValueError:
            return {}
        if isinstance(data, dict):
            return {k: (None, str(v).encode()) for k, v in data.items()}
    return {}


def detect_form(spec: FormSpec) -> str | None:
    """Which of our forms an uploaded workbook is, so the simulator can generate data for it."""
    if F.NO_KK in spec.questions and F.NIK in spec.questions:
        return "ppks"
    if F.KATEGORI_PSKS in spec.questions:
        return "psks"
    return None


def _summary(spec: FormSpec) -> dict[str, Any]:
    rows = spec.content.get("survey", [])
    names = [r for r in rows if r.get("name")]
    langs = [t for t in spec.content.get("translations", []) if t]
    first = names[0] if names else {}
    return {
        "row_count": len(rows),
        "languages": langs,
        "default_translation": langs[0] if langs else None,
        "geo": bool(spec.geopoints),
        "lock_all": False,
        "lock_any": False,
        "labels": [r["label"][0] for r in names if r.get("label") and r["label"][0]][:5],
        "columns": sorted({k for r in rows for k in r if not k.startswith("$")}),
        "name_quality": {
            "ok": len(names),
            "bad": 0,
            "good": 0,
            "total": len(names),
            "firsts": {"ok": {"name": first.get("name"), "index": 1, "label": None}},
        },
    }


def _destination(store: Store, url: str | None) -> Asset | None:
    if not url:
        return None
    match = ASSET_URL.search(url)
    asset = store.assets.get(match.group("uid")) if match else None
    if asset is None:
        raise DoesNotExist("Asset matching query does not exist.")
    return asset


def _upload(form: dict[str, tuple[str | None, bytes]]) -> tuple[str | None, bytes]:
    if "base64Encoded" in form:
        encoded = form["base64Encoded"][1].decode().split(",", 1)[-1].removeprefix("base64:")
        return None, base64.b64decode(encoded)
    if "file" in form:
        return form["file"]
    if "url" in form:
        raise ValueError("the simulator cannot fetch `url` imports; upload the file instead")
    raise ValueError("ImportTask data must contain `base64Encoded`, `url`, or `single_xls_url`")


def _process(store: Store, task: ImportTask, form: dict[str, tuple[str | None, bytes]]) -> None:
    try:
        destination = _destination(store, task.data["destination"])
        filename, data = _upload(form)
        if store.import_error is not None:
            raise PyXFormError(store.import_error)  # the scene: Kobo's importer refuses it
        if data[:2] not in (b"PK", b"\xd0\xcf"):
            raise XlsFormatException("Unsupported format, or corrupt file")
        spec = spec_from_xlsx(data, title="", rng=store.rng, fill_registry=False)
    except Exception as exc:  # reading a workbook fails in several ways
        task.status, task.messages = "error", {"error": str(exc), "error_type": type(exc).__name__}
        return
    name = spec.title or task.data["filename"]
    if not name and filename:
        name = filename.rsplit(".", 1)[0]
    if destination is not None:
        store.new_version(destination, spec, data)
        if name:
            destination.name = name
        asset, key = destination, "updated"
    else:
        asset = store.add_asset(
            spec,
            detect_form(spec),
            uid=None,
            owner=task.owner,
            name=name or "Untitled",
            asset_type="block" if task.data["library"] else "survey",
            deployed=False,
            xlsx=data,
        )
        key = "created"
    task.status = "complete"
    task.messages = {
        key: [
            {
                "uid": asset.uid,
                "summary": _summary(asset.spec),
                "kind": "asset",
                "owner__username": asset.owner,
            }
        ]
    }


def _task_data(form: dict[str, tuple[str | None, bytes]]) -> dict[str, Any]:
    """What kpi's ImportTaskViewSet.create keeps: `library` is true unless sent as "false",
    the filename comes from `name` (not from the file)."""

    def text(key: str) -> str | None:
        return form[key][1].decode() if key in form else None

    return {
        "library": text("library") != "false",
        "filename": text("name"),
        "destination": text("destination"),
        "desired_type": text("desired_type"),
    }


def create(store: Store, req: Request) -> Response:
    """POST /api/v2/imports/ -> 201 processing (the work is done now; GET reports it)."""
    form = parse_form(req)
    with store.lock:
        task = ImportTask(
            short_uid(store.rng, "i"), store.tick_asset_clock(), req.username, _task_data(form)
        )
        _process(store, task, form)
        store.imports[task.uid] = task
    return json_response(
        201,
        {"uid": task.uid, "url": f"{req.base}/api/v2/imports/{task.uid}/", "status": "processing"},
    )


def detail(store: Store, req: Request, uid: str) -> Response:
    task = store.imports.get(uid)
    if task is None:
        return not_found()
    task.polls += 1
    status = "processing" if task.polls <= store.import_polls else task.status
    return json_response(
        200,
        {
            "status": status,
            "uid": task.uid,
            "messages": task.messages if status != "processing" else {},
            "date_created": task.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    )
