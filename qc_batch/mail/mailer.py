"""Sending each unit its report by e-mail, safely and exactly once (``qc-batch mail``).

Reads what ``qc-batch run`` wrote into the output folder: ``results.json``,
``reports/<id>.md`` (with the chart ``reports/<id>.png``) and
``returned/<id>_审核.xlsx``. Without ``--send`` it only writes one message per
unit to ``outbox/<id>.eml`` for checking; with ``--send`` it writes them again
and sends them over SMTP.

Exactly once: every attempt is appended to ``mail_log.jsonl`` (one JSON object a
line, flushed and fsync'ed before the next message goes). A unit whose latest
``sent`` record has the report hash of today's files is not sent again; a
changed report is; ``--resend`` forces. The Message-ID is derived from the
content and the recipients, so a message re-sent after an interrupted attempt
carries the same Message-ID and the receiving side can drop a duplicate.

The SMTP password comes only from an environment variable (``smtp.password_env``,
default ``QC_SMTP_PASSWORD``); it is never written, logged or printed.

The library functions (:func:`mail_config`, :func:`build_messages`,
:func:`write_outbox`, :func:`plan`, :func:`send_all`, :func:`read_log`) do the
work; the click command :data:`mail` is a thin wrapper.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import ipaddress
import json
import os
import re
import smtplib
import ssl
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import click

from qc_batch.outputs.staging import atomic_write_bytes
from qc_batch.settings import Settings

POLICY = SMTP_POLICY  # CRLF line ends, RFC 2047 headers, RFC 2231 file names
LOG_NAME = "mail_log.jsonl"
OUTBOX = "outbox"
DEFAULT_PASSWORD_ENV = "QC_SMTP_PASSWORD"
DEFAULT_SUBJECT = "{year}年度质量强市评价审核结果：{unit}（{status}）"
SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORT = {"ssl": 465, "starttls": 587, "none": 25}
SMTP_KEYS = ("host", "port", "security", "user", "sender", "reply_to", "rate_limit", "password_env", "timeout",
             "ca_file")
MAIL_KEYS = ("subject", "cc", "intro")
PLACEHOLDERS = ("year", "unit", "status", "total", "id", "level", "parent")
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
IMAGE_TYPES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif"}
LINK_SCHEMES = ("http", "https", "mailto")
# docProps/core.xml holds the time the workbook was saved; it changes on every run
XLSX_VOLATILE = frozenset({"docProps/core.xml"})


class MailSettingsError(ValueError):
    """The smtp / address_book / mail settings cannot be used; Chinese, names the key."""


class MailInputError(ValueError):
    """The output folder of ``qc-batch run`` cannot be read; Chinese."""


class MailBusyError(RuntimeError):
    """Another ``qc-batch mail --send`` is running on the same output folder."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class MailConfig:
    """The validated ``smtp``, ``address_book`` and ``mail`` sections of the settings."""

    sender: Address
    reply_to: Address | None = None
    host: str = ""
    port: int = 587
    security: str = "starttls"
    user: str = ""
    password_env: str = DEFAULT_PASSWORD_ENV
    rate_limit: float | None = None  # messages per minute
    timeout: float = 30.0
    ca_file: str = ""
    subject: str = DEFAULT_SUBJECT
    cc: tuple[Address, ...] = ()
    intro: str = ""
    address_book: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    year: int = 0

    @property
    def interval(self) -> float:
        """Seconds to leave between two messages (0 without a rate limit)."""
        return 60.0 / self.rate_limit if self.rate_limit else 0.0

    def require_server(self) -> None:
        if not self.host:
            raise MailSettingsError("设置文件中没有 smtp.host（邮件服务器地址）；发送前请填写，见 docs/mail.md")


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def parse_address(text: Any, display_name: str = "") -> tuple[Address | None, str]:
    """``("名称 <a@b.cn>" or "a@b.cn")`` -> ``(Address, "")`` or ``(None, Chinese problem)``.

    Simple on purpose: one @, no spaces, ASCII only, a dot in the domain.
    """
    if not isinstance(text, str) or not text.strip():
        return None, "没有邮箱地址"
    raw = text.strip()
    if any(c in raw for c in "＠．。，；："):
        return None, "含全角符号（如＠、．），请改为半角"
    name = display_name
    m = re.fullmatch(r"(.*?)\s*<([^<>]*)>", raw)
    if m:
        name = m.group(1).strip().strip('"').strip() or display_name
        addr = m.group(2).strip()
    else:
        addr = raw
    if not addr:
        return None, "没有邮箱地址"
    if re.search(r"[,;\s]", addr):
        return None, "只能填写一个邮箱地址，且不能含空格、逗号或分号"
    if not addr.isascii():
        return None, "含中文或其他非英文字符"
    if addr.count("@") != 1:
        return None, "应恰好含一个 @（如 name@example.com）"
    local, domain = addr.split("@")
    if not local or "." not in domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return None, "格式不正确（应如 name@example.com）"
    try:
        address = Address(display_name=_one_line(name), addr_spec=addr)
    except (ValueError, IndexError, TypeError):
        return None, "格式不正确（应如 name@example.com）"
    if address.addr_spec != addr:
        return None, "格式不正确（应如 name@example.com）"
    return address, ""


def _address_setting(value: Any, key: str) -> Address:
    address, problem = parse_address(value)
    if address is None:
        raise MailSettingsError(f"设置文件 {key} 的邮箱地址“{value}”{problem}")
    return address


def _address_list(value: Any, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise MailSettingsError(f"设置文件 {key} 应为一个邮箱地址，或邮箱地址的列表")
    return tuple(items)


def _check_template(template: Any, key: str) -> str:
    if not isinstance(template, str):
        raise MailSettingsError(f"设置文件 {key} 应为文字")
    sample = {k: "x" for k in PLACEHOLDERS}
    try:
        template.format_map(sample)
    except KeyError as exc:
        raise MailSettingsError(f"设置文件 {key} 中的 {{{exc.args[0]}}} 无法识别；可用：" +
                                "、".join(f"{{{k}}}" for k in PLACEHOLDERS)) from None
    except (ValueError, IndexError):
        raise MailSettingsError(f"设置文件 {key} 中的花括号用法有误；可用：" +
                                "、".join(f"{{{k}}}" for k in PLACEHOLDERS)) from None
    return template


def _unknown(section: Mapping, allowed: Sequence[str], name: str) -> None:
    if "password" in section and name == "smtp":
        raise MailSettingsError("设置文件中不能写 smtp.password：密码只从环境变量读取，请删去这一项，"
                                f"改为设置环境变量 {section.get('password_env') or DEFAULT_PASSWORD_ENV}")
    bad = sorted(str(k) for k in section if k not in allowed)
    if bad:
        raise MailSettingsError(f"设置文件 {name} 中有无法识别的设置项：{'、'.join(f'{name}.{k}' for k in bad)}；"
                                f"可用的设置项为：{'、'.join(allowed)}")


def _positive(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise MailSettingsError(f"设置文件 {key} 应为正数，实际为“{value}”")
    return float(value)


def mail_config(settings: Settings | MailConfig) -> MailConfig:
    """Validate the ``smtp``, ``address_book`` and ``mail`` sections (``Settings.extra``)."""
    if isinstance(settings, MailConfig):
        return settings
    extra = settings.extra or {}
    smtp = extra.get("smtp")
    if smtp is None:
        raise MailSettingsError("设置文件中没有 smtp 部分；至少需要 smtp.sender（发件人地址），见 docs/mail.md")
    if not isinstance(smtp, Mapping):
        raise MailSettingsError("设置文件 smtp 应为“键: 值”形式的设置（host、port、sender 等），见 docs/mail.md")
    _unknown(smtp, SMTP_KEYS, "smtp")
    if not smtp.get("sender"):
        raise MailSettingsError("设置文件中没有 smtp.sender（发件人地址，如 质量强省办 <zlqs@example.gov.cn>）")
    sender = _address_setting(smtp["sender"], "smtp.sender")
    reply_to = _address_setting(smtp["reply_to"], "smtp.reply_to") if smtp.get("reply_to") else None
    security = smtp.get("security", "starttls")
    if security not in SECURITY:
        raise MailSettingsError(f"设置文件 smtp.security 应为 ssl、starttls 或 none，实际为“{security}”")
    host = smtp.get("host") or ""
    if not isinstance(host, str) or any(c.isspace() for c in host):
        raise MailSettingsError(f"设置文件 smtp.host（邮件服务器地址）应为主机名，如 smtp.example.gov.cn，实际为“{host}”")
    port = smtp.get("port", DEFAULT_PORT[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise MailSettingsError(f"设置文件 smtp.port（端口）应为 1 到 65535 的整数，实际为“{port}”")
    user = smtp.get("user") or ""
    if not isinstance(user, str | int) or isinstance(user, bool):
        raise MailSettingsError("设置文件 smtp.user（登录用户名）应为文字")
    env = smtp.get("password_env") or DEFAULT_PASSWORD_ENV
    if not isinstance(env, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        raise MailSettingsError(f"设置文件 smtp.password_env 应为环境变量名（如 {DEFAULT_PASSWORD_ENV}），实际为“{env}”")
    rate = smtp.get("rate_limit")
    rate = None if rate is None else _positive(rate, "smtp.rate_limit（每分钟最多发送的封数）")
    timeout = _positive(smtp.get("timeout", 30), "smtp.timeout（超时秒数）")
    ca_file = smtp.get("ca_file") or ""
    if ca_file and not Path(str(ca_file)).is_file():
        raise MailSettingsError(f"设置文件 smtp.ca_file 指定的证书文件不存在：{ca_file}")

    book_in = extra.get("address_book") or {}
    if not isinstance(book_in, Mapping):
        raise MailSettingsError("设置文件 address_book 应为“单位: 邮箱地址”的列表，如  长沙市: zlqs@example.com")
    book = {str(k).strip(): _address_list(v, f"address_book.{k}") for k, v in book_in.items()}

    section = extra.get("mail") or {}
    if not isinstance(section, Mapping):
        raise MailSettingsError("设置文件 mail 应为“键: 值”形式的设置（subject、cc、intro）")
    _unknown(section, MAIL_KEYS, "mail")
    subject = _check_template(section.get("subject", DEFAULT_SUBJECT), "mail.subject（邮件主题）")
    intro = _check_template(section.get("intro") or "", "mail.intro（正文开头的说明）")
    cc = ()
    if section.get("cc"):
        cc = tuple(_address_setting(a, "mail.cc") for a in _address_list(section["cc"], "mail.cc"))
    return MailConfig(sender=sender, reply_to=reply_to, host=host.strip(), port=port, security=security,
                      user=str(user), password_env=env, rate_limit=rate, timeout=timeout, ca_file=str(ca_file),
                      subject=subject, cc=cc, intro=intro, address_book=book, year=settings.year)


# --------------------------------------------------------------------------- reading run's output


def load_results(output_dir: str | Path) -> dict[str, Any]:
    path = Path(output_dir) / "results.json"
    if not path.is_file():
        raise MailInputError(f"找不到 {path}；请先运行 qc-batch run（或用 --output 指定结果文件夹）")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MailInputError(f"无法读取 {path}：{exc}；请重新运行 qc-batch run") from None
    if not isinstance(data, dict) or data.get("schema") != "qc-batch/results" or not isinstance(data.get("units"), list):
        raise MailInputError(f"{path} 不是 qc-batch run 生成的结果文件；请重新运行 qc-batch run")
    return data


def _safe_id(uid: str) -> bool:
    return bool(uid) and uid not in (".", "..") and not any(c in uid for c in '/\\:*?"<>|\0') and uid == uid.strip()


def _xlsx_canonical(data: bytes) -> bytes:
    """What an audited workbook *says*: its members' contents without the save time.

    Two runs on the same input write workbooks that differ only in
    ``docProps/core.xml`` and zip timestamps; hashing the raw bytes would
    re-send every unit after every run.
    """
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = []
            for name in sorted(zf.namelist()):
                if name in XLSX_VOLATILE:
                    continue
                parts.append(name.encode() + b"\0" + hashlib.sha256(zf.read(name)).digest())
            return b"xlsx\0" + b"\n".join(parts)
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
        return data


def report_sha256(md: bytes, images: Sequence[tuple[str, bytes]], xlsx: bytes) -> str:
    """Hash of what the unit receives: the report, its images and the audited workbook."""
    h = hashlib.sha256()

    def part(tag: str, data: bytes) -> None:
        h.update(f"{tag}\0{len(data)}\0".encode())
        h.update(data)

    part("report.md", md)
    for name, data in images:
        part(f"image:{name}", data)
    part("returned.xlsx", _xlsx_canonical(xlsx))
    return h.hexdigest()


# --------------------------------------------------------------------------- rendering


def _cid(name: str) -> str:
    return f"img.{hashlib.sha256(name.encode()).hexdigest()[:16]}@qc-batch"


def _local_image(src: str) -> str | None:
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


def render_html(md_text: str, title: str = "", intro: str = "") -> tuple[str, list[str]]:
    """Markdown -> an HTML document safe to mail, and the local images it shows.

    Raw HTML in the source is not passed through (it is shown as text, escaped);
    links keep only http/https/mailto targets; an image is kept only when it is
    a file next to the report, and its ``src`` becomes ``cid:`` (see :func:`_cid`).
    """
    import markdown
    from markdown.treeprocessors import Treeprocessor

    images: list[str] = []

    class Sanitize(Treeprocessor):
        def run(self, root):
            for el in root.iter():
                if el.tag == "img":
                    name = _local_image(el.get("src", ""))
                    alt, img_title = el.get("alt", ""), el.get("title")
                    el.attrib.clear()
                    if name is None:  # remote or odd source: show the alt text instead
                        el.tag, el.text = "span", alt
                        continue
                    if name not in images:
                        images.append(name)
                    el.set("src", f"cid:{_cid(name)}")
                    el.set("alt", alt)
                    el.set("style", "max-width:100%")
                    if img_title:
                        el.set("title", img_title)
                elif el.tag == "a":
                    href = el.get("href", "")
                    scheme = urlsplit(href).scheme.lower() if href else ""
                    if scheme not in LINK_SCHEMES and not href.startswith("#"):
                        el.attrib.pop("href", None)
            return None

    def convert(text: str) -> str:
        md = markdown.Markdown(extensions=["tables"], output_format="html")
        md.preprocessors.deregister("html_block")  # raw HTML blocks become escaped text
        md.inlinePatterns.deregister("html")  # and so do inline tags
        md.treeprocessors.register(Sanitize(md), "qc_sanitize", -10)  # after 'unescape' (0)
        return md.convert(text)

    body = convert(md_text)
    head = convert(intro) if intro else ""
    doc = ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
           f"<title>{html.escape(title)}</title>\n"
           "<style>body{font-family:'Microsoft YaHei','PingFang SC',sans-serif;line-height:1.6}"
           "table{border-collapse:collapse}th,td{border:1px solid #999;padding:4px 8px}</style>\n"
           f"</head>\n<body>\n{head}{body}\n</body>\n</html>\n")
    return doc, images


# --------------------------------------------------------------------------- building messages


@dataclass
class Prepared:
    """One unit's message, or why there is none (``problem``, Chinese)."""

    unit_id: str
    unit: str
    message: EmailMessage | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    report_sha256: str = ""
    problem: str = ""
    _raw: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.message is not None

    @property
    def recipients(self) -> list[str]:
        """Envelope recipients, To then Cc, without repeats."""
        return list(dict.fromkeys(a.addr_spec for a in (*self.to, *self.cc)))

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]) if self.message is not None else ""

    def as_bytes(self) -> bytes:
        """The message as sent and as written to the outbox (computed once)."""
        assert self.message is not None
        if self._raw is None:
            self._raw = self.message.as_bytes(policy=POLICY)
        return self._raw


def _recipients(u: Mapping[str, Any], cfg: MailConfig) -> tuple[tuple[Address, ...], str]:
    uid, name = str(u.get("id") or ""), _one_line(u.get("unit") or u.get("id") or "")
    for key in (uid, name):
        if key in cfg.address_book:
            entries, where = cfg.address_book[key], f"设置文件 address_book.{key} 中的地址"
            break
    else:
        email = (u.get("contact") or {}).get("email")
        if not email or not str(email).strip():
            return (), ("没有邮箱地址：工作簿未填写联系人邮箱，设置文件 address_book 中也没有该单位；"
                        "请在 address_book 中补充")
        entries, where = (str(email),), "工作簿中的联系人邮箱"
    out = []
    for entry in entries:
        address, problem = parse_address(entry, display_name=name)
        if address is None:
            return (), f"{where}“{entry}”{problem}；请在设置文件 address_book 中填写正确地址"
        out.append(address)
    return tuple(out), ""


def _message_id(sha: str, recipients: Iterable[str], subject: str, domain: str) -> str:
    """The same content to the same people gets the same Message-ID (see the module doc)."""
    h = hashlib.sha256("\n".join([sha, ",".join(recipients), subject]).encode()).hexdigest()[:32]
    return f"<qc-batch.{h}@{domain}>"


def _prepare(u: Mapping[str, Any], out: Path, cfg: MailConfig, when: dt.datetime) -> Prepared:
    uid = str(u.get("id") or "")
    unit = _one_line(u.get("unit") or uid)
    if not _safe_id(uid):
        return Prepared(uid, unit, problem=f"results.json 中的单位 id“{uid}”不能用作文件名；请重新运行 qc-batch run")
    reports = out / "reports"
    md_path, xlsx_path = reports / f"{uid}.md", out / "returned" / f"{uid}_审核.xlsx"
    missing = [p for p in (md_path, xlsx_path) if not p.is_file()]
    if missing:
        names = "、".join(str(p.relative_to(out)) for p in missing)
        return Prepared(uid, unit, problem=f"缺少报告文件 {names}；请先运行 qc-batch run")
    to, problem = _recipients(u, cfg)
    if problem:
        return Prepared(uid, unit, problem=problem)
    try:
        md_bytes, xlsx = md_path.read_bytes(), xlsx_path.read_bytes()
    except OSError as exc:
        return Prepared(uid, unit, problem=f"无法读取报告文件：{exc.strerror or exc}")
    try:
        md_text = md_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Prepared(uid, unit, problem=f"报告 {md_path.relative_to(out)} 不是 UTF-8 文本；请重新运行 qc-batch run")
    fields = {"year": u.get("year") or cfg.year, "unit": unit, "status": _one_line(u.get("status") or ""),
              "total": u.get("total", ""), "id": uid, "level": _one_line(u.get("level") or ""),
              "parent": _one_line(u.get("parent") or "")}
    subject = _one_line(cfg.subject.format_map(fields))
    intro = cfg.intro.format_map(fields).strip() if cfg.intro else ""
    page, image_names = render_html(md_text, subject, intro)
    images = []
    for name in image_names:
        path = reports / name
        if not path.is_file():
            where = path.relative_to(out)
            return Prepared(uid, unit, problem=f"缺少报告文件 {where}（报告中引用的图表）；请先运行 qc-batch run")
        try:
            images.append((name, path.read_bytes()))
        except OSError as exc:
            return Prepared(uid, unit, problem=f"无法读取 {path.relative_to(out)}：{exc.strerror or exc}")
    sha = report_sha256(md_bytes, images, xlsx)
    recipients = list(dict.fromkeys(a.addr_spec for a in (*to, *cfg.cc)))

    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject
    msg["From"] = cfg.sender
    msg["To"] = to
    if cfg.cc:
        msg["Cc"] = cfg.cc
    if cfg.reply_to is not None:
        msg["Reply-To"] = cfg.reply_to
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = _message_id(sha, recipients, subject, cfg.sender.domain)
    plain = f"{intro}\n\n{md_text}" if intro else md_text
    msg.set_content(plain, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(page, subtype="html", charset="utf-8", cte="base64")
    html_part = msg.get_payload()[1]
    for name, data in images:
        html_part.add_related(data, maintype="image", subtype=IMAGE_TYPES[PurePosixPath(name).suffix.lower()],
                              cid=f"<{_cid(name)}>", disposition="inline", filename=PurePosixPath(name).name)
    msg.add_attachment(md_bytes, maintype="text", subtype="markdown", filename=f"{uid}_审核报告.md",
                       params={"charset": "utf-8"})
    msg.add_attachment(xlsx, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=xlsx_path.name)
    return Prepared(uid, unit, msg, to, cfg.cc, sha)


def build_messages(output_dir: str | Path, settings: Settings | MailConfig,
                   now: dt.datetime | None = None) -> list[Prepared]:
    """One :class:`Prepared` per unit of ``results.json``, in its order (problems included)."""
    cfg = mail_config(settings)
    out = Path(output_dir)
    results = load_results(out)
    year = (results.get("settings") or {}).get("year")
    if cfg.year and year and year != cfg.year:
        raise MailSettingsError(f"设置文件的评价年度 {cfg.year} 与 {out / 'results.json'} 的年度 {year} 不一致；"
                                "请用 --settings 指定本次 qc-batch run 所用的设置文件")
    when = now or dt.datetime.now().astimezone()
    return [_prepare(u, out, cfg, when) for u in results["units"] if isinstance(u, Mapping)]


def unused_address_book(settings: Settings | MailConfig, prepared: Iterable[Prepared]) -> list[str]:
    """``address_book`` keys that name no unit (a typo would otherwise go unnoticed)."""
    names = set()
    for p in prepared:
        names.update((p.unit_id, p.unit))
    return [k for k in mail_config(settings).address_book if k not in names]


def write_outbox(output_dir: str | Path, prepared: Iterable[Prepared]) -> Path:
    """Write ``outbox/<id>.eml`` for each message; stale ``.eml`` of earlier runs are removed."""
    box = Path(output_dir) / OUTBOX
    box.mkdir(parents=True, exist_ok=True)
    keep = set()
    for p in prepared:
        if p.ok:
            atomic_write_bytes(box / f"{p.unit_id}.eml", p.as_bytes())
            keep.add(f"{p.unit_id}.eml")
    for old in box.glob("*.eml"):
        if old.name not in keep:
            old.unlink(missing_ok=True)
    return box


# --------------------------------------------------------------------------- the send log


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of ``mail_log.jsonl``; a torn last line (crash mid-write) is ignored."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_bytes().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("unit_id"):
            records.append(rec)
    return records


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold a lock file so that two ``--send`` runs on one folder cannot both send."""
    fh = open(path, "a+b")  # noqa: SIM115 - held for the duration of the context
    try:
        try:
            if os.name == "nt":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise MailBusyError(f"另一个 qc-batch mail --send 正在使用 {path.parent}；请等它结束后再运行") from None
        yield
    finally:
        fh.close()


class SendLog:
    """Append-only JSON lines; each record is on disk before the next message goes."""

    def __init__(self, path: Path):
        self.path = path
        self.fh = None

    def __enter__(self) -> SendLog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        self.fh = open(self.path, "ab")  # closed in __exit__
        if not new and self.path.stat().st_size:
            with open(self.path, "rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # a torn last line: start ours on a fresh one
                    self._write(b"\n")
        if new and os.name != "nt":
            with contextlib.suppress(OSError):
                fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        return self

    def _write(self, data: bytes) -> None:
        assert self.fh is not None
        self.fh.write(data)
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def append(self, record: Mapping[str, Any]) -> None:
        self._write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")

    def __exit__(self, *exc) -> None:
        if self.fh is not None:
            self.fh.close()


# --------------------------------------------------------------------------- deciding what to send


@dataclass
class Planned:
    prepared: Prepared
    action: str  # "send", "done" (already sent, skipped) or "problem"
    note: str  # Chinese, for the user
    forced: bool = False


def plan(prepared: Iterable[Prepared], records: Sequence[Mapping[str, Any]], resend: Iterable[str] = ()) -> list[Planned]:
    """What a send would do for each unit, from the send log."""
    forced = set(resend)
    by_unit: dict[str, list[Mapping[str, Any]]] = {}
    for rec in records:
        by_unit.setdefault(str(rec.get("unit_id")), []).append(rec)
    items = []
    for p in prepared:
        if not p.ok:
            items.append(Planned(p, "problem", p.problem))
            continue
        recs = by_unit.get(p.unit_id, [])
        sent = [r for r in recs if r.get("result") == "sent"]
        last = recs[-1] if recs else None
        if p.unit_id in forced or p.unit in forced:
            items.append(Planned(p, "send", "按 --resend 要求重新发送", forced=True))
        elif sent and sent[-1].get("report_sha256") == p.report_sha256:
            note = f"已于 {sent[-1].get('time', '')} 发送过，跳过"
            before = sent[-1].get("recipients") or []
            if sorted(before) != sorted(p.recipients):
                note += f"（当时的收件人为 {'、'.join(before)}；如需发往新地址，请用 --resend {p.unit_id}）"
            items.append(Planned(p, "done", note))
        elif sent:
            items.append(Planned(p, "send", "报告已更新，重新发送"))
        elif last is not None and last.get("result") == "unknown":
            items.append(Planned(p, "send", "上次发送时连接中断、无法确认是否送达，重新发送"))
        elif last is not None:
            items.append(Planned(p, "send", "上次发送失败，重新发送"))
        else:
            items.append(Planned(p, "send", "首次发送"))
    return items


# --------------------------------------------------------------------------- sending


@dataclass
class Outcome:
    result: str  # "sent", "failed" or "unknown" (connection lost after the whole message went)
    error: str = ""
    code: int | None = None
    dropped: bool = False  # the connection is gone
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> server reply


@dataclass
class SendReport:
    sent: list[Prepared] = field(default_factory=list)
    failed: list[tuple[Prepared, str]] = field(default_factory=list)
    done: list[Prepared] = field(default_factory=list)  # already sent before, skipped
    problems: list[Prepared] = field(default_factory=list)  # could not be prepared
    not_sent: list[Prepared] = field(default_factory=list)  # left when sending stopped
    stopped: str = ""  # why sending stopped early (Chinese)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.problems or self.not_sent or self.stopped)


class _Dropped(Exception):
    pass


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SMTPSession:
    """One SMTP connection; knows how far each message got when something breaks."""

    def __init__(self, cfg: MailConfig, password: str | None):
        self.cfg = cfg
        self._password = password or ""
        self.smtp: smtplib.SMTP | None = None

    def text(self, value: Any) -> str:
        """A server reply or error as text, with the password masked should it ever appear."""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        value = _one_line(value)
        return value.replace(self._password, "***") if self._password else value

    def connect(self) -> None:
        """Connect, secure and log in; raises ``ConnectionError`` with a Chinese message."""
        cfg = self.cfg
        where = f"{cfg.host}:{cfg.port}"
        context = ssl.create_default_context(cafile=cfg.ca_file or None)
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            smtp.ehlo()
            if cfg.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if cfg.user:
                smtp.login(cfg.user, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            self._discard(smtp)
            raise ConnectionError(f"邮件服务器 {where} 拒绝登录（{exc.smtp_code} {self.text(exc.smtp_error)}）；"
                                  f"请检查 smtp.user 和环境变量 {cfg.password_env} 中的密码") from None
        except smtplib.SMTPNotSupportedError as exc:
            self._discard(smtp)
            what = "STARTTLS" if "STARTTLS" in str(exc) else "登录（AUTH）"
            raise ConnectionError(f"邮件服务器 {where} 不支持{what}；请检查 smtp.security 和 smtp.user") from None
        except ssl.SSLError as exc:
            self._discard(smtp)
            raise ConnectionError(f"与邮件服务器 {where} 建立加密连接失败（{self.text(exc)}）；请检查 smtp.security、"
                                  "smtp.port，内部证书可用 smtp.ca_file 指定") from None
        except (smtplib.SMTPException, OSError) as exc:
            self._discard(smtp)
            raise ConnectionError(f"无法连接邮件服务器 {where}（{self.text(exc) or type(exc).__name__}）；"
                                  "请检查 smtp.host、smtp.port 和网络") from None
        self.smtp = smtp

    @staticmethod
    def _discard(smtp: smtplib.SMTP | None) -> None:
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.close()

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.quit()
            self._discard(self.smtp)
            self.smtp = None

    def _rset(self) -> None:
        """End a refused transaction; should the connection be gone, the next message reconnects."""
        try:
            assert self.smtp is not None
            self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._discard(self.smtp)
            self.smtp = None

    def _reply(self, code: int, resp: Any, stage: str) -> None:
        if code == 421:  # the server is closing the connection
            raise _Dropped(f"邮件服务器断开连接（{stage}：{code} {self.text(resp)}）")

    def transmit(self, p: Prepared) -> Outcome:
        """MAIL, RCPT, DATA for one message. Never raises for SMTP trouble; see :class:`Outcome`."""
        smtp = self.smtp
        if smtp is None:
            return Outcome("failed", "未连接邮件服务器", dropped=True)
        data = p.as_bytes()
        data = re.sub(rb"(?m)^\.", b"..", data)  # dot-stuffing (RFC 5321 4.5.2)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        whole_message_sent = False
        try:
            code, resp = smtp.mail(self.cfg.sender.addr_spec)
            self._reply(code, resp, "MAIL")
            if code != 250:
                self._rset()
                return Outcome("failed", f"发件人 {self.cfg.sender.addr_spec} 被拒绝（{code} {self.text(resp)}）", code)
            refused = {}
            for rcpt in p.recipients:
                code, resp = smtp.rcpt(rcpt)
                self._reply(code, resp, "RCPT")
                if code not in (250, 251):
                    refused[rcpt] = f"{code} {self.text(resp)}"
            to_refused = [a.addr_spec for a in p.to if a.addr_spec in refused]
            if to_refused or len(refused) == len(p.recipients):
                self._rset()
                first = to_refused[0] if to_refused else next(iter(refused))
                return Outcome("failed", f"收件人 {first} 被邮件服务器拒绝（{refused[first]}）",
                               int(refused[first].split()[0]), refused=refused)
            code, resp = smtp.docmd("DATA")
            self._reply(code, resp, "DATA")
            if code != 354:
                self._rset()
                return Outcome("failed", f"邮件服务器不接收邮件内容（{code} {self.text(resp)}）", code)
            smtp.send(data + b".\r\n")
            whole_message_sent = True
            code, resp = smtp.getreply()
            if code == 421:  # refused, and the server is going away
                raise _Dropped(f"邮件服务器拒收并断开连接（{code} {self.text(resp)}）")
            if code != 250:
                self._rset()
                return Outcome("failed", f"邮件服务器拒收（{code} {self.text(resp)}）", code)
            warn = "；".join(f"抄送 {a} 被拒绝（{r}）" for a, r in refused.items())
            return Outcome("sent", warn, code, refused=refused)
        except _Dropped as exc:
            self._discard(smtp)
            self.smtp = None
            return Outcome("failed", str(exc), dropped=True)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._discard(smtp)
            self.smtp = None
            if whole_message_sent:
                return Outcome("unknown", f"邮件已发出，但等待服务器确认时连接中断（{self.text(exc)}），无法确认是否送达",
                               dropped=True)
            return Outcome("failed", f"连接中断（{self.text(exc)}）", dropped=True)
        except smtplib.SMTPException as exc:
            self._discard(smtp)
            self.smtp = None
            return Outcome("unknown" if whole_message_sent else "failed", f"SMTP 错误（{self.text(exc)}）", dropped=True)


def _now() -> str:
    return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


def _record(p: Prepared, outcome: Outcome, forced: bool) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "time": _now(), "unit_id": p.unit_id, "unit": p.unit, "recipients": p.recipients,
        "report_sha256": p.report_sha256, "message_id": p.message_id, "result": outcome.result,
    }
    if outcome.code is not None:
        rec["smtp_code"] = outcome.code
    if outcome.error:
        rec["error"] = outcome.error
    if outcome.refused:
        rec["refused"] = outcome.refused
    if forced:
        rec["forced"] = True
    return rec


def send_all(prepared: Sequence[Prepared], settings: Settings | MailConfig, output_dir: str | Path, *,
             resend: Iterable[str] = (), password: str | None = None, echo: Callable[[str], Any] = print,
             sleep: Callable[[float], Any] = time.sleep, clock: Callable[[], float] = time.monotonic) -> SendReport:
    """Send what :func:`plan` says, logging every attempt; see the module doc.

    ``echo`` gets one Chinese line per event. A dropped connection is followed
    by one reconnect and a retry of that unit; when the reconnect fails or the
    retry drops again, sending stops and the rest is reported as not sent.
    """
    cfg = mail_config(settings)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = SendReport()
    with _exclusive(out / ".mail.lock"), SendLog(out / LOG_NAME) as log:
        items = plan(prepared, read_log(log.path), resend)
        for it in items:
            if it.action == "done":
                report.done.append(it.prepared)
            elif it.action == "problem":
                report.problems.append(it.prepared)
        todo = [it for it in items if it.action == "send"]
        if not todo:
            return report
        cfg.require_server()
        if cfg.user and cfg.security == "none" and not _is_loopback(cfg.host):
            echo("警告：smtp.security 为 none，登录密码将以明文在网络上传输；建议改用 ssl 或 starttls")
        session = SMTPSession(cfg, password)
        try:
            session.connect()
        except ConnectionError as exc:
            report.stopped = str(exc)
            report.not_sent = [it.prepared for it in todo]
            return report
        try:
            _send_loop(todo, session, log, report, cfg, echo, sleep, clock)
        finally:
            session.close()
    return report


def _send_loop(todo: list[Planned], session: SMTPSession, log: SendLog, report: SendReport, cfg: MailConfig,
               echo: Callable[[str], Any], sleep: Callable[[float], Any], clock: Callable[[], float]) -> None:
    last_sent: float | None = None
    drops = 0  # consecutive dropped connections
    i = 0
    while i < len(todo):
        it = todo[i]
        p = it.prepared
        if session.smtp is None:  # gone while ending the previous transaction
            try:
                session.connect()
            except ConnectionError as exc:
                report.stopped = f"连接中断后重新连接失败：{exc}"
                report.not_sent = [x.prepared for x in todo[i:]]
                return
        if cfg.interval and last_sent is not None:
            wait = cfg.interval - (clock() - last_sent)
            if wait > 0:
                sleep(wait)
        outcome = session.transmit(p)
        last_sent = clock()
        log.append(_record(p, outcome, it.forced))
        who = "、".join(p.recipients)
        if outcome.result == "sent":
            drops = 0
            report.sent.append(p)
            echo(f"已发送  {p.unit_id} → {who}（{it.note}）" + (f"；{outcome.error}" if outcome.error else ""))
            i += 1
            continue
        if not outcome.dropped:
            drops = 0
            report.failed.append((p, outcome.error))
            echo(f"发送失败  {p.unit_id} → {who}：{outcome.error}")
            i += 1
            continue
        drops += 1
        echo(f"连接中断  {p.unit_id}：{outcome.error}")
        if drops == 1:
            try:
                session.connect()
            except ConnectionError as exc:
                report.stopped = f"连接中断后重新连接失败：{exc}"
            else:
                echo(f"已重新连接邮件服务器，重试 {p.unit_id}")
                continue
        else:
            report.stopped = "重新连接后再次中断，停止发送"
        report.failed.append((p, outcome.error))
        report.not_sent = [x.prepared for x in todo[i + 1:]]
        return


# --------------------------------------------------------------------------- the command


def _echo(quiet: bool) -> Callable[[str], None]:
    def echo(line: str) -> None:
        if line.startswith(("发送失败", "连接中断", "警告")):
            click.echo(line, err=True)
        elif not quiet:
            click.echo(line)

    return echo


@click.command("mail")
@click.option("--output", "-o", "output_dir", default="output", show_default=True, type=click.Path(file_okay=False),
              help="qc-batch run 的结果文件夹。The output folder of qc-batch run.")
@click.option("--settings", "settings_file", default="input/settings.yaml", show_default=True,
              type=click.Path(dir_okay=False), help="年度设置文件（含 smtp、address_book、mail）。The settings file.")
@click.option("--send", is_flag=True,
              help="真正发送；不加时只在 <结果文件夹>/outbox/ 生成 .eml 供检查。Actually send.")
@click.option("--resend", multiple=True, metavar="UNIT_ID",
              help="即使已发送过也重新发送该单位（可多次使用）。Send this unit again.")
@click.option("--quiet", "-q", is_flag=True, help="只显示问题，不逐个列出。Only show problems.")
def mail(output_dir: str, settings_file: str, send: bool, resend: tuple[str, ...], quiet: bool) -> None:
    """把审核报告通过电子邮件发给各单位（每个单位只发一次）。Mail each unit its report, once.

    \b
    qc-batch mail          生成 outbox/*.eml 供检查，不发送
    qc-batch mail --send   发送尚未发送或报告已更新的单位
    """
    from qc_batch.cli import EXIT_IO, EXIT_MAIL, EXIT_SETTINGS, EXIT_USAGE, UserError
    from qc_batch.settings import SettingsError, load_settings

    echo = _echo(quiet)
    out = Path(output_dir)
    try:
        settings = load_settings(settings_file)
        cfg = mail_config(settings)
        if send:
            cfg.require_server()
        prepared = build_messages(out, cfg)
    except (SettingsError, MailSettingsError) as exc:
        raise UserError(str(exc), EXIT_SETTINGS) from None
    except MailInputError as exc:
        raise UserError(str(exc), EXIT_IO) from None

    known = {p.unit_id for p in prepared} | {p.unit for p in prepared}
    unknown = [r for r in resend if r not in known]
    if unknown:
        ids = "、".join(p.unit_id for p in prepared[:8]) + (" 等" if len(prepared) > 8 else "")
        raise UserError(f"--resend：results.json 中没有单位“{'、'.join(unknown)}”；单位 id 如：{ids}", EXIT_USAGE)

    password = None
    if send and cfg.user:
        password = os.environ.get(cfg.password_env)
        if not password:
            raise UserError(f"设置了 smtp.user（{cfg.user}），但环境变量 {cfg.password_env} 中没有密码；"
                            "请先设置该环境变量（密码不写在设置文件中）", EXIT_SETTINGS)

    try:
        box = write_outbox(out, prepared)
    except OSError as exc:
        raise UserError(f"无法写入 {out / OUTBOX}：{exc.strerror or exc}", EXIT_IO) from None
    ready = [p for p in prepared if p.ok]
    problems = [p for p in prepared if not p.ok]
    for key in unused_address_book(cfg, prepared):
        click.echo(f"警告：设置文件 address_book 中的“{key}”不对应 results.json 中的任何单位（请写单位 id 或单位名称）",
                   err=True)
    for p in problems:
        click.echo(f"跳过  {p.unit_id}：{p.problem}", err=True)

    if not send:
        items = plan(prepared, read_log(out / LOG_NAME), resend)
        for it in items:
            if it.action != "problem":
                echo(f"{it.prepared.unit_id} → {'、'.join(it.prepared.recipients)}：{it.note}")
        n_send = sum(it.action == "send" for it in items)
        n_done = sum(it.action == "done" for it in items)
        echo(f"已生成 {len(ready)} 封邮件：{box}/（可用邮件程序打开 .eml 检查）；{len(problems)} 个单位未能生成。")
        echo(f"检查无误后运行 qc-batch mail --send：将发送 {n_send} 封，已发送过的 {n_done} 封跳过。")
        return

    try:
        report = send_all(prepared, cfg, out, resend=resend, password=password, echo=echo)
    except MailBusyError as exc:
        raise UserError(str(exc), EXIT_IO) from None
    except MailSettingsError as exc:
        raise UserError(str(exc), EXIT_SETTINGS) from None
    except OSError as exc:
        raise UserError(f"无法写入发送日志 {out / LOG_NAME}：{exc.strerror or exc}", EXIT_IO) from None

    if report.done and not quiet:
        click.echo(f"已发送过、本次跳过 {len(report.done)} 个单位：{'、'.join(p.unit_id for p in report.done)}")
    if report.stopped:
        click.echo(f"已停止发送：{report.stopped}", err=True)
    if report.not_sent:
        click.echo(f"未发送 {len(report.not_sent)} 个单位：{'、'.join(p.unit_id for p in report.not_sent)}", err=True)
    if not quiet:
        click.echo(f"本次发送 {len(report.sent)} 封，失败 {len(report.failed)}，未发送 {len(report.not_sent)}，"
                   f"已发送过跳过 {len(report.done)}，未能生成 {len(report.problems)}。日志：{out / LOG_NAME}")
    if not report.ok:
        bad = len(report.failed) + len(report.not_sent) + len(report.problems)
        raise UserError(f"有 {bad} 个单位的邮件没有发出（见上）；处理后重新运行 qc-batch mail --send，"
                        "已发出的不会重复发送", EXIT_MAIL)


__all__ = [
    "LOG_NAME", "MailConfig", "MailInputError", "MailSettingsError", "Prepared", "SendReport", "build_messages",
    "mail", "mail_config", "parse_address", "plan", "read_log", "render_html", "report_sha256", "send_all",
    "unused_address_book", "write_outbox",
]
