"""Sending over SMTP: one session that knows how far each message got, and the send loop.

Exactly once: every attempt is appended to the send log (``sendlog.py``)
before the next message goes. A unit whose latest ``sent`` record has the
report hash of today's files is not sent again (``plan.py``); a changed report
is; ``--resend`` forces. The Message-ID is derived from the content and the
recipients (``message.py``), so a message re-sent after an interrupted attempt
carries the same Message-ID and the receiving side can drop a duplicate.

The SMTP password comes only from an environment variable (``smtp.password_env``,
default ``QC_SMTP_PASSWORD``); it is never written, logged or printed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qc_batch.mail.config import HasSections, MailConfig, mail_config, one_line
from qc_batch.mail.events import ERROR, INFO, WARNING, Event, Listener, ignore
from qc_batch.mail.message import Prepared
from qc_batch.mail.plan import Planned, plan
from qc_batch.mail.sendlog import LOCK_NAME, LOG_NAME, SendLog, exclusive, read_log


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
        value = one_line(value)
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


def send_all(prepared: Sequence[Prepared], settings: HasSections | MailConfig, output_dir: str | Path, *,
             resend: Iterable[str] = (), password: str | None = None, on_event: Listener = ignore,
             sleep: Callable[[float], Any] = time.sleep, clock: Callable[[], float] = time.monotonic) -> SendReport:
    """Send what :func:`plan` says, logging every attempt; see the module doc.

    ``on_event`` gets an :class:`~qc_batch.mail.events.Event` for each message sent or failed.
    A dropped connection is followed by one reconnect and a retry of that unit; when the reconnect fails or the
    retry drops again, sending stops and the rest is reported as not sent.
    """
    cfg = mail_config(settings)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = SendReport()
    with exclusive(out / LOCK_NAME), SendLog(out / LOG_NAME) as log:
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
            on_event(Event(WARNING, "警告：smtp.security 为 none，登录密码将以明文在网络上传输；建议改用 ssl 或 starttls"))
        session = SMTPSession(cfg, password)
        try:
            session.connect()
        except ConnectionError as exc:
            report.stopped = str(exc)
            report.not_sent = [it.prepared for it in todo]
            return report
        try:
            _send_loop(todo, session, log, report, cfg, on_event, sleep, clock)
        finally:
            session.close()
    return report


def _send_loop(todo: list[Planned], session: SMTPSession, log: SendLog, report: SendReport, cfg: MailConfig,
               on_event: Listener, sleep: Callable[[float], Any], clock: Callable[[], float]) -> None:
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
            extra = f"；{outcome.error}" if outcome.error else ""
            on_event(Event(INFO, f"已发送  {p.unit_id} → {who}（{it.note}）{extra}"))
            i += 1
            continue
        if not outcome.dropped:
            drops = 0
            report.failed.append((p, outcome.error))
            on_event(Event(ERROR, f"发送失败  {p.unit_id} → {who}：{outcome.error}"))
            i += 1
            continue
        drops += 1
        on_event(Event(ERROR, f"连接中断  {p.unit_id}：{outcome.error}"))
        if drops == 1:
            try:
                session.connect()
            except ConnectionError as exc:
                report.stopped = f"连接中断后重新连接失败：{exc}"
            else:
                on_event(Event(INFO, f"已重新连接邮件服务器，重试 {p.unit_id}"))
                continue
        else:
            report.stopped = "重新连接后再次中断，停止发送"
        report.failed.append((p, outcome.error))
        report.not_sent = [x.prepared for x in todo[i + 1:]]
        return
