"""Deploy a built XLSForm to Kobo (API.md §7): import the file, wait for it, then deploy.

1. POST /api/v2/imports/ (multipart: file, library=false, and destination=<asset url> when the
   asset already exists, which replaces its content instead of creating a second asset);
2. poll /api/v2/imports/{uid}/ until complete or error;
3. POST /api/v2/assets/{uid}/deployment/ {"active": true} for a first deployment, or PATCH it
   with the asset's current version_id to redeploy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formserver.kobo import KoboClient

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_DONE = ("complete", "error")


class DeployError(Exception):
    """The import or deployment did not go through; str() is one line for a person."""


@dataclass(frozen=True)
class DeployResult:
    asset_uid: str
    version_id: str
    created: bool  # a new asset was made (no asset uid was configured)
    first_deployment: bool  # POST rather than PATCH


def _import(client: KoboClient, xlsx: Path, destination: str | None) -> dict[str, Any]:
    data = {"library": "false", "name": xlsx.name}
    if destination:
        data["destination"] = destination
    with xlsx.open("rb") as fh:
        response = client.request(
            "POST", client.url("imports"), files={"file": (xlsx.name, fh, XLSX_MIME)}, data=data
        )
    try:
        task = response.json()
    except ValueError:
        task = None
    if not isinstance(task, dict) or not task.get("uid"):
        raise DeployError(f"Kobo did not start an import for {xlsx.name} (no import uid)")
    return task


def _wait(
    client: KoboClient,
    task: dict[str, Any],
    *,
    timeout: float,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    url = task.get("url") or client.url("import", uid=task["uid"])
    delay, waited = 0.25, 0.0
    while task.get("status") not in IMPORT_DONE:
        if waited >= timeout:
            raise DeployError(
                f"Kobo import {task['uid']} still '{task.get('status')}' after {timeout:.0f} s; "
                "look at it in the Kobo web interface and try again"
            )
        sleep(delay)
        waited += delay
        delay = min(delay * 2, 5.0)  # short first: small forms import in a second
        task = client.get_json(url)
    return task


def _imported_uid(task: dict[str, Any]) -> tuple[str, bool]:
    messages = task.get("messages") or {}
    if task.get("status") == "error":
        reason = " ".join(str(messages.get("error") or "no reason given").split())
        raise DeployError(f"Kobo could not import the form: {reason}")
    for key, created in (("created", True), ("updated", False)):
        items = messages.get(key) or []
        if items and items[0].get("uid"):
            return str(items[0]["uid"]), created
    raise DeployError(f"Kobo import {task.get('uid')} completed but names no asset")


def deploy_form(
    client: KoboClient,
    xlsx: Path,
    *,
    asset_uid: str | None = None,
    timeout: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeployResult:
    """Upload `xlsx` (a built form) and deploy it; update asset `asset_uid` when given."""
    destination = None
    if asset_uid:
        client.get_json(client.url("asset", uid=asset_uid))  # a wrong uid fails here, clearly
        destination = client.url("asset", uid=asset_uid)
    task = _wait(client, _import(client, xlsx, destination), timeout=timeout, sleep=sleep)
    uid, created = _imported_uid(task)
    if asset_uid and uid != asset_uid:
        raise DeployError(f"Kobo updated asset {uid}, not the configured {asset_uid}")

    asset = client.get_json(client.url("asset", uid=uid))
    version_id = str(asset.get("version_id") or "")
    deployment = client.url("deployment", uid=uid)
    if asset.get("has_deployment"):
        if not version_id:
            raise DeployError(f"Kobo asset {uid} has no version_id to redeploy")
        client.patch_json(deployment, {"version_id": version_id, "active": True})
        first = False
    else:
        client.post_json(deployment, {"active": True})
        first = True
    return DeployResult(uid, version_id, created, first)
