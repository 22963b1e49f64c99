"""The Markdown report of each unit (Jinja2), its chart image, and ``index.md``.

Wording lives in ``templates/report.md.j2``; this module only fills it. Every
text that comes from a workbook passes the ``md`` filter, which escapes
Markdown syntax and HTML so that a unit's text cannot break the report or
inject markup into the e-mail that carries it.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
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
    s = "" if text is None else str(text)
    s = re.sub(r"[\r\n\t]+", " ", s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def template_path(override: Path | None = None) -> Path:
    """The report template: an explicit one, ``templates/`` of the working folder, or the project's."""
    for p in (override, Path("templates") / TEMPLATE_NAME, ROOT / "templates" / TEMPLATE_NAME):
        if p is not None and p.is_file():
            return p
    raise FileNotFoundError(TEMPLATE_NAME)


@functools.cache
def _env(folder: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), autoescape=False, undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=False, lstrip_blocks=False,
    )
    env.filters["md"] = md
    env.filters["urlpath"] = lambda s: quote(str(s))
    return env


def render_report(view: dict[str, Any], template: Path | None = None) -> str:
    path = template_path(template)
    text = _env(str(path.parent)).get_template(path.name).render(u=view)
    return re.sub(r"\n{3,}", "\n\n", text)


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
    return ImageFont.truetype(path, size)


CHART_W, ROW_H, TOP, LEFT, RIGHT = 960, 34, 70, 230, 40


@functools.cache
def _background(labels: tuple[str, ...]) -> Image.Image:
    """What every unit's chart shares (group names, grid, legend), drawn once per process."""
    n = len(labels)
    h = TOP + ROW_H * n + 50
    img = Image.new("RGB", (CHART_W, h), "white")
    d = ImageDraw.Draw(img)
    small, tiny = _font(15), _font(13)
    span = CHART_W - LEFT - RIGHT
    for x_pct in range(0, 101, 20):
        x = LEFT + span * x_pct / 100
        d.line([(x, TOP - 6), (x, TOP + ROW_H * n)], fill="#D9D9D9")
        d.text((x - 10, TOP + ROW_H * n + 6), f"{x_pct}%", font=tiny, fill="#595959")
    for k, label in enumerate(labels):
        d.text((20, TOP + k * ROW_H + 6), label, font=small, fill="#262626")
    ly = h - 22
    d.rectangle([LEFT, ly, LEFT + 18, ly + 12], fill="#4472C4")
    d.text((LEFT + 24, ly - 3), "本单位得分率", font=tiny, fill="#262626")
    d.line([(LEFT + 140, ly - 2), (LEFT + 140, ly + 14)], fill="#C00000", width=3)
    d.text((LEFT + 148, ly - 3), "同级平均得分率", font=tiny, fill="#262626")
    return img


def group_chart(view: dict[str, Any], path: Path) -> None:
    """Horizontal bars: the unit's score rate per group, with the peers' average marked.

    Saved as a palette PNG (a fixed 64-colour palette, made once per process from a
    reference chart): a third of the size and a quarter of the time of an RGB PNG."""
    img = _draw_chart(view)
    img.quantize(palette=_palette(), dither=Image.Dither.NONE).save(path, "PNG", optimize=False, compress_level=6)


@functools.cache
def _palette() -> Image.Image:
    groups = [{"number": k, "name": f"类别名称{k}", "pct": f"{(37.5 * k) % 100 + (k % 3) * 33:.1f}",
               "avg_pct": "50.0"} for k in range(1, 12)]
    for g in groups:
        g["pct"] = f"{min(float(g['pct']), 100.0):.1f}"
    reference = _draw_chart({"unit": "参考单位", "level": "市州", "groups": groups})
    return reference.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def _draw_chart(view: dict[str, Any]) -> Image.Image:
    groups = view["groups"]
    img = _background(tuple(f"{g['number']} {g['name']}" for g in groups)).copy()
    d = ImageDraw.Draw(img)
    d.text((20, 16), f"{view['unit']}：各类别得分率与同级平均（{view['level']}）", font=_font(22), fill="#1F3864")
    tiny = _font(13)
    span = CHART_W - LEFT - RIGHT
    for k, g in enumerate(groups):
        y = TOP + k * ROW_H
        val = float(g["pct"])
        end = LEFT + span * val / 100
        d.rectangle([LEFT, y + 7, end, y + ROW_H - 7], fill="#4472C4")
        ax = LEFT + span * float(g["avg_pct"]) / 100
        d.line([(ax, y + 3), (ax, y + ROW_H - 3)], fill="#C00000", width=3)
        if val > 85:
            d.text((end - 52, y + 8), f"{g['pct']}%", font=tiny, fill="white")
        else:
            d.text((end + 6, y + 8), f"{g['pct']}%", font=tiny, fill="#262626")
    return img


# -- index -------------------------------------------------------------------------


def index_markdown(result, views: dict[str, dict[str, Any]], charts: bool) -> str:
    lines = [f"# {result.settings.year}年度质量强市（区、县）评价审核结果", ""]
    c = result.count
    lines.append(f"共 {len(result.files)} 个文件：受理 {c('accepted')}，被新版本替代 {c('superseded')}，"
                 f"拒收 {c('rejected')}。详见 comparison.xlsx。")
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
                         f"[报告](reports/{quote(v['id'])}.md) | [审核表](returned/{quote(v['id'])}_审核.xlsx) |")
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
