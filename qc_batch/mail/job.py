"""``qc-batch mail`` as a library call: prepare, preview or send, and report by events.

The command line only parses options and prints the events; every decision is
here. Failures a user can fix raise :class:`qc_batch.errors.UserError` with the
exit code the command ends with.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from qc_batch.errors import EXIT_IO, EXIT_MAIL, EXIT_SETTINGS, EXIT_USAGE, UserError
from qc_batch.mail.config import MailBusyError, MailConfig, MailInputError, MailSettingsError, mail_config
from qc_batch.mail.events import ERROR, INFO, WARNING, Event, Listener
from qc_batch.mail.message import OUTBOX, Prepared, build_messages, unused_address_book, write_outbox
from qc_batch.mail.plan import plan
from qc_batch.mail.results import load_results, recorded_settings
from qc_batch.mail.sendlog import LOG_NAME, read_log
from qc_batch.mail.smtp import send_all
from qc_batch.settings import SettingsError, load_settings


@dataclass(frozen=True)
class MailJob:
    output_dir: Path
    settings_file: Path | None = None  # None: the file results.json records
    send: bool = False
    resend: tuple[str, ...] = ()


def _config(job: MailJob, on_event: Listener) -> tuple[MailConfig, list[Prepared]]:
    out = job.output_dir
    try:
        path = job.settings_file
        if path is None:
            path = recorded_settings(out, load_results(out))
            on_event(Event(INFO, f"使用本次 qc-batch run 所用的设置文件：{path}"))
        cfg = mail_config(load_settings(path))
        if job.send:
            cfg.require_server()
        prepared = build_messages(out, cfg)
    except (SettingsError, MailSettingsError) as exc:
        raise UserError(str(exc), EXIT_SETTINGS) from None
    except MailInputError as exc:
        raise UserError(str(exc), EXIT_IO) from None
    return cfg, prepared


def _check_resend(resend: Iterable[str], prepared: list[Prepared]) -> None:
    known = {p.unit_id for p in prepared} | {p.unit for p in prepared}
    unknown = [r for r in resend if r not in known]
    if unknown:
        ids = "、".join(p.unit_id for p in prepared[:8]) + (" 等" if len(prepared) > 8 else "")
        raise UserError(f"--resend：results.json 中没有单位“{'、'.join(unknown)}”；单位 id 如：{ids}", EXIT_USAGE)


def _password(cfg: MailConfig, env: Mapping[str, str]) -> str | None:
    if not cfg.user:
        return None
    password = env.get(cfg.password_env)
    if not password:
        raise UserError(f"设置了 smtp.user（{cfg.user}），但环境变量 {cfg.password_env} 中没有密码；"
                        "请先设置该环境变量（密码不写在设置文件中）", EXIT_SETTINGS)
    return password


def run_mail(job: MailJob, on_event: Listener, env: Mapping[str, str] | None = None) -> None:
    """Write the outbox; with ``job.send`` also send what has not been sent. See ``docs/mail.md``."""
    out = job.output_dir
    cfg, prepared = _config(job, on_event)
    _check_resend(job.resend, prepared)
    password = _password(cfg, os.environ if env is None else env) if job.send else None
    try:
        box = write_outbox(out, prepared)
    except OSError as exc:
        raise UserError(f"无法写入 {out / OUTBOX}：{exc.strerror or exc}", EXIT_IO) from None
    ready = [p for p in prepared if p.ok]
    problems = [p for p in prepared if not p.ok]
    for key in unused_address_book(cfg, prepared):
        on_event(Event(WARNING, f"警告：设置文件 address_book 中的“{key}”不对应 results.json 中的任何单位"
                                "（请写单位 id 或单位名称）"))
    for p in problems:
        on_event(Event(WARNING, f"跳过  {p.unit_id}：{p.problem}"))

    if not job.send:
        items = plan(prepared, read_log(out / LOG_NAME), job.resend)
        for it in items:
            if it.action != "problem":
                on_event(Event(INFO, f"{it.prepared.unit_id} → {'、'.join(it.prepared.recipients)}：{it.note}"))
        n_send = sum(it.action == "send" for it in items)
        n_done = sum(it.action == "done" for it in items)
        on_event(Event(INFO, f"已生成 {len(ready)} 封邮件：{box}/（可用邮件程序打开 .eml 检查）；"
                             f"{len(problems)} 个单位未能生成。"))
        on_event(Event(INFO, f"检查无误后运行 qc-batch mail --send：将发送 {n_send} 封，已发送过的 {n_done} 封跳过。"))
        return

    try:
        report = send_all(prepared, cfg, out, resend=job.resend, password=password, on_event=on_event)
    except MailBusyError as exc:
        raise UserError(str(exc), EXIT_IO) from None
    except MailSettingsError as exc:
        raise UserError(str(exc), EXIT_SETTINGS) from None
    except OSError as exc:
        raise UserError(f"无法写入发送日志 {out / LOG_NAME}：{exc.strerror or exc}", EXIT_IO) from None

    if report.done:
        on_event(Event(INFO, f"已发送过、本次跳过 {len(report.done)} 个单位：{'、'.join(p.unit_id for p in report.done)}"))
    if report.stopped:
        on_event(Event(ERROR, f"已停止发送：{report.stopped}"))
    if report.not_sent:
        on_event(Event(ERROR, f"未发送 {len(report.not_sent)} 个单位：{'、'.join(p.unit_id for p in report.not_sent)}"))
    on_event(Event(INFO, f"本次发送 {len(report.sent)} 封，失败 {len(report.failed)}，未发送 {len(report.not_sent)}，"
                         f"已发送过跳过 {len(report.done)}，未能生成 {len(report.problems)}。日志：{out / LOG_NAME}"))
    if not report.ok:
        bad = len(report.failed) + len(report.not_sent) + len(report.problems)
        raise UserError(f"有 {bad} 个单位的邮件没有发出（见上）；处理后重新运行 qc-batch mail --send，"
                        "已发出的不会重复发送", EXIT_MAIL)
