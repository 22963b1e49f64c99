"""What a send would do for each unit, decided from the send log (exactly once)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qc_batch.mail.message import Prepared


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
