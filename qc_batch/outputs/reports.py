"""The Markdown report of each unit (Jinja2), its chart image, and ``index.md``.

Wording lives in ``templates/report.md.j2``; this module only fills it. Every
text that comes from a workbook passes the ``md`` filter, which escapes
Markdown syntax and HTML so that a unit's text cannot break the report or
inject markup into the e-mail that carries it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import re
import shutil
import subprocess
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from PIL import Image, ImageDraw, ImageFont

from qc_batch import paths
from qc_batch.outputs.deflate import png_palette

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_NAME = "report.md.j2"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
)
GLYPH_PROBE = "质量强市得分率同级平均"


def md(text: Any) -> str:
    """Escape text from a workbook for Markdown: no markup, no HTML, one line."""
    return _md(text) if isinstance(text, str) else _md("" if text is None else str(text))


@functools.lru_cache(maxsize=1 << 16)  # most texts (labels, rules) recur in every report
def _md(s: str) -> str:
    s = re.sub(r"[\r\n\t]+", " ", s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def template_path(override: Path | None = None) -> Path:
    """The report template: an explicit one, ``templates/`` of the working folder or of the project
    checkout, else the copy shipped inside the package (``qc_batch/data``, kept identical by a test)."""
    for p in (override, Path("templates") / TEMPLATE_NAME, ROOT / "templates" / TEMPLATE_NAME):
        if p is not None and p.is_file():
            return p
    return packaged_file(TEMPLATE_NAME)


def packaged_file(name: str) -> Path:
    """A file of ``qc_batch/data`` as a path (the package is installed as files: wheel or checkout)."""
    res = resources.files("qc_batch").joinpath("data", name)
    if isinstance(res, Path):
        return res
    return _EXTRACTED.enter_context(resources.as_file(res))  # a zipped package: a temporary copy


_EXTRACTED = contextlib.ExitStack()
atexit.register(_EXTRACTED.close)


_DICT_ATTRS = frozenset(dir(dict))


class _ViewEnvironment(jinja2.Environment):
    """Jinja's ``u.name`` on the plain-dict views, without the exception per lookup.

    Jinja tries ``getattr(obj, name)`` first and the item only when that raises; on a plain
    dict the attribute exists exactly when ``name`` is one of dict's own, so for any other
    name the item is what Jinja would return (about 800 lookups a report)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRS:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


@functools.cache
def _env(folder: str) -> jinja2.Environment:
    env = _ViewEnvironment(
        loader=jinja2.FileSystemLoader(folder), autoescape=False, undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=False, lstrip_blocks=False,
    )
    env.filters["md"] = md
    env.filters["urlpath"] = lambda s: quote(str(s))
    env.globals["paths"] = paths  # file names of a unit's outputs: paths.chart_name(u.id), paths.returned_name(...)
    return env


def render_report(view: dict[str, Any], template: Path | None = None) -> str:
    return report_renderer(template)(view)


_BLANK_LINES = re.compile(r"\n{3,}")


def report_renderer(template: Path | None = None) -> Callable[[dict[str, Any]], str]:
    """:func:`render_report` with the template found and loaded once: the output workers render
    thousands of reports, and each lookup checked the template's file again (two ``stat`` calls)."""
    path = template_path(template)
    tpl = _env(str(path.parent)).get_template(path.name)

    def render(view: dict[str, Any]) -> str:
        return _BLANK_LINES.sub("\n\n", tpl.render(u=view))

    return render


# -- chart -------------------------------------------------------------------------


def _has_glyphs(path: str) -> bool:
    try:
        font = ImageFont.truetype(path, 16)
    except OSError:
        return False
    # a font without CJK glyphs draws every probe character as the same "missing" box
    masks = set()
    for ch in GLYPH_PROBE:
        img = Image.new("L", (24, 24))
        ImageDraw.Draw(img).text((2, 2), ch, font=font, fill=255)
        masks.add(img.tobytes())
    return len(masks) == len(set(GLYPH_PROBE))


@functools.cache
def cjk_font_path() -> str | None:
    """A font file that has the Chinese glyphs of the chart, or None."""
    candidates = list(FONT_CANDIDATES)
    if shutil.which("fc-match"):
        for family in ("Noto Sans CJK SC", "WenQuanYi Micro Hei", "Source Han Sans SC", "sans-serif:lang=zh-cn"):
            try:
                out = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True, text=True,
                                     timeout=10).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                continue
            if out:
                candidates.insert(0, out)
    for path in candidates:
        if Path(path).is_file() and _has_glyphs(path):
            return path
    return None


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    path = cjk_font_path()
    if path is None:
        raise FileNotFoundError("no CJK font")
    # the basic layout (no shaping engine) is enough for Chinese and digits, and several times faster
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


CHART_W, ROW_H, TOP, LEFT, RIGHT = 960, 34, 70, 230, 40

# The chart is drawn straight into a palette image (a PNG of a third of the size, and
# no colour quantizing per unit). Anti-aliased text takes a ramp of 16 shades between
# its background and its colour.
WHITE, GRID, BAR, RED = "#FFFFFF", "#D9D9D9", "#4472C4", "#C00000"
INK, AXIS, TITLE = "#262626", "#595959", "#1F3864"
RAMPS = ((WHITE, INK), (WHITE, AXIS), (WHITE, TITLE), (BAR, WHITE))
SHADES = 16


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@functools.cache
def _palette() -> tuple[dict[str, int], dict[tuple[str, str], int], list[int]]:
    """Palette indices of the solid colours and of each ramp's first shade, and the palette."""
    colours: list[tuple[int, int, int]] = []
    solid = {}
    for c in (WHITE, GRID, BAR, RED):
        solid[c] = len(colours)
        colours.append(_rgb(c))
    ramps = {}
    for bg, fg in RAMPS:
        ramps[(bg, fg)] = len(colours)
        (r0, g0, b0), (r1, g1, b1) = _rgb(bg), _rgb(fg)
        for k in range(SHADES):
            t = k / (SHADES - 1)
            colours.append((round(r0 + (r1 - r0) * t), round(g0 + (g1 - g0) * t), round(b0 + (b1 - b0) * t)))
    return solid, ramps, [v for c in colours for v in c]


@functools.cache
def _shade_table(first: int) -> bytes:
    return bytes(first + (v * (SHADES - 1) + 127) // 255 for v in range(256))


_OPAQUE = bytes([0] + [255] * 255)


@functools.lru_cache(maxsize=4096)
def _glyphs(text: str, size: int, colour: str, background: str) -> tuple[Image.Image, Image.Image] | None:
    """``text`` as palette shades and the mask of where they go (labels repeat: cached)."""
    font = _font(size)
    _left, _top, right, bottom = font.getbbox(text)
    if right <= 0 or bottom <= 0:
        return None
    mask = Image.new("L", (right, bottom))
    ImageDraw.Draw(mask).text((0, 0), text, font=font, fill=255)
    alpha = mask.tobytes()
    shades = Image.frombytes("P", mask.size, alpha.translate(_shade_table(_palette()[1][(background, colour)])))
    return shades, Image.frombytes("L", mask.size, alpha.translate(_OPAQUE))


def _text(img: Image.Image, xy: tuple[float, float], text: str, size: int, colour: str,
          background: str = WHITE) -> None:
    """Anti-aliased text on a palette image, placed as ``ImageDraw.text(xy, ...)`` places it."""
    glyphs = _glyphs(text, size, colour, background)
    if glyphs is not None:
        img.paste(glyphs[0], (round(xy[0]), round(xy[1])), glyphs[1])


@functools.lru_cache(maxsize=4096)
def _advance(text: str, size: int) -> float:
    return _font(size).getlength(text)


def _title(img: Image.Image, xy: tuple[float, float], unit: str, rest: str, size: int = 22) -> None:
    """The chart's title: the unit's name a character at a time (each cached), then the
    words every chart shares (cached whole), set at the advances the basic layout uses."""
    x, y = xy
    for ch in unit:
        _text(img, (x, y), ch, size, TITLE)
        x += _advance(ch, size)
    _text(img, (x, y), rest, size, TITLE)


@functools.cache
def _background(labels: tuple[str, ...]) -> Image.Image:
    """What every unit's chart shares (group names, grid, legend), drawn once per process."""
    solid, _ramps, palette = _palette()
    n = len(labels)
    h = TOP + ROW_H * n + 50
    img = Image.new("P", (CHART_W, h), solid[WHITE])
    img.putpalette(palette)
    d = ImageDraw.Draw(img)
    small, tiny = 15, 13
    span = CHART_W - LEFT - RIGHT
    for x_pct in range(0, 101, 20):
        x = LEFT + span * x_pct / 100
        d.line([(x, TOP - 6), (x, TOP + ROW_H * n)], fill=solid[GRID])
        _text(img, (x - 10, TOP + ROW_H * n + 6), f"{x_pct}%", tiny, AXIS)
    for k, label in enumerate(labels):
        _text(img, (20, TOP + k * ROW_H + 6), label, small, INK)
    ly = h - 22
    d.rectangle([LEFT, ly, LEFT + 18, ly + 12], fill=solid[BAR])
    _text(img, (LEFT + 24, ly - 3), "本单位得分率", tiny, INK)
    d.line([(LEFT + 140, ly - 2), (LEFT + 140, ly + 14)], fill=solid[RED], width=3)
    _text(img, (LEFT + 148, ly - 3), "同级平均得分率", tiny, INK)
    return img


def group_chart(view: dict[str, Any], path: Path) -> bytes:
    """Horizontal bars: the unit's score rate per group, with the peers' average marked (a palette PNG).
    Returns the PNG written, so the Word report need not read it back."""
    img = _draw_chart(view)
    png = png_palette(img.width, img.height, img.tobytes(), bytes(_palette()[2]))
    path.write_bytes(png)
    return png


def _draw_chart(view: dict[str, Any]) -> Image.Image:
    solid = _palette()[0]
    groups = view["groups"]
    img = _background(tuple(f"{g['number']} {g['name']}" for g in groups)).copy()
    d = ImageDraw.Draw(img)
    _title(img, (20, 16), str(view["unit"]), f"：各类别得分率与同级平均（{view['level']}）")
    tiny = 13
    span = CHART_W - LEFT - RIGHT
    for k, g in enumerate(groups):
        y = TOP + k * ROW_H
        val = float(g["pct"])
        end = LEFT + span * val / 100
        d.rectangle([LEFT, y + 7, end, y + ROW_H - 7], fill=solid[BAR])
        ax = LEFT + span * float(g["avg_pct"]) / 100
        d.line([(ax, y + 3), (ax, y + ROW_H - 3)], fill=solid[RED], width=3)
        if val > 85:
            _text(img, (end - 52, y + 8), f"{g['pct']}%", tiny, WHITE, BAR)
        else:
            _text(img, (end + 6, y + 8), f"{g['pct']}%", tiny, INK)
    return img


# -- index -------------------------------------------------------------------------


def index_markdown(result, views: dict[str, dict[str, Any]], charts: bool) -> str:
    lines = [f"# {result.settings.year}年度质量强市（区、县）评价审核结果", ""]
    c = result.count
    lines.append(f"共 {len(result.files)} 个文件：受理 {c('accepted')}，被新版本替代 {c('superseded')}，"
                 f"拒收 {c('rejected')}。详见 {paths.COMPARISON}；"
                 f"供领导阅览的全省汇总：[{paths.SUMMARY}]({quote(paths.SUMMARY)})。")
    lines.append("")
    for level in result.rubric.levels:
        units = sorted((v for v in views.values() if v["level"] == level),
                       key=lambda v: (v["rank"] is None, v["rank"] or 0, v["unit"]))
        if not units:
            continue
        lines += [f"## {level}", "", "| 名次 | 单位 | 总分 | 结论 | 报告 | 退回修改表 |", "|---:|---|---:|---|---|---|"]
        for v in units:
            rank = v["rank"] if v["rank"] is not None else "—"
            name = md(v["unit"]) + (f"（{md(v['parent'])}）" if v["parent"] else "")
            lines.append(f"| {rank} | {name} | {v['total']} | {v['status']} | "
                         f"[报告]({quote(paths.report(v['id']))})（[Word]({quote(paths.report_docx(v['id']))})） | "
                         f"[审核表]({quote(paths.returned(v['id']))}) |")
        lines.append("")
    rejected = [f for f in result.files if f.status == "rejected"]
    if rejected:
        lines += ["## 拒收的文件", ""]
        lines += [f"- {md(f.file)}：{md(f.reason)}" for f in rejected]
        lines.append("")
    if result.not_submitted:
        lines += ["## 未提交", ""]
        lines += [f"- {md(e.unit)}（{e.level}）" for e in result.not_submitted]
        lines.append("")
    if not charts:
        lines += ["> 注意：本机未找到中文字体，报告中的图表未生成。请安装中文字体（如 fonts-noto-cjk）后重新运行。", ""]
    return "\n".join(lines)
