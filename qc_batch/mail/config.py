"""The ``smtp``, ``address_book`` and ``mail`` sections of the settings, checked.

:func:`check_sections` runs when the settings file is loaded (``settings.py``
calls it), so a typo in a mail setting stops ``qc-batch run`` at once, naming
the key. :func:`mail_config` builds the :class:`MailConfig` that ``qc-batch
mail`` works with; it also requires ``smtp.sender``.

This module does not import ``qc_batch.settings`` (which imports it): a
settings object is anything with ``extra`` (the raw sections) and ``year``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path
from typing import Any, Protocol

DEFAULT_PASSWORD_ENV = "QC_SMTP_PASSWORD"
DEFAULT_SUBJECT = "{year}年度质量强市评价审核结果：{unit}（{status}）"
SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORT = {"ssl": 465, "starttls": 587, "none": 25}
SMTP_KEYS = ("host", "port", "security", "user", "sender", "reply_to", "rate_limit", "password_env", "timeout",
             "ca_file")
MAIL_KEYS = ("subject", "cc", "intro", "attach_markdown")
PLACEHOLDERS = ("year", "unit", "status", "total", "id", "level", "parent")
# ASCII control characters and the Unicode line and paragraph separators: never in a header or an echoed line
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class MailSettingsError(ValueError):
    """The smtp / address_book / mail settings cannot be used; Chinese, names the key."""


class MailInputError(ValueError):
    """The output folder of ``qc-batch run`` cannot be read; Chinese."""


class MailBusyError(RuntimeError):
    """Another ``qc-batch mail --send`` is running on the same output folder."""


class HasSections(Protocol):
    """What :func:`mail_config` needs of a settings object (``qc_batch.settings.Settings``)."""

    extra: Mapping[str, Any]
    year: int


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
    attach_markdown: bool = False
    address_book: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    year: int = 0

    @property
    def interval(self) -> float:
        """Seconds to leave between two messages (0 without a rate limit)."""
        return 60.0 / self.rate_limit if self.rate_limit else 0.0

    def require_server(self) -> None:
        if not self.host:
            raise MailSettingsError("设置文件中没有 smtp.host（邮件服务器地址）；发送前请填写，见 docs/mail.md")


def one_line(value: Any) -> str:
    """Text safe to put in a header or echo on one line: control characters and line breaks become spaces."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


def no_controls(value: Any) -> str:
    """Text with control characters and line breaks replaced by spaces (spacing otherwise kept)."""
    return _CONTROL.sub(" ", str(value))


def parse_address(text: Any, display_name: str = "") -> tuple[Address | None, str]:
    """``("名称 <a@b.cn>" or "a@b.cn")`` -> ``(Address, "")`` or ``(None, Chinese problem)``.

    Simple on purpose: one @, no spaces, ASCII only, a dot in the domain.
    """
    if not isinstance(text, str) or not text.strip():
        return None, "没有邮箱地址"
    raw = text.strip()
    if any(c in raw for c in "＠．。，；："):
        return None, "含全角符号（如＠、．），请改为半角"
    if _CONTROL.search(raw):
        return None, "含换行或控制字符"
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
        address = Address(display_name=one_line(name), addr_spec=addr)
    except (ValueError, IndexError, TypeError):
        return None, "格式不正确（应如 name@example.com）"
    if address.addr_spec != addr:
        return None, "格式不正确（应如 name@example.com）"
    return address, ""


def _address_setting(value: Any, key: str) -> Address:
    address, problem = parse_address(value)
    if address is None:
        raise MailSettingsError(f"设置文件 {key} 的邮箱地址“{one_line(value)}”{problem}")
    return address


def _address_list(value: Any, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise MailSettingsError(f"设置文件 {key} 应为一个邮箱地址，或邮箱地址的列表")
    return tuple(items)


def _check_template(template: Any, key: str) -> str:
    """Only the documented ``{field}`` names: no attributes, indexes, conversions or formats."""
    if not isinstance(template, str):
        raise MailSettingsError(f"设置文件 {key} 应为文字")
    usable = "、".join(f"{{{k}}}" for k in PLACEHOLDERS)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        raise MailSettingsError(f"设置文件 {key} 中的花括号用法有误；可用：{usable}"
                                "（要写花括号本身，请写成 {{ 或 }}）") from None
    for _text, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = one_line("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
                             + "}")
            raise MailSettingsError(f"设置文件 {key} 中的 {shown} 无法识别；只能使用：{usable}")
    return template


def _unknown(section: Mapping, allowed: Sequence[str], name: str) -> None:
    if "password" in section and name == "smtp":
        raise MailSettingsError("设置文件中不能写 smtp.password：密码只从环境变量读取，请删去这一项，"
                                f"改为设置环境变量 {section.get('password_env') or DEFAULT_PASSWORD_ENV}")
    bad = sorted(one_line(k) for k in section if k not in allowed)
    if bad:
        raise MailSettingsError(f"设置文件 {name} 中有无法识别的设置项：{'、'.join(f'{name}.{k}' for k in bad)}；"
                                f"可用的设置项为：{'、'.join(allowed)}")


def _positive(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise MailSettingsError(f"设置文件 {key} 应为正数，实际为“{one_line(value)}”")
    return float(value)


def _smtp(smtp: Any) -> dict[str, Any]:
    if not isinstance(smtp, Mapping):
        raise MailSettingsError("设置文件 smtp 应为“键: 值”形式的设置（host、port、sender 等），见 docs/mail.md")
    _unknown(smtp, SMTP_KEYS, "smtp")
    sender = _address_setting(smtp["sender"], "smtp.sender") if smtp.get("sender") else None
    reply_to = _address_setting(smtp["reply_to"], "smtp.reply_to") if smtp.get("reply_to") else None
    security = smtp.get("security", "starttls")
    if security not in SECURITY:
        raise MailSettingsError(f"设置文件 smtp.security 应为 ssl、starttls 或 none，实际为“{one_line(security)}”")
    host = smtp.get("host") or ""
    if not isinstance(host, str) or any(c.isspace() for c in host.strip()) or _CONTROL.search(host):
        raise MailSettingsError("设置文件 smtp.host（邮件服务器地址）应为主机名，如 smtp.example.gov.cn，"
                                f"实际为“{one_line(host)}”")
    port = smtp.get("port", DEFAULT_PORT[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise MailSettingsError(f"设置文件 smtp.port（端口）应为 1 到 65535 的整数，实际为“{one_line(port)}”")
    user = smtp.get("user") or ""
    if not isinstance(user, str | int) or isinstance(user, bool) or _CONTROL.search(str(user)):
        raise MailSettingsError("设置文件 smtp.user（登录用户名）应为一行文字")
    env = smtp.get("password_env") or DEFAULT_PASSWORD_ENV
    if not isinstance(env, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        raise MailSettingsError(f"设置文件 smtp.password_env 应为环境变量名（如 {DEFAULT_PASSWORD_ENV}），"
                                f"实际为“{one_line(env)}”")
    rate = smtp.get("rate_limit")
    rate = None if rate is None else _positive(rate, "smtp.rate_limit（每分钟最多发送的封数）")
    timeout = _positive(smtp.get("timeout", 30), "smtp.timeout（超时秒数）")
    ca_file = smtp.get("ca_file") or ""
    if ca_file and not Path(str(ca_file)).is_file():
        raise MailSettingsError(f"设置文件 smtp.ca_file 指定的证书文件不存在：{one_line(ca_file)}")
    return dict(sender=sender, reply_to=reply_to, host=host.strip(), port=port, security=security, user=str(user),
                password_env=env, rate_limit=rate, timeout=timeout, ca_file=str(ca_file))


def _book(book_in: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(book_in, Mapping):
        raise MailSettingsError("设置文件 address_book 应为“单位: 邮箱地址”的列表，如  长沙市: zlqs@example.com")
    return {str(k).strip(): _address_list(v, f"address_book.{one_line(k)}") for k, v in book_in.items()}


def _mail(section: Any) -> dict[str, Any]:
    if not isinstance(section, Mapping):
        raise MailSettingsError("设置文件 mail 应为“键: 值”形式的设置（subject、cc、intro、attach_markdown）")
    _unknown(section, MAIL_KEYS, "mail")
    subject = _check_template(section.get("subject", DEFAULT_SUBJECT), "mail.subject（邮件主题）")
    intro = _check_template(section.get("intro") or "", "mail.intro（正文开头的说明）")
    cc: tuple[Address, ...] = ()
    if section.get("cc"):
        cc = tuple(_address_setting(a, "mail.cc") for a in _address_list(section["cc"], "mail.cc"))
    attach_md = section.get("attach_markdown", False)
    if not isinstance(attach_md, bool):
        raise MailSettingsError(f"设置文件 mail.attach_markdown（是否附上 .md 报告原文）应为 true 或 false，"
                                f"实际为“{one_line(attach_md)}”")
    return dict(subject=subject, intro=intro, cc=cc, attach_markdown=attach_md)


def check_sections(extra: Mapping[str, Any]) -> None:
    """Check whichever of ``smtp``, ``address_book`` and ``mail`` are present (at settings load).

    ``smtp.sender`` is not required here: a run that mails nothing needs no sender.
    """
    if extra.get("smtp") is not None:
        _smtp(extra["smtp"])
    if extra.get("address_book") is not None:
        _book(extra["address_book"])
    if extra.get("mail") is not None:
        _mail(extra["mail"])


def mail_config(settings: HasSections | MailConfig) -> MailConfig:
    """Validate the ``smtp``, ``address_book`` and ``mail`` sections (``Settings.extra``) for mailing."""
    if isinstance(settings, MailConfig):
        return settings
    extra = settings.extra or {}
    smtp = extra.get("smtp")
    if smtp is None:
        raise MailSettingsError("设置文件中没有 smtp 部分；至少需要 smtp.sender（发件人地址），见 docs/mail.md")
    server = _smtp(smtp)
    if server["sender"] is None:
        raise MailSettingsError("设置文件中没有 smtp.sender（发件人地址，如 质量强省办 <zlqs@example.gov.cn>）")
    book = _book(extra.get("address_book") or {})
    content = _mail(extra.get("mail") or {})
    return MailConfig(**server, **content, address_book=book, year=settings.year)
