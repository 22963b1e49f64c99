"""One message per unit: recipients, subject, the two bodies, the chart and the attachments.

Attachments: the Word report ``reports/<id>.docx``, the PDF ``reports/<id>.pdf``
when the run made one, the audited workbook ``returned/<id>_审核.xlsx``, and the
Markdown ``reports/<id>.md`` only when ``mail.attach_markdown`` is true (or, for
the output of an older run, when there is no ``.docx``). Every attachment name
is written twice: RFC 2231 (``filename*``), which current mail programs read,
and a quoted RFC 2047 ``name=`` / ``filename=`` for older Outlook and Foxmail.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from qc_batch import paths
from qc_batch.mail.config import HasSections, MailConfig, MailSettingsError, mail_config, one_line, parse_address
from qc_batch.mail.render import IMAGE_TYPES, cid, render_html, render_text
from qc_batch.mail.results import load_results, report_sha256, safe_id
from qc_batch.outputs.staging import atomic_write_bytes

# CRLF line ends, RFC 2047 headers; the attachment headers written here are kept as written (not refolded:
# a long media type such as that of .docx does not fit in 78 columns, and refolding would break it)
POLICY = SMTP_POLICY.clone(refold_source="none")
OUTBOX = paths.OUTBOX_DIR
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
PDF_TYPE = ("application", "pdf")
MD_TYPE = ("text", "markdown")
SAMPLE_PROBLEM = "这是 qc-batch sample 生成的示例数据，不是真实报送，不发送"


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


@dataclass(frozen=True)
class UnitFiles:
    """Where a unit's files are in the output folder of ``qc-batch run``."""

    md: Path
    docx: Path
    pdf: Path
    returned: Path

    @classmethod
    def of(cls, out: Path, uid: str) -> UnitFiles:
        return cls(paths.under(out, paths.report(uid)), paths.under(out, paths.report_docx(uid)),
                   paths.under(out, paths.report_pdf(uid)), paths.under(out, paths.returned(uid)))


# -- attachment names ------------------------------------------------------------------


def _encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 encoded words of at most 56 characters each (whole characters per word)."""
    words, chunk = [], ""
    for ch in text:
        if chunk and len((chunk + ch).encode("utf-8")) > 30:
            words.append(chunk)
            chunk = ""
        chunk += ch
    words.append(chunk)
    return ["=?UTF-8?B?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?=" for w in words if w]


def _quoted_words(param: str, text: str) -> list[str]:
    words = _encoded_words(text)
    lines = [f' {param}="{words[0]}'] + [f" {w}" for w in words[1:]]
    lines[-1] += '"'
    return lines


def _rfc2231(param: str, text: str) -> list[str]:
    """``param*=utf-8''…``, split into ``param*0*``, ``param*1*``… when long; lines stay under 78."""
    pieces, cur = [], ""
    for ch in text:
        q = quote(ch, safe="")
        if cur and len(cur) + len(q) > 48:
            pieces.append(cur)
            cur = ""
        cur += q
    pieces.append(cur)
    if len(pieces) == 1:
        return [f" {param}*=utf-8''{pieces[0]}"]
    return [f" {param}*{k}*=" + ("utf-8''" if k == 0 else "") + seg for k, seg in enumerate(pieces)]


def attachment(data: bytes, mime: tuple[str, str], filename: str) -> EmailMessage:
    """An attachment part whose name every mail program reads (see the module doc).

    The headers are written out and parsed back, so the policy keeps them as
    written instead of folding them into one form.
    """
    filename = one_line(filename).replace('"', "")
    charset = [' charset="utf-8";'] if mime[0] == "text" else []
    head = [f"Content-Type: {mime[0]}/{mime[1]};", *charset, *_quoted_words("name", filename),
            "Content-Disposition: attachment;", *(line + ";" for line in _rfc2231("filename", filename)),
            *_quoted_words("filename", filename), "Content-Transfer-Encoding: base64"]
    body = base64.encodebytes(data).decode("ascii").replace("\n", "\r\n")
    part = email.message_from_bytes(("\r\n".join(head) + "\r\n\r\n" + body).encode("ascii"), policy=POLICY)
    assert isinstance(part, EmailMessage)
    return part


# -- one unit --------------------------------------------------------------------------


def _recipients(u: Mapping[str, Any], cfg: MailConfig) -> tuple[tuple[Address, ...], str]:
    uid, name = str(u.get("id") or ""), one_line(u.get("unit") or u.get("id") or "")
    for key in (uid, name):
        if key in cfg.address_book:
            entries, where = cfg.address_book[key], f"设置文件 address_book.{key} 中的地址"
            break
    else:
        email_addr = (u.get("contact") or {}).get("email")
        if not email_addr or not str(email_addr).strip():
            return (), ("没有邮箱地址：工作簿未填写联系人邮箱，设置文件 address_book 中也没有该单位；"
                        "请在 address_book 中补充")
        entries, where = (str(email_addr),), "工作簿中的联系人邮箱"
    out = []
    for entry in entries:
        address, problem = parse_address(entry, display_name=name)
        if address is None:
            return (), f"{where}“{one_line(entry)}”{problem}；请在设置文件 address_book 中填写正确地址"
        out.append(address)
    return tuple(out), ""


def _message_id(sha: str, recipients: Iterable[str], subject: str, domain: str) -> str:
    """The same content to the same people gets the same Message-ID (see ``smtp.py``)."""
    h = hashlib.sha256("\n".join([sha, ",".join(recipients), subject]).encode()).hexdigest()[:32]
    return f"<qc-batch.{h}@{domain}>"


def _read_optional(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _prepare(u: Mapping[str, Any], out: Path, cfg: MailConfig, when: dt.datetime) -> Prepared:
    uid = str(u.get("id") or "")
    unit = one_line(u.get("unit") or uid)
    if not safe_id(uid):
        return Prepared(one_line(uid), unit,
                        problem=f"results.json 中的单位 id“{one_line(uid)}”不能用作文件名；请重新运行 qc-batch run")
    files = UnitFiles.of(out, uid)
    missing = [p for p in (files.md, files.returned) if not p.is_file()]
    if missing:
        names = "、".join(str(p.relative_to(out)) for p in missing)
        return Prepared(uid, unit, problem=f"缺少报告文件 {names}；请先运行 qc-batch run")
    to, problem = _recipients(u, cfg)
    if problem:
        return Prepared(uid, unit, problem=problem)
    try:
        md_bytes, xlsx = files.md.read_bytes(), files.returned.read_bytes()
        docx, pdf = _read_optional(files.docx), _read_optional(files.pdf)
    except OSError as exc:
        return Prepared(uid, unit, problem=f"无法读取报告文件：{one_line(exc.strerror or exc)}")
    try:
        md_text = md_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Prepared(uid, unit, problem=f"报告 {files.md.relative_to(out)} 不是 UTF-8 文本；请重新运行 qc-batch run")
    fields = {"year": u.get("year") or cfg.year, "unit": unit, "status": one_line(u.get("status") or ""),
              "total": one_line(u.get("total", "")), "id": uid, "level": one_line(u.get("level") or ""),
              "parent": one_line(u.get("parent") or "")}
    subject = one_line(cfg.subject.format_map(fields))
    intro = cfg.intro.format_map(fields).strip() if cfg.intro else ""
    page, image_names = render_html(md_text, subject, intro)
    images = []
    for name in image_names:
        path = out / paths.REPORTS_DIR / name
        if not path.is_file():
            where = path.relative_to(out)
            return Prepared(uid, unit, problem=f"缺少报告文件 {where}（报告中引用的图表）；请先运行 qc-batch run")
        try:
            images.append((name, path.read_bytes()))
        except OSError as exc:
            return Prepared(uid, unit, problem=f"无法读取 {path.relative_to(out)}：{one_line(exc.strerror or exc)}")
    sha = report_sha256(md_bytes, images, xlsx, docx, pdf)
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
    msg.set_content(render_text(md_text, intro), subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(page, subtype="html", charset="utf-8", cte="base64")
    html_part = msg.get_payload()[1]
    for name, data in images:
        html_part.add_related(data, maintype="image", subtype=IMAGE_TYPES[PurePosixPath(name).suffix.lower()],
                              cid=f"<{cid(name)}>", disposition="inline", filename=PurePosixPath(name).name)
    msg.make_mixed()
    if docx is not None:
        msg.attach(attachment(docx, DOCX_TYPE, f"{uid}_审核报告.docx"))
    if pdf is not None:
        msg.attach(attachment(pdf, PDF_TYPE, f"{uid}_审核报告.pdf"))
    if cfg.attach_markdown or docx is None:
        msg.attach(attachment(md_bytes, MD_TYPE, f"{uid}_审核报告.md"))
    msg.attach(attachment(xlsx, XLSX_TYPE, files.returned.name))
    return Prepared(uid, unit, msg, to, cfg.cc, sha)


def build_messages(output_dir: str | Path, settings: HasSections | MailConfig,
                   now: dt.datetime | None = None) -> list[Prepared]:
    """One :class:`Prepared` per unit of ``results.json``, in its order (problems included).

    A unit scored from sample data (``files[].sample``) gets no message: sample reports go to nobody.
    """
    cfg = mail_config(settings)
    out = Path(output_dir)
    results = load_results(out)
    year = (results.get("settings") or {}).get("year")
    if cfg.year and year and year != cfg.year:
        raise MailSettingsError(f"设置文件的评价年度 {cfg.year} 与 {out / 'results.json'} 的年度 {year} 不一致；"
                                "请用 --settings 指定本次 qc-batch run 所用的设置文件")
    when = now or dt.datetime.now().astimezone()
    samples = {f.get("file") for f in results.get("files") or () if isinstance(f, Mapping) and f.get("sample")}
    return [_prepare(u, out, cfg, when) if u.get("file") not in samples else
            Prepared(one_line(u.get("id") or ""), one_line(u.get("unit") or ""), problem=SAMPLE_PROBLEM)
            for u in results["units"] if isinstance(u, Mapping)]


def unused_address_book(settings: HasSections | MailConfig, prepared: Iterable[Prepared]) -> list[str]:
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
