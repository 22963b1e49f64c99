"""A report's Markdown as the two bodies of a message: safe HTML, and readable plain text.

Both come from one parse (Python-Markdown with tables). Raw HTML in the
source is shown as text, never passed through; links keep only
http/https/mailto targets; an image is kept only when it is a file next to the
report, and becomes ``cid:`` in HTML. The plain text has no Markdown left in
it: no ``\\_`` escapes, no ``**``, images as a bracketed caption, tables as
aligned columns (CJK characters count two columns wide).
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

from qc_batch.columns import pad, width

IMAGE_TYPES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif"}
LINK_SCHEMES = ("http", "https", "mailto")
TEXT_WIDTH = 100  # a table wider than this is written a row at a time, "heading：value"


def cid(name: str) -> str:
    return f"img.{hashlib.sha256(name.encode()).hexdigest()[:16]}@qc-batch"


def local_image(src: str) -> str | None:
    """The file name inside ``reports/`` an ``<img src>`` points at, or None when not local."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc or parts.query:
        return None
    path = PurePosixPath(unquote(parts.path).replace("\\", "/"))
    if path.is_absolute() or not path.parts or any(p in ("..", ".", "") for p in path.parts):
        return None
    if path.suffix.lower() not in IMAGE_TYPES:
        return None
    return str(path)


def _markdown(images: list[str], capture: list[ElementTree.Element] | None = None):
    import markdown
    from markdown.treeprocessors import Treeprocessor

    class Sanitize(Treeprocessor):
        def run(self, root):
            for el in root.iter():
                if el.tag == "img":
                    name = local_image(el.get("src", ""))
                    alt, img_title = el.get("alt", ""), el.get("title")
                    el.attrib.clear()
                    if name is None:  # remote or odd source: show the alt text instead
                        el.tag, el.text = "span", alt
                        continue
                    if name not in images:
                        images.append(name)
                    el.set("src", f"cid:{cid(name)}")
                    el.set("alt", alt)
                    el.set("style", "max-width:100%")
                    if img_title:
                        el.set("title", img_title)
                elif el.tag == "a":
                    href = el.get("href", "")
                    scheme = urlsplit(href).scheme.lower() if href else ""
                    if scheme not in LINK_SCHEMES and not href.startswith("#"):
                        el.attrib.pop("href", None)
            if capture is not None:
                capture.append(root)
            return None

    md = markdown.Markdown(extensions=["tables"], output_format="html")
    md.preprocessors.deregister("html_block")  # raw HTML blocks become escaped text
    md.inlinePatterns.deregister("html")  # and so do inline tags
    md.treeprocessors.register(Sanitize(md), "qc_sanitize", -10)  # after 'unescape' (0)
    return md


def render_html(md_text: str, title: str = "", intro: str = "") -> tuple[str, list[str]]:
    """Markdown -> an HTML document safe to mail, and the local images it shows (see the module doc)."""
    images: list[str] = []
    body = _markdown(images).convert(md_text)
    head = _markdown([]).convert(intro) if intro else ""
    doc = ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
           f"<title>{html.escape(title)}</title>\n"
           "<style>body{font-family:'Microsoft YaHei','PingFang SC',sans-serif;line-height:1.6}"
           "table{border-collapse:collapse}th,td{border:1px solid #999;padding:4px 8px}</style>\n"
           f"</head>\n<body>\n{head}{body}\n</body>\n</html>\n")
    return doc, images


# -- plain text ------------------------------------------------------------------------


class _Text:
    """Walks the parsed tree of a report and writes plain text."""

    def __init__(self, stash: list[str]):
        self.stash = stash
        self.blocks: list[str] = []

    def inline(self, el: ElementTree.Element) -> str:
        parts = [el.text or ""]
        for child in el:
            if child.tag == "img":
                alt = child.get("alt", "").strip()
                parts.append(f"［图：{alt}］" if alt else "［图］")
            elif child.tag == "br":
                parts.append("\n")
            elif child.tag == "a":
                label, href = self.inline(child), child.get("href", "")
                shown = href[len("mailto:"):] if href.startswith("mailto:") else href
                parts.append(f"{label}（{shown}）" if href and not href.startswith("#") and shown != label else label)
            else:
                parts.append(self.inline(child))
            parts.append(child.tail or "")
        return self.clean("".join(parts))

    def clean(self, text: str) -> str:
        text = re.sub(r"\x02wzxhzdk:(\d+)\x03", lambda m: self._stashed(int(m.group(1))), text)
        return html.unescape(text) if "&" in text else text

    def _stashed(self, k: int) -> str:
        return self.stash[k] if 0 <= k < len(self.stash) else ""

    def block(self, el: ElementTree.Element, indent: str = "") -> None:
        tag = el.tag
        if tag in ("h1", "h2"):
            text = self.inline(el)
            self.blocks.append(f"{text}\n{('=' if tag == 'h1' else '-') * max(4, width(text))}")
        elif tag in ("h3", "h4", "h5", "h6"):
            self.blocks.append(f"【{self.inline(el)}】")
        elif tag == "p":
            self.blocks.append(indent + self.inline(el).replace("\n", "\n" + indent))
        elif tag in ("ul", "ol"):
            lines = []
            for k, li in enumerate(el.findall("li"), start=1):
                mark = f"{k}. " if tag == "ol" else "- "
                text = self.inline(li) if not len(li) or all(c.tag not in ("p", "ul", "ol") for c in li) else \
                    " ".join(self.inline(c) for c in li if c.tag == "p")
                lines.append(indent + mark + text.replace("\n", "\n" + indent + "  "))
                for sub in li:
                    if sub.tag in ("ul", "ol"):
                        inner = _Text(self.stash)
                        inner.block(sub, indent + "  ")
                        lines.extend(inner.blocks)
            self.blocks.append("\n".join(lines))
        elif tag == "table":
            self.blocks.append(self.table(el))
        elif tag == "hr":
            self.blocks.append("-" * 40)
        elif tag in ("pre", "blockquote", "div"):
            if len(el):
                for child in el:
                    self.block(child, indent + ("  " if tag == "blockquote" else ""))
            else:
                self.blocks.append(self.clean(el.text or ""))
        else:
            self.blocks.append(self.inline(el))

    def table(self, el: ElementTree.Element) -> str:
        rows: list[list[str]] = []
        right: list[bool] = []
        for tr in el.iter("tr"):
            cells = [c for c in tr if c.tag in ("th", "td")]
            rows.append([self.inline(c).replace("\n", " ") for c in cells])
            if not right:
                right = ["right" in (c.get("align", "") + c.get("style", "")) for c in cells]
        if not rows:
            return ""
        n = max(len(r) for r in rows)
        rows = [r + [""] * (n - len(r)) for r in rows]
        right += [False] * (n - len(right))
        cols = [max(width(r[k]) for r in rows) for k in range(n)]
        if sum(cols) + 2 * (n - 1) > TEXT_WIDTH:  # too wide to align: one row at a time
            head, body = rows[0], rows[1:]
            return "\n\n".join("\n".join(f"{h}：{v}" for h, v in zip(head, r, strict=True) if v) for r in body)
        lines = ["  ".join(pad(c, cols[k], right[k]) for k, c in enumerate(r)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * c for c in cols))
        return "\n".join(lines)


def render_text(md_text: str, intro: str = "") -> str:
    """Markdown -> readable plain text (see the module doc); ``intro`` goes first, as written."""
    captured: list[ElementTree.Element] = []
    md = _markdown([], captured)
    md.convert(md_text)
    out = _Text(list(md.htmlStash.rawHtmlBlocks))
    if captured:
        for el in captured[0]:
            out.block(el)
    body = "\n\n".join(b for b in out.blocks if b.strip())
    text = f"{intro.strip()}\n\n{body}" if intro.strip() else body
    return text.rstrip() + "\n"
