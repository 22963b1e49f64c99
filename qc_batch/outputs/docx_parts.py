"""The fixed parts of every Word document qc-batch writes, and the zip that joins them.

A ``.docx`` is a zip of XML parts. All but ``word/document.xml`` (and the
chart images) are the same for every report: styles with the East Asian fonts
(宋体 for text, 黑体 for headings and titles, with their Latin names and the
GB2312 character set as fallbacks), A4 portrait page settings, the bullet
list, the footer with the page number. They are compressed once per process;
a document is then its own ``document.xml`` plus images, zipped around the
precompiled members (as the returned workbooks are made, see
``outputs/returned_patch.py``). The zip is deterministic: fixed member times,
no creation date in the document properties.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

from qc_batch.outputs.deflate import crc32, deflate_raw

# Page: A4 portrait, margins of an official document (GB/T 9704: 37/35/28/26 mm), in twips.
PAGE_W, PAGE_H = 11906, 16838
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = 2098, 1984, 1588, 1474
TEXT_WIDTH = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT
EMU_PER_TWIP = 635

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Fonts: (name written in the document, Latin name, panose, family, pitch)
SONG = ("宋体", "SimSun", "02010600030101010101", "auto", "variable")
HEI = ("黑体", "SimHei", "02010609060101010101", "modern", "fixed")
KAI = ("楷体", "KaiTi", "02010609060101010101", "modern", "fixed")
LATIN = "Times New Roman"


def _fonts(east_asia: str) -> str:
    return (f'<w:rFonts w:ascii="{LATIN}" w:hAnsi="{LATIN}" w:eastAsia="{east_asia}" '
            f'w:cs="{LATIN}" w:hint="eastAsia"/>')


def _style(style_id: str, name: str, *, kind: str = "paragraph", based: str = "Normal", ppr: str = "",
           rpr: str = "", extra: str = "") -> str:
    base = f'<w:basedOn w:val="{based}"/>' if based else ""
    return (f'<w:style w:type="{kind}" w:styleId="{style_id}"><w:name w:val="{name}"/>{base}{extra}'
            f'<w:qFormat/><w:pPr>{ppr}</w:pPr><w:rPr>{rpr}</w:rPr></w:style>')


def _size(half_points: int) -> str:
    return f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/>'


BORDER = '<w:{side} w:val="single" w:sz="4" w:space="0" w:color="808080"/>'
TABLE_BORDERS = "<w:tblBorders>" + "".join(
    BORDER.format(side=s) for s in ("top", "left", "bottom", "right", "insideH", "insideV")) + "</w:tblBorders>"


def styles_xml() -> str:
    """Styles: 宋体 小四 text, 黑体 headings (二号 title, 三号, 四号), 五号 tables."""
    heading = '<w:keepNext/><w:keepLines/>'
    styles = [
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/>'
        '<w:pPr><w:spacing w:after="60" w:line="312" w:lineRule="auto"/><w:jc w:val="both"/></w:pPr>'
        f'<w:rPr>{_fonts(SONG[0])}{_size(24)}</w:rPr></w:style>',
        _style("Title", "Title", ppr=f'{heading}<w:spacing w:before="240" w:after="240" w:line="240" '
               'w:lineRule="auto"/><w:jc w:val="center"/><w:outlineLvl w:val="0"/>',
               rpr=f"{_fonts(HEI[0])}{_size(36)}"),
        _style("Subtitle", "Subtitle", ppr='<w:spacing w:after="240"/><w:jc w:val="center"/>',
               rpr=f"{_fonts(KAI[0])}{_size(28)}"),
        _style("Heading1", "heading 1", ppr=f'{heading}<w:spacing w:before="360" w:after="120"/>'
               '<w:outlineLvl w:val="0"/>', rpr=f"{_fonts(HEI[0])}{_size(32)}"),
        _style("Heading2", "heading 2", ppr=f'{heading}<w:spacing w:before="240" w:after="80"/>'
               '<w:outlineLvl w:val="1"/>', rpr=f"{_fonts(HEI[0])}{_size(28)}"),
        _style("ListBullet", "List Bullet",
               ppr='<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
                   '<w:spacing w:after="40"/><w:ind w:left="420" w:hanging="420"/>'),
        _style("Quote", "Quote", ppr='<w:pBdr><w:left w:val="single" w:sz="18" w:space="8" w:color="C00000"/>'
               '</w:pBdr><w:shd w:val="clear" w:color="auto" w:fill="FDF2F2"/><w:spacing w:after="0"/>'
               '<w:ind w:left="284" w:right="284"/>'),
        _style("QuoteBullet", "Quote Bullet", based="Quote",
               ppr='<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr><w:ind w:left="704" w:hanging="420"/>'),
        _style("Rule", "Rule", ppr='<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="808080"/>'
               '</w:pBdr><w:spacing w:after="120" w:line="120" w:lineRule="exact"/>', rpr=_size(8)),
        _style("TableText", "Table Text", ppr='<w:spacing w:before="20" w:after="20" w:line="240" '
               'w:lineRule="auto"/><w:jc w:val="left"/>', rpr=_size(21)),
        _style("TableHead", "Table Heading", based="TableText", ppr='<w:keepNext/><w:jc w:val="center"/>',
               rpr=f"{_fonts(HEI[0])}"),
        _style("Figure", "Figure", ppr='<w:spacing w:before="120" w:after="120" w:line="240" '
               'w:lineRule="auto"/><w:jc w:val="center"/>'),
        _style("Footer", "footer", ppr='<w:jc w:val="center"/>', rpr=f"{_fonts(SONG[0])}{_size(28)}"),
        '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>'
        '<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>'
        '<w:left w:w="85" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="85" w:type="dxa"/>'
        '</w:tblCellMar></w:tblPr></w:style>',
        '<w:style w:type="table" w:styleId="TableGrid"><w:name w:val="Table Grid"/>'
        f'<w:basedOn w:val="TableNormal"/><w:tblPr>{TABLE_BORDERS}</w:tblPr></w:style>',
    ]
    defaults = (f'<w:docDefaults><w:rPrDefault><w:rPr>{_fonts(SONG[0])}{_size(24)}'
                '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
                '<w:pPrDefault><w:pPr/></w:pPrDefault></w:docDefaults>')
    return f'{XML_HEAD}<w:styles xmlns:w="{W_NS}">{defaults}{"".join(styles)}</w:styles>'


def font_table_xml() -> str:
    fonts = []
    for name, latin, panose, family, pitch in (SONG, HEI, KAI):
        fonts.append(f'<w:font w:name="{name}"><w:altName w:val="{latin}"/><w:panose1 w:val="{panose}"/>'
                     f'<w:charset w:val="86"/><w:family w:val="{family}"/><w:pitch w:val="{pitch}"/></w:font>')
    fonts.append(f'<w:font w:name="{LATIN}"><w:panose1 w:val="02020603050405020304"/><w:charset w:val="00"/>'
                 '<w:family w:val="roman"/><w:pitch w:val="variable"/></w:font>')
    return f'{XML_HEAD}<w:fonts xmlns:w="{W_NS}">{"".join(fonts)}</w:fonts>'


def numbering_xml() -> str:
    return (f'{XML_HEAD}<w:numbering xmlns:w="{W_NS}"><w:abstractNum w:abstractNumId="0">'
            '<w:multiLevelType w:val="singleLevel"/><w:lvl w:ilvl="0"><w:start w:val="1"/>'
            '<w:numFmt w:val="bullet"/><w:lvlText w:val="•"/><w:lvlJc w:val="left"/>'
            '<w:pPr><w:ind w:left="420" w:hanging="420"/></w:pPr>'
            f'<w:rPr><w:rFonts w:ascii="{LATIN}" w:hAnsi="{LATIN}"/></w:rPr></w:lvl></w:abstractNum>'
            '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>')


def settings_xml() -> str:
    return (f'{XML_HEAD}<w:settings xmlns:w="{W_NS}"><w:zoom w:percent="100"/>'
            '<w:defaultTabStop w:val="420"/><w:characterSpacingControl w:val="compressPunctuation"/>'
            '<w:compat><w:compatSetting w:name="compatibilityMode" '
            'w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>'
            '<w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/></w:settings>')


def footer_xml() -> str:
    """The page number, centred: “— 1 —” (the only field in the document, and a fixed one)."""
    dash = '<w:r><w:t xml:space="preserve">— </w:t></w:r>'
    return (f'{XML_HEAD}<w:ftr xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:p><w:pPr><w:pStyle w:val="Footer"/></w:pPr>'
            f'{dash}<w:fldSimple w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>'
            '<w:r><w:t xml:space="preserve"> —</w:t></w:r></w:p></w:ftr>')


def section_xml() -> str:
    """A4 portrait, the footer, and the page number in it."""
    return (f'<w:sectPr><w:footerReference w:type="default" r:id="rIdFooter"/>'
            f'<w:pgSz w:w="{PAGE_W}" w:h="{PAGE_H}"/>'
            f'<w:pgMar w:top="{MARGIN_TOP}" w:right="{MARGIN_RIGHT}" w:bottom="{MARGIN_BOTTOM}" '
            f'w:left="{MARGIN_LEFT}" w:header="851" w:footer="992" w:gutter="0"/>'
            '<w:pgNumType w:fmt="decimal"/></w:sectPr>')


def content_types_xml() -> str:
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml"
    overrides = (("/word/document.xml", f"{main}.document.main+xml"), ("/word/styles.xml", f"{main}.styles+xml"),
                 ("/word/settings.xml", f"{main}.settings+xml"), ("/word/fontTable.xml", f"{main}.fontTable+xml"),
                 ("/word/numbering.xml", f"{main}.numbering+xml"), ("/word/footer1.xml", f"{main}.footer+xml"),
                 ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
                 ("/docProps/app.xml", "application/vnd.openxmlformats-officedocument.extended-properties+xml"))
    return (f'{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="png" ContentType="image/png"/>'
            + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides) + "</Types>")


def package_rels_xml() -> str:
    return (f'{XML_HEAD}<Relationships xmlns="{REL_NS}">'
            f'<Relationship Id="rId1" Type="{DOC_REL}/officeDocument" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
            'metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{DOC_REL}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>")


def document_rels_xml(images: int) -> str:
    rels = [("rIdStyles", "styles", "styles.xml"), ("rIdSettings", "settings", "settings.xml"),
            ("rIdFonts", "fontTable", "fontTable.xml"), ("rIdNumbering", "numbering", "numbering.xml"),
            ("rIdFooter", "footer", "footer1.xml")]
    rels += [(image_rel(k), "image", f"media/image{k}.png") for k in range(1, images + 1)]
    return (f'{XML_HEAD}<Relationships xmlns="{REL_NS}">'
            + "".join(f'<Relationship Id="{i}" Type="{DOC_REL}/{t}" Target="{target}"/>' for i, t, target in rels)
            + "</Relationships>")


def image_rel(k: int) -> str:
    return f"rIdImage{k}"


def core_xml() -> str:
    return (f'{XML_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
            'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<dc:creator>qc-batch</dc:creator><dc:language>zh-CN</dc:language></cp:coreProperties>')


def app_xml() -> str:
    return (f'{XML_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>qc-batch</Application></Properties>')


def document_xml(body: str) -> str:
    """``word/document.xml`` around a body of paragraphs and tables (the section settings last)."""
    return (f'{XML_HEAD}<w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}" '
            'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            f"<w:body>{body}{section_xml()}</w:body></w:document>")


# -- the zip -----------------------------------------------------------------------

STORED, DEFLATED = 0, 8
_DOS_TIME, _DOS_DATE = 0, (1980 - 1980) << 9 | 1 << 5 | 1  # 1980-01-01 00:00, as zip stores no earlier


@dataclass(frozen=True)
class Member:
    """A zip member ready to be joined: name, CRC, sizes and the bytes as stored."""

    name: bytes
    crc: int
    size: int
    method: int
    data: bytes


def member(name: str, data: bytes, *, compress: bool = True) -> Member:
    """One zip member; already compressed content (PNG) is stored as it is."""
    packed = deflate_raw(data) if compress else data
    return Member(name.encode("utf-8"), crc32(data), len(data), DEFLATED if compress else STORED, packed)


def zip_members(members: list[Member]) -> bytes:
    """A zip archive of ``members``, in order."""
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for m in members:
        flags = 0x800 if not m.name.isascii() else 0
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, m.method, _DOS_TIME, _DOS_DATE,
                            m.crc, len(m.data), m.size, len(m.name), 0) + m.name
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, m.method, _DOS_TIME, _DOS_DATE,
                                   m.crc, len(m.data), m.size, len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
        out += (local, m.data)
        offset += len(local) + len(m.data)
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(out) + directory + end


@functools.cache
def fixed_members() -> tuple[tuple[Member, ...], tuple[Member, ...]]:
    """The members before ``word/document.xml`` and after it, compressed once per process."""
    before = (member("[Content_Types].xml", content_types_xml().encode()),
              member("_rels/.rels", package_rels_xml().encode()))
    after = (member("word/styles.xml", styles_xml().encode()),
             member("word/settings.xml", settings_xml().encode()),
             member("word/fontTable.xml", font_table_xml().encode()),
             member("word/numbering.xml", numbering_xml().encode()),
             member("word/footer1.xml", footer_xml().encode()),
             member("docProps/core.xml", core_xml().encode()),
             member("docProps/app.xml", app_xml().encode()))
    return before, after


@functools.cache
def rels_member(images: int) -> Member:
    return member("word/_rels/document.xml.rels", document_rels_xml(images).encode())


def docx_package(document: str, images: list[bytes]) -> bytes:
    """A whole ``.docx``: ``document`` (from :func:`document_xml`) and PNG ``images`` (``image1.png``...)."""
    before, after = fixed_members()
    members = [*before, member("word/document.xml", document.encode("utf-8")), rels_member(len(images))]
    members += [member(f"word/media/image{k}.png", png, compress=False) for k, png in enumerate(images, 1)]
    return zip_members([*members, *after])
