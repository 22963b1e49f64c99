"""Word documents from the Markdown qc-batch renders: ``reports/<id>.docx`` and ``summary.docx``.

There is one wording: the Jinja2 template renders Markdown (``reports/<id>.md``),
and this module turns that same Markdown into WordprocessingML. It reads the
subset the templates write: ``#``/``##``/``###`` headings, paragraphs, ``-``
lists, ``>`` quotes, pipe tables (with ``---:`` alignment), ``---`` rules,
``![alt](file.png)`` images, ``**bold**``, ``*emphasis*``, backslash escapes and
the HTML entities of the ``md`` filter. A paragraph that is all emphasis right
after the title is the subtitle.

Unit text arrives escaped by the ``md`` filter and leaves as XML text only:
never a field, never a hyperlink (a link in Markdown becomes its text), and no
character XML cannot hold.
"""

from __future__ import annotations

import functools
import html
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from qc_batch.outputs.docx_parts import EMU_PER_TWIP, TABLE_BORDERS, TEXT_WIDTH, document_xml, docx_package, image_rel

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_INLINE = re.compile(r"\\([!-/:-@\[-`{-~])|(\*\*)|(\*)|(!?\[[^\]\\]*\]\([^)\s]*\))|([^\\*!\[]+|[!\[\\])")
_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)]*)\)")
_IMAGE_LINE = re.compile(r"^!\[([^\]\\]*)\]\(([^)\s]+)\)\s*$")
_TABLE_SEP = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_RULE = re.compile(r"^(-{3,}|\*{3,}|_{3,})\s*$")
_HEADING = re.compile(r"^(#{1,3})\s+(.*?)\s*#*\s*$")
_SUBTITLE = re.compile(r"\*[^*].*[^\\]\*")
_QUOTE = re.compile(r"^\s*>\s?")
_HEADING_STYLE = {1: "Title", 2: "Heading1", 3: "Heading2"}


def xml_text(s: str) -> str:
    """Text for ``<w:t>``: escaped, without the characters XML cannot hold."""
    return _XML_BAD.sub("", s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(s: str) -> str:
    return xml_text(s).replace('"', "&quot;")


def _run(text: str, bold: bool, emph: bool) -> str:
    # the order of run properties is fixed by the schema (Word refuses others): fonts, bold, colour
    props = ('<w:rFonts w:eastAsia="楷体"/>' if emph else "") + ("<w:b/><w:bCs/>" if bold else "") + (
        '<w:color w:val="404040"/>' if emph else "")
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{xml_text(text)}</w:t></w:r>'


Segment = tuple[str, bool, bool]  # text, bold, emphasis


@functools.lru_cache(maxsize=1 << 15)  # most lines (rules, labels, peers' figures) recur in every report
def segments(md: str) -> tuple[Segment, ...]:
    """One line of Markdown as styled text: escapes made literal, ``**``/``*`` as bold/emphasis, links as text."""
    out: list[Segment] = []
    buf: list[str] = []
    bold = emph = False

    def flush() -> None:
        if buf:
            text = html.unescape("".join(buf))
            if text:
                out.append((text, bold, emph))
            buf.clear()

    for esc, strong, em, link, text in _INLINE.findall(md):
        if esc:
            buf.append("&amp;" if esc == "&" else esc)  # an escaped character is literal, also for unescape()
        elif strong:
            flush()
            bold = not bold
        elif em:
            flush()
            emph = not emph
        elif link:
            buf.append(_LINK.sub(r"\1", link))
        else:
            buf.append(text)
    flush()
    return tuple(out)


@functools.lru_cache(maxsize=1 << 15)
def inline_runs(md: str) -> str:
    """The ``<w:r>`` runs of one line of Markdown."""
    return "".join(_run(*seg) for seg in segments(md))


def plain(md: str) -> str:
    """The text a line of Markdown shows."""
    return "".join(seg[0] for seg in segments(md))


@functools.lru_cache(maxsize=1 << 15)
def paragraph(style: str, md: str, extra_ppr: str = "") -> str:
    return f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{extra_ppr}</w:pPr>{inline_runs(md)}</w:p>'


# -- tables ------------------------------------------------------------------------


_CELL = re.compile(r"((?:\\.|[^|\\])*)\|")


def split_row(line: str) -> list[str]:
    """The cells of a pipe-table row; ``\\|`` is a pipe inside a cell."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if not s.endswith("|") or (s.endswith("\\|") and not s.endswith("\\\\|")):
        s += "|"
    return [c.strip() for c in _CELL.findall(s)]


def _width(text: str) -> int:
    """Columns ``text`` takes: a CJK character (three bytes in UTF-8) counts two."""
    return len(text) + (len(text.encode("utf-8")) - len(text)) // 2


HALF_EM, CELL_PAD = 105, 230  # twips: half a 五号 character; cell margins and a little air


def _column_widths(rows: list[list[str]], n: int) -> list[int]:
    """Twips per column, filling the text width: each column as wide as its widest cell where the
    page allows; otherwise the widest columns are narrowed (and wrap) until the table fits."""
    need = [4 * HALF_EM + CELL_PAD] * n
    for row in rows:
        for c, cell in enumerate(row[:n]):
            need[c] = max(need[c], _width(plain(cell)) * HALF_EM + CELL_PAD)
    if sum(need) > TEXT_WIDTH:
        # water-filling: the largest cap under which the columns fit
        low, high = 0, max(need)
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if sum(min(w, mid) for w in need) <= TEXT_WIDTH else (low, mid)
        need = [min(w, low) for w in need]
    spare = TEXT_WIDTH - sum(need)
    total = sum(need)
    widths = [w + spare * w // total for w in need]
    widths[-1] += TEXT_WIDTH - sum(widths)
    return widths


KEEP_TOGETHER = 12  # a table of up to this many rows (a group table, a top ten) is not split across pages


def _cell(md: str, width: int, align: str, head: bool, keep: bool = False) -> str:
    style = "TableHead" if head else "TableText"
    jc = ("<w:keepNext/>" if keep else "") + (f'<w:jc w:val="{align}"/>' if align != "left" and not head else "")
    shade = '<w:shd w:val="clear" w:color="auto" w:fill="D9E1F2"/>' if head else ""
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shade}<w:vAlign w:val="center"/></w:tcPr>'
            f"{paragraph(style, md, jc)}</w:tc>")


def table(header: list[str], aligns: list[str], rows: list[list[str]]) -> str:
    """A bordered table, full text width; the header row repeats on every page and no row splits."""
    n = len(header)
    widths = _column_widths([header, *rows], n)
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    out = [f'<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="{TEXT_WIDTH}" w:type="dxa"/>'
           f'{TABLE_BORDERS}<w:tblLayout w:type="fixed"/><w:tblLook w:val="04A0" w:firstRow="1"/></w:tblPr>'
           f"<w:tblGrid>{grid}</w:tblGrid>",
           '<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>'
           + "".join(_cell(h, widths[c], "center", True) for c, h in enumerate(header)) + "</w:tr>"]
    short = len(rows) <= KEEP_TOGETHER
    for k, row in enumerate(rows):
        cells = (row + [""] * n)[:n]
        keep = short and k < len(rows) - 1
        out.append('<w:tr><w:trPr><w:cantSplit/></w:trPr>'
                   + "".join(_cell(v, widths[c], aligns[c], False, keep) for c, v in enumerate(cells)) + "</w:tr>")
    out.append("</w:tbl>")
    # a table followed directly by another block would otherwise touch it
    out.append('<w:p><w:pPr><w:spacing w:after="0" w:line="120" w:lineRule="exact"/></w:pPr></w:p>')
    return "".join(out)


def _aligns(sep: str, n: int) -> list[str]:
    out = []
    for spec in split_row(sep)[:n]:
        s = spec.strip()
        out.append("center" if s.startswith(":") and s.endswith(":") else "right" if s.endswith(":") else "left")
    return out + ["left"] * (n - len(out))


# -- images ------------------------------------------------------------------------


def png_size(png: bytes) -> tuple[int, int]:
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", png[16:24])


def picture(k: int, png: bytes, alt: str, width: int = TEXT_WIDTH) -> str:
    """The ``k``-th image of the document, ``width`` twips wide, centred."""
    w, h = png_size(png)
    cx = width * EMU_PER_TWIP
    cy = cx * h // w
    a = _attr(alt)
    return ('<w:p><w:pPr><w:pStyle w:val="Figure"/></w:pPr><w:r><w:drawing>'
            f'<wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/>'
            f'<wp:docPr id="{k}" name="图片 {k}" descr="{a}"/><wp:cNvGraphicFramePr>'
            '<a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>'
            '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            f'<pic:pic><pic:nvPicPr><pic:cNvPr id="{k}" name="image{k}.png" descr="{a}"/><pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip r:embed="{image_rel(k)}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
            f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
            "</wp:inline></w:drawing></w:r></w:p>")


# -- blocks ------------------------------------------------------------------------


def _join(lines: list[str]) -> str:
    """The lines of one paragraph: joined without a space where Chinese meets Chinese."""
    out = lines[0].strip()
    for line in lines[1:]:
        s = line.strip()
        if out and s and (ord(out[-1]) > 0x2E7F or ord(s[0]) > 0x2E7F):
            out += s
        else:
            out += " " + s
    return out


@dataclass
class Body:
    """The document body as it is built: XML pieces and the images, in order."""

    parts: list[str]
    images: list[bytes]


_RULE_XML = '<w:p><w:pPr><w:pStyle w:val="Rule"/></w:pPr></w:p>'


def _blocks(lines: list[str], body: Body, images: dict[str, bytes], quoted: bool = False) -> None:
    """Append the blocks of ``lines`` to ``body``. Dispatches on a line's first character: most
    lines are a heading, a list item or a one-line paragraph, and their XML is cached."""
    parts = body.parts
    para: list[str] = []
    prev = ""  # kind of the last block written
    text_style = "Quote" if quoted else "Normal"
    bullet_style = "QuoteBullet" if quoted else "ListBullet"

    def flush() -> None:
        nonlocal prev
        text = _join(para) if len(para) > 1 else para[0].strip()
        subtitle = prev == "title" and not quoted and _SUBTITLE.fullmatch(text)
        parts.append(paragraph("Subtitle", text[1:-1]) if subtitle else paragraph(text_style, text))
        para.clear()
        prev = "para"

    k, n = 0, len(lines)
    while k < n:
        line = lines[k]
        first = line[:1]
        if first == " " or first == "\t":
            first = line.lstrip()[:1]
        if not first:
            if para:
                flush()
        elif first == "#" and (m := _HEADING.match(line.strip())):
            if para:
                flush()
            parts.append(paragraph(_HEADING_STYLE[len(m.group(1))], m.group(2)))
            prev = "title" if len(m.group(1)) == 1 else "heading"
        elif first in "-*+" and not para and _RULE.match(line.strip()):
            parts.append(_RULE_XML)
            prev = "rule"
        elif first in "-*+" and line.lstrip()[1:2] == " ":
            if para:
                flush()
            parts.append(paragraph(bullet_style, line.lstrip()[2:].strip()))
            prev = "list"
        elif first == ">":
            if para:
                flush()
            inner = []
            while k < n and lines[k].lstrip().startswith(">"):
                inner.append(_QUOTE.sub("", lines[k]))
                k += 1
            _blocks(inner, body, images, quoted=True)
            prev = "quote"
            continue
        elif first == "|" and k + 1 < n and _TABLE_SEP.match(lines[k + 1].strip()):
            if para:
                flush()
            header = split_row(line)
            aligns = _aligns(lines[k + 1], len(header))
            rows = []
            k += 2
            while k < n and lines[k].lstrip().startswith("|"):
                rows.append(split_row(lines[k]))
                k += 1
            if prev == "para" and parts[-1].startswith("<w:p><w:pPr><w:pStyle "):
                parts[-1] = parts[-1].replace('"/>', '"/><w:keepNext/>', 1)  # the lines that introduce a table
            parts.append(table(header, aligns, rows))
            prev = "table"
            continue
        elif first == "!" and (m := _IMAGE_LINE.match(line.strip())):
            if para:
                flush()
            png = images.get(m.group(2)) or images.get(unquote(m.group(2)))
            if png is not None:
                body.images.append(png)
                parts.append(picture(len(body.images), png, html.unescape(m.group(1))))
            prev = "image"
        else:
            para.append(line)
        k += 1
    if para:
        flush()


def markdown_body(text: str, images: dict[str, bytes] | None = None) -> Body:
    """The body of a Word document showing ``text`` (Markdown of the subset above).

    ``images`` maps the file names the Markdown links to their PNG bytes; an image
    not in it is left out (a document never reads a file a template names)."""
    body = Body([], [])
    _blocks(text.split("\n"), body, images or {})
    return body


def markdown_docx(text: str, images: dict[str, bytes] | None = None) -> bytes:
    """A whole ``.docx`` of ``text``: A4 portrait, page numbers, the styles of ``docx_parts``."""
    body = markdown_body(text, images)
    return docx_package(document_xml("".join(body.parts)), body.images)


def write_report_docx(path: Path, markdown: str, chart: Path | None, chart_png: bytes | None = None) -> None:
    """``reports/<id>.docx`` from the unit's rendered report, with its chart when one was drawn
    (``chart_png``: the chart's bytes when the caller has them, else read from ``chart``)."""
    images = {}
    if chart is not None and chart_png is not None:
        images[chart.name] = chart_png
    elif chart is not None and chart.is_file():
        images[chart.name] = chart.read_bytes()
    path.write_bytes(markdown_docx(markdown, images))
