"""Read a built XForm the way Kobo and ODK Collect do: instance paths, binds, choice lists."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

XF = "{http://www.w3.org/2002/xforms}"
JR = "{http://openrosa.org/javarosa}"
H = "{http://www.w3.org/1999/xhtml}"
_SELECTED_CODE = re.compile(r"selected\([^,()]*(?:\([^()]*\))?[^,()]*,\s*'([^']+)'\)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class XForm:
    def __init__(self, path: Path) -> None:
        self.tree = ET.parse(path)  # noqa: S314 - our own build output
        root = self.tree.getroot()
        model = root.find(f"{H}head/{XF}model")
        assert model is not None, "no <model> in the XForm"
        self.model = model
        primary = next(i for i in model.findall(f"{XF}instance") if "id" not in i.attrib)
        self.root = next(iter(primary))
        self.root_name = _local(self.root.tag)
        self.binds = {
            b.attrib["nodeset"].removeprefix(f"/{self.root_name}/"): b.attrib
            for b in model.findall(f"{XF}bind")
        }
        self.body = root.find(f"{H}body")

    # --- structure -----------------------------------------------------------------------

    def _walk(self, el: ET.Element, prefix: str, out: dict[str, ET.Element]) -> None:
        for child in el:
            path = f"{prefix}{_local(child.tag)}"
            if path not in out:
                out[path] = child
            self._walk(child, path + "/", out)

    def nodes(self) -> dict[str, ET.Element]:
        """Every element of the primary instance by path (a repeat's template and copy merge)."""
        out: dict[str, ET.Element] = {}
        self._walk(self.root, "", out)
        return out

    def order(self) -> list[str]:
        """Top-level and nested paths in document order."""
        return list(self.nodes())

    def is_repeat(self, path: str) -> bool:
        return any(f"{JR}template" in el.attrib for el in self._elements(path))

    def _elements(self, path: str) -> list[ET.Element]:
        found = [self.root]
        for step in path.split("/"):
            found = [c for el in found for c in el if _local(c.tag) == step]
        return found

    def is_note(self, path: str) -> bool:
        bind = self.binds.get(path, {})
        return bind.get("readonly") == "true()" and "calculate" not in bind

    def data_paths(self) -> set[str]:
        """Leaves that hold an answer: not groups/repeats, not notes, not meta/."""
        out = set()
        for path, el in self.nodes().items():
            if len(el) or path.startswith("meta/") or path == "meta" or self.is_note(path):
                continue
            out.add(path)
        return out

    def control(self, path: str) -> ET.Element | None:
        ref = f"/{self.root_name}/{path}"
        assert self.body is not None
        return next((el for el in self.body.iter() if el.attrib.get("ref") == ref), None)

    # --- choices -------------------------------------------------------------------------

    def items(self, list_name: str) -> list[dict[str, str]]:
        inst = next(
            (i for i in self.model.findall(f"{XF}instance") if i.attrib.get("id") == list_name),
            None,
        )
        assert inst is not None, f"no choice list {list_name}"
        return [{_local(f.tag): (f.text or "") for f in item} for item in inst.iter(f"{XF}item")]

    def itemset(self, path: str) -> tuple[str, str | None]:
        """(list name, predicate or None) of the select at `path`."""
        control = self.control(path)
        assert control is not None, f"no control for {path}"
        itemset = control.find(f"{XF}itemset")
        assert itemset is not None, f"{path} has no itemset"
        m = re.match(r"instance\('([^']+)'\)/root/item(?:\[(.*)\])?$", itemset.attrib["nodeset"])
        assert m, itemset.attrib["nodeset"]
        return m.group(1), m.group(2)

    def codes_in_selected(self) -> set[str]:
        """The literal codes tested with selected(..., 'code') anywhere in the binds/filters."""
        texts = [v for b in self.binds.values() for v in b.values()]
        assert self.body is not None
        texts += [el.attrib.get("nodeset", "") for el in self.body.iter(f"{XF}itemset")]
        return {code for t in texts for code in _SELECTED_CODE.findall(t)}
