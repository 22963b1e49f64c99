"""``qc-batch mail`` against a real SMTP server on 127.0.0.1 (aiosmtpd), on a real ``qc-batch run`` output."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from collections import Counter
from email.header import decode_header, make_header
from pathlib import Path

import pytest
import xlsxwriter
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from qc_batch.cli import cli
from qc_batch.mail.config import mail_config, parse_address
from qc_batch.mail.message import build_messages
from qc_batch.mail.render import render_html, render_text
from qc_batch.mail.sendlog import LOG_NAME, read_log
from qc_batch.mail.smtp import send_all
from qc_batch.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "input"
# a valid 1x1 PNG
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
SENDER = "湖南省质量强省工作领导小组办公室 <zlqs@amr.example.cn>"
REPLY_TO = "审核组 <shenhe@amr.example.cn>"
PASSWORD = "S3cret-pw-7781-never-shown"


# --------------------------------------------------------------------------- fixtures: a real run's output


def _stand_in_report(out: Path, unit: dict) -> None:
    """Small stand-ins for the report files while ``qc-batch run`` does not write them yet."""
    uid = unit["id"]
    reports, returned = out / "reports", out / "returned"
    reports.mkdir(exist_ok=True)
    returned.mkdir(exist_ok=True)
    md = reports / f"{uid}.md"
    if not md.exists():
        md.write_text(f"# {unit['year']} 年度质量强市评价审核报告：{unit['unit']}\n\n"
                      f"评价结论：**{unit['status']}**，总分 {unit['total']} 分。\n\n"
                      "| 指标 | 得分 |\n|---|---|\n| 1.1 | 10 |\n\n"
                      f"![得分图]({uid}.png)\n", encoding="utf-8")
    if not (reports / f"{uid}.png").exists():
        (reports / f"{uid}.png").write_bytes(PNG)
    xlsx = returned / f"{uid}_审核.xlsx"
    if not xlsx.exists():
        wb = xlsxwriter.Workbook(str(xlsx))
        wb.add_worksheet("审核意见").write(0, 0, f"{unit['unit']} 审核意见（示例）")
        wb.close()


@pytest.fixture(scope="module")
def run_output(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("mailrun")
    shutil.copytree(SAMPLES, d / "input")
    proc = subprocess.run([sys.executable, "-m", "qc_batch", "run", "--input", str(d / "input"), "--output",
                           str(d / "output"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = d / "output"
    for unit in json.loads((out / "results.json").read_text(encoding="utf-8"))["units"]:
        _stand_in_report(out, unit)
    return out


# most tests work on these units only, to stay fast; test_send_delivers_every_unit_with_all_parts takes all
SOME = {"长沙市", "株洲市", "湘潭市", "岳阳市", "常德市", "娄底市", "凤凰县", "韶山市", "湘西土家族苗族自治州"}


def copy_output(run_output: Path, target: Path, keep: set[str] | None = None) -> Path:
    shutil.copytree(run_output, target, ignore=shutil.ignore_patterns("outbox", LOG_NAME, ".mail.lock"))
    data = json.loads((target / "results.json").read_text(encoding="utf-8"))
    for f in data["files"]:  # the sample workbooks stand in for real submissions here
        f["sample"] = False
    if keep is not None:
        data["units"] = [u for u in data["units"] if u["id"] in keep]
        assert len(data["units"]) == len(keep)
    (target / "results.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target


@pytest.fixture
def out(run_output, tmp_path) -> Path:
    return copy_output(run_output, tmp_path / "output", SOME)


@pytest.fixture
def full_out(run_output, tmp_path) -> Path:
    return copy_output(run_output, tmp_path / "output")


@pytest.fixture
def units(out) -> list[dict]:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))["units"]


def write_settings(tmp_path: Path, port: int = 25, smtp: dict | None = None, **sections) -> Path:
    data = yaml.safe_load((SAMPLES / "settings.yaml").read_text(encoding="utf-8"))
    data["smtp"] = {"host": "127.0.0.1", "port": port, "security": "none", "sender": SENDER, "reply_to": REPLY_TO,
                    "timeout": 5, **(smtp or {})}
    data.update(sections)
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def invoke(out: Path, settings: Path, *args: str, env: dict | None = None):
    runner = CliRunner()
    return runner.invoke(cli, ["mail", "--output", str(out), "--settings", str(settings), *args], env=env)


def resave(xlsx: Path) -> None:
    """The same workbook saved again later: new save time in docProps/core.xml, new zip timestamps."""
    with zipfile.ZipFile(xlsx) as zf:
        members = [(info.filename, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(xlsx, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2031-02-03T04:05:06Z", data)
            zf.writestr(zipfile.ZipInfo(name, date_time=(2031, 2, 3, 4, 5, 6)), data)


def log_of(out: Path) -> list[dict]:
    return read_log(out / LOG_NAME)


# --------------------------------------------------------------------------- fixtures: an SMTP server on loopback


class Recorder:
    """Stores what arrives; can refuse a recipient or drop the connection."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()
        self.abort_in_data_at: int | None = None  # drop after receiving the whole message number N (0-based), once
        self.drop_in_mail_from: int | None = None  # answer 421 and hang up at MAIL once N messages arrived
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.drop_in_mail_from is not None and len(self.messages) >= self.drop_in_mail_from:
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 Service shutting down"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.abort_in_data_at is not None and len(self.messages) == self.abort_in_data_at:
            self.abort_in_data_at = None
            server.transport.abort()  # the whole message came, no reply goes back
            return "250 OK"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"qc-sender" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    def parsed(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default) for _, _, raw in self.messages]

    def subjects(self) -> Counter:
        return Counter(str(m["Subject"]) for m in self.parsed())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    started = []

    def start(auth: bool = False) -> tuple[Recorder, int]:
        rec = Recorder()
        port = free_port()
        kwargs = {"authenticator": rec.authenticate, "auth_required": True, "auth_require_tls": False} if auth else {}
        ctl = Controller(rec, hostname="127.0.0.1", port=port, **kwargs)
        ctl.start()
        started.append(ctl)
        return rec, port

    yield start
    for ctl in started:
        ctl.stop()


# --------------------------------------------------------------------------- message helpers


def walk(msg) -> dict[str, list]:
    found: dict[str, list] = {}
    for part in msg.walk():
        found.setdefault(part.get_content_type(), []).append(part)
    return found


def rfc2047(raw: bytes, name: str) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    value = re.search(rf"^{name}: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.M).group(1)
    return str(make_header(decode_header(re.sub(r"\s*\r\n[ \t]+", " ", value).strip())))


def check_message(raw: bytes, unit: dict, to: str, out: Path) -> None:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    uid = unit["id"]
    assert str(msg["Subject"]) == f"{unit['year']}年度质量强市评价审核结果：{unit['unit']}（{unit['status']}）"
    assert msg["To"].addresses[0].addr_spec == to
    assert msg["To"].addresses[0].display_name == unit["unit"]
    # long display names are split into several encoded words; RFC 2047 joins them without a space
    # (email.headerregistry puts a space in between, so decode as RFC 2047 says)
    assert rfc2047(raw, "From") == "湖南省质量强省工作领导小组办公室 <zlqs@amr.example.cn>"
    assert msg["From"].addresses[0].addr_spec == "zlqs@amr.example.cn"
    assert msg["Reply-To"].addresses[0].addr_spec == "shenhe@amr.example.cn"
    assert str(msg["Message-ID"]).startswith("<") and str(msg["Message-ID"]).endswith("@amr.example.cn>")
    assert msg["Date"].datetime is not None
    assert msg.get_content_type() == "multipart/mixed"
    alt = msg.get_payload()[0]
    assert alt.get_content_type() == "multipart/alternative"
    plain, related = alt.get_payload()
    assert plain.get_content_type() == "text/plain"
    # the plain text is the report as readable text: no Markdown left (text in MIME canonical form: CRLF line ends)
    text = plain.get_content().replace("\r\n", "\n")
    md_text = (out / "reports" / f"{uid}.md").read_text(encoding="utf-8")
    assert text == render_text(md_text)
    assert unit["unit"] in text and "\\_" not in text and "**" not in text and "%E" not in text
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()[0], related.get_payload()[1]
    assert html_part.get_content_type() == "text/html"
    page = html_part.get_content()
    assert unit["unit"] in page and "<table>" in page
    assert image.get_content_type() == "image/png"
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in page
    assert f"{uid}.png" not in page.split("<body>")[1].replace(f"cid:{cid}", "")
    attachments = list(msg.iter_attachments())
    names = [a.get_filename() for a in attachments]
    docx = (out / "reports" / f"{uid}.docx").is_file()
    pdf = (out / "reports" / f"{uid}.pdf").is_file()
    expected = [f"{uid}_审核报告.docx"] * docx + [f"{uid}_审核报告.pdf"] * pdf + [f"{uid}_审核报告.md"] * (not docx)
    assert names == [*expected, f"{uid}_审核.xlsx"]
    types = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "pdf": "application/pdf", "md": "text/markdown",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    for a, name in zip(attachments, names, strict=True):
        assert a.get_content_type() == types[name.rsplit(".", 1)[1]]
        assert a.get_param("name") == name  # the plain name= of older mail programs, decoded
        assert a.get_content_disposition() == "attachment"
    assert attachments[-1].get_content().startswith(b"PK")


# --------------------------------------------------------------------------- preparing (no --send)


def test_prepare_writes_one_eml_per_unit_and_sends_nothing(out, units, tmp_path):
    settings = write_settings(tmp_path, port=free_port())  # nothing listens there
    result = invoke(out, settings)
    assert result.exit_code == 0, result.output
    emls = sorted(p.stem for p in (out / "outbox").glob("*.eml"))
    assert emls == sorted(u["id"] for u in units)
    assert not (out / LOG_NAME).exists()
    assert f"将发送 {len(units)} 封" in result.output

    raw = (out / "outbox" / "长沙市.eml").read_bytes()
    assert raw.isascii() and b"\r\n" in raw  # everything encoded (RFC 2047 / 2231 / base64), CRLF line ends
    unit = next(u for u in units if u["id"] == "长沙市")
    check_message(raw, unit, unit["contact"]["email"], out)
    assert rfc2047(raw, "Subject") == "2026年度质量强市评价审核结果：长沙市（合格）"
    assert b"filename*=utf-8''" in raw  # RFC 2231


def test_address_book_wins_and_bad_or_missing_addresses_are_skipped(out, units, tmp_path):
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    by_id = {u["id"]: u for u in data["units"]}
    by_id["岳阳市"]["contact"]["email"] = ""
    by_id["常德市"]["contact"]["email"] = "zlqs07＠example.com"
    by_id["娄底市"]["contact"]["email"] = "zlqs 13@example.com"
    (out / "results.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    settings = write_settings(tmp_path, address_book={"长沙市": "市局 <boss@changsha.example.org>",
                                                      "株洲市": ["a@zz.example.org", "b@zz.example.org"],
                                                      "湘潭市": "not-an-address", "长沙": "typo@example.org"})
    prepared = {p.unit_id: p for p in build_messages(out, load_settings(settings))}
    assert prepared["长沙市"].recipients == ["boss@changsha.example.org"]
    assert prepared["长沙市"].to[0].display_name == "市局"
    assert prepared["株洲市"].recipients == ["a@zz.example.org", "b@zz.example.org"]
    assert "没有邮箱地址" in prepared["岳阳市"].problem
    assert "全角" in prepared["常德市"].problem
    assert not prepared["娄底市"].ok and "空格" in prepared["娄底市"].problem
    assert not prepared["湘潭市"].ok and "address_book.湘潭市" in prepared["湘潭市"].problem
    assert sum(p.ok for p in prepared.values()) == len(units) - 4

    result = invoke(out, settings)
    assert result.exit_code == 0  # preparing is not sending: the problems are listed
    assert "跳过  岳阳市：没有邮箱地址" in result.stderr
    assert not (out / "outbox" / "岳阳市.eml").exists()
    assert "address_book 中的“长沙”不对应" in result.stderr


def test_missing_report_files_skip_that_unit_only(out, units, tmp_path, smtp_server):
    (out / "reports" / "长沙市.md").unlink()
    (out / "returned" / "株洲市_审核.xlsx").unlink()
    (out / "reports" / "湘潭市.png").unlink()
    rec, port = smtp_server()
    result = invoke(out, write_settings(tmp_path, port), "--send")
    assert result.exit_code == 5, result.output
    assert "跳过  长沙市：缺少报告文件 reports/长沙市.md" in result.stderr
    assert "跳过  株洲市：缺少报告文件 returned/株洲市_审核.xlsx" in result.stderr
    assert "跳过  湘潭市：缺少报告文件 reports/湘潭市.png" in result.stderr
    assert len(rec.messages) == len(units) - 3


def test_unit_text_is_escaped_in_html(out, tmp_path):
    md = out / "reports" / "长沙市.md"
    md.write_text(md.read_text(encoding="utf-8") + "\n单位填写：<script>alert('x')</script> & <b>粗</b>\n\n"
                  "<div onclick=\"steal()\">块</div>\n\n[点我](javascript:alert(1)) ![远程](http://tracker.example/p.png)\n",
                  encoding="utf-8")
    prepared = {p.unit_id: p for p in build_messages(out, load_settings(write_settings(tmp_path)))}
    msg = email.message_from_bytes(prepared["长沙市"].as_bytes(), policy=email.policy.default)
    page = msg.get_body(("html",)).get_content()
    body = page.split("<body>")[1]
    assert "<script" not in body and "&lt;script&gt;" in body
    assert "<b>" not in body and "&lt;b&gt;粗&lt;/b&gt;" in body
    assert "<div" not in body and "onclick" not in body.replace("&lt;div onclick", "")
    assert "javascript:" not in body and "tracker.example" not in body
    assert msg.get_body(("plain",)).get_content().count("<script>") == 1  # the text part is the Markdown as is


def test_render_html_keeps_only_local_images():
    page, images = render_html("![a](图表.png) ![b](../etc/x.png) ![c](data:image/png;base64,AAAA) [ok](https://a.cn)")
    assert images == ["图表.png"]
    assert 'href="https://a.cn"' in page and "../etc" not in page and "data:" not in page


@pytest.mark.parametrize("text, ok", [
    ("a@b.cn", True), ("张三 <a@b.cn>", True), ("a@b", False), ("a@@b.cn", False), ("a b@c.cn", False),
    ("a@b.cn;c@d.cn", False), ("张三@例子.中国", False), ("a＠b.cn", False), ("", False), (None, False),
])
def test_parse_address(text, ok):
    address, problem = parse_address(text)
    assert (address is not None) == ok and bool(problem) != ok


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize("smtp, key", [
    ({"password": "hunter2-in-the-file"}, "smtp.password"),
    ({"security": "tls"}, "smtp.security"),
    ({"port": "abc"}, "smtp.port"),
    ({"sender": "no address"}, "smtp.sender"),
    ({"rate_limit": -1}, "smtp.rate_limit"),
    ({"password_env": "has space"}, "smtp.password_env"),
    ({"hots": "x"}, "smtp.hots"),
])
def test_bad_smtp_settings_name_the_key(out, tmp_path, smtp, key):
    result = invoke(out, write_settings(tmp_path, smtp=smtp))
    assert result.exit_code == 3
    assert key in result.stderr and "错误：" in result.stderr
    assert "hunter2" not in result.output


def test_bad_mail_section_and_missing_smtp(out, tmp_path):
    result = invoke(out, write_settings(tmp_path, mail={"subject": "{年度}结果"}))
    assert result.exit_code == 3 and "mail.subject" in result.stderr
    result = invoke(out, write_settings(tmp_path, address_book=["长沙市"]))
    assert result.exit_code == 3 and "address_book" in result.stderr
    path = tmp_path / "plain.yaml"
    text = (SAMPLES / "settings.yaml").read_text(encoding="utf-8")
    path.write_text(text.split("\nsmtp:")[0] + "\n", encoding="utf-8")  # the sample settings without smtp
    result = invoke(out, path)
    assert result.exit_code == 3 and "smtp.sender" in result.stderr


def test_missing_results_is_an_io_error(tmp_path):
    result = invoke(tmp_path / "nothing", write_settings(tmp_path))
    assert result.exit_code == 4 and "qc-batch run" in result.stderr


def test_subject_cc_and_intro_from_the_mail_section(out, tmp_path):
    settings = write_settings(tmp_path, mail={"subject": "【{year}】{unit}：{status}，{total} 分",
                                              "cc": ["archive@amr.example.cn"],
                                              "intro": "{unit}：\n\n现将审核结果发给你们。"})
    prepared = {p.unit_id: p for p in build_messages(out, load_settings(settings))}
    p = prepared["长沙市"]
    assert str(p.message["Subject"]) == "【2026】长沙市：合格，995 分"
    assert p.recipients[-1] == "archive@amr.example.cn"
    assert p.message.get_body(("plain",)).get_content().startswith("长沙市：\r\n\r\n现将审核结果发给你们。")


@pytest.mark.parametrize("subject", ["{unit.__class__}", "{unit!r}", "{total:>{year}}", "{unit[0]}", "{0}"])
def test_subject_uses_only_the_documented_fields(out, tmp_path, subject):
    result = invoke(out, write_settings(tmp_path, mail={"subject": subject}))
    assert result.exit_code == 3, result.output
    assert "mail.subject" in result.stderr and "只能使用：{year}" in result.stderr
    assert "Traceback" not in result.output and "class" not in result.stdout


@pytest.mark.parametrize("smtp, key", [({"port": 99999}, "smtp.port"), ({"hots": "x"}, "smtp.hots")])
def test_a_mail_typo_stops_qc_batch_run_at_once(tmp_path, smtp, key):
    settings = write_settings(tmp_path, smtp=smtp)
    proc = subprocess.run([sys.executable, "-m", "qc_batch", "run", "--input", str(SAMPLES), "--settings",
                           str(settings), "--output", str(tmp_path / "o")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3 and key in proc.stderr and str(settings) in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


def test_mail_uses_the_settings_file_the_run_recorded(out, tmp_path, monkeypatch):
    settings = write_settings(tmp_path, mail={"subject": "记录的设置：{unit}"})
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    data["settings"]["source"] = str(settings)
    (out / "results.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no input/settings.yaml here
    result = CliRunner().invoke(cli, ["mail", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert f"使用本次 qc-batch run 所用的设置文件：{settings}" in result.stdout
    msg = email.message_from_bytes((out / "outbox" / "长沙市.eml").read_bytes(), policy=email.policy.default)
    assert str(msg["Subject"]) == "记录的设置：长沙市"
    data["settings"]["source"] = str(tmp_path / "moved.yaml")
    (out / "results.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["mail", "--output", str(out)])
    assert result.exit_code == 4 and "moved.yaml" in result.stderr and "--settings" in result.stderr
    assert "qc-batch sample" not in result.output


def test_word_and_pdf_reports_are_attached_with_names_old_clients_read(out, units, tmp_path):
    reports = out / "reports"
    (reports / "长沙市.docx").write_bytes(b"PK\x03\x04 docx of changsha")
    (reports / "长沙市.pdf").write_bytes(b"%PDF-1.7 changsha /CreationDate (D:20260101) /DocChecksum /11AA22 %%EOF")
    (reports / "湘西土家族苗族自治州.docx").write_bytes(b"PK\x03\x04 docx of xiangxi")
    (reports / "湘西土家族苗族自治州.pdf").unlink(missing_ok=True)
    (reports / "株洲市.docx").unlink(missing_ok=True)  # the output of an older run: no Word report
    (reports / "株洲市.pdf").unlink(missing_ok=True)
    prepared = {p.unit_id: p for p in build_messages(out, load_settings(write_settings(tmp_path)))}
    for uid, names in (("长沙市", ["长沙市_审核报告.docx", "长沙市_审核报告.pdf", "长沙市_审核.xlsx"]),
                       ("湘西土家族苗族自治州", ["湘西土家族苗族自治州_审核报告.docx", "湘西土家族苗族自治州_审核.xlsx"]),
                       ("株洲市", ["株洲市_审核报告.md", "株洲市_审核.xlsx"])):  # no .docx: the .md goes instead
        raw = prepared[uid].as_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        atts = list(msg.iter_attachments())
        assert [a.get_filename() for a in atts] == names
        assert [a.get_param("name") for a in atts] == names
        first = atts[0].get_content()
        first = first.encode("utf-8") if isinstance(first, str) else first
        assert first == (reports / f"{uid}.{names[0].rsplit('.', 1)[1]}").read_bytes()
        head = raw.decode("ascii")
        # each name twice: RFC 2231 for current clients, a quoted RFC 2047 name= for older Outlook and Foxmail
        assert head.count("Content-Disposition: attachment;\r\n filename*") == len(names)
        assert head.count(' name="=?UTF-8?B?') == len(names) and head.count(' filename="=?UTF-8?B?') == len(names)
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    # the PDF's conversion time does not count as a change of the report
    before = prepared["长沙市"].report_sha256
    (reports / "长沙市.pdf").write_bytes(b"%PDF-1.7 changsha /CreationDate (D:20270505) /DocChecksum /84B2AC %%EOF")
    again = {p.unit_id: p for p in build_messages(out, load_settings(write_settings(tmp_path)))}
    assert again["长沙市"].report_sha256 == before
    (reports / "长沙市.docx").write_bytes(b"PK\x03\x04 docx of changsha, corrected")
    again = {p.unit_id: p for p in build_messages(out, load_settings(write_settings(tmp_path)))}
    assert again["长沙市"].report_sha256 != before
    # the Markdown goes too when the settings ask for it
    asked = load_settings(write_settings(tmp_path, mail={"attach_markdown": True}))
    changsha = next(p for p in build_messages(out, asked) if p.unit_id == "长沙市")
    msg = email.message_from_bytes(changsha.as_bytes(), policy=email.policy.default)
    assert [a.get_filename() for a in msg.iter_attachments()][-2:] == ["长沙市_审核报告.md", "长沙市_审核.xlsx"]
    result = invoke(out, write_settings(tmp_path, mail={"attach_markdown": "yes"}))
    assert result.exit_code == 3 and "mail.attach_markdown" in result.stderr


def test_sample_data_is_never_mailed(run_output, tmp_path):
    out = shutil.copytree(run_output, tmp_path / "output", ignore=shutil.ignore_patterns("outbox", LOG_NAME))
    files = json.loads((out / "results.json").read_text(encoding="utf-8"))["files"]
    assert all(f["sample"] for f in files if f["status"] != "settings")  # a run of qc-batch sample's workbooks
    result = invoke(out, write_settings(tmp_path))
    assert result.exit_code == 0
    assert "跳过  长沙市：这是 qc-batch sample 生成的示例数据，不是真实报送，不发送" in result.stderr
    assert "已生成 0 封邮件" in result.stdout and not list((out / "outbox").glob("*.eml"))


def test_plain_text_body_reads_as_text():
    md_text = (ROOT / "tests" / "golden" / "永州市.md").read_text(encoding="utf-8")
    text = render_text(md_text)
    assert "\\" not in text and "**" not in text and "%E" not in text and "![" not in text and "|" not in text
    assert "示例数据_永州市_2026.xlsx" in text and "［图：各类别得分率与同级平均］" in text
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("类别"))
    table = lines[head:head + 13]
    assert table[1].startswith("-----") and set(table[1]) == {"-", " "}
    # right-aligned numbers end in the same display column (CJK characters are two columns wide)
    from qc_batch.columns import width
    assert len({width(row) for row in table}) == 1
    # the first group's row holds the Markdown table's cells, as plain text
    md_row = next(line for line in md_text.splitlines() if line.startswith("| 1 质量发展战略规划"))
    assert table[2].split() == " ".join(md_row.strip("| ").split(" | ")).split()
    assert table[2].split()[:2] == ["1", "质量发展战略规划"]
    assert render_text("A &amp; B &lt;b&gt; \\_x\\_ [链接](https://a.cn)") == "A & B <b> _x_ 链接（https://a.cn）\n"


def test_control_characters_never_reach_headers_or_lines(out, tmp_path):
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    data["units"][0]["unit"] = "长沙市\r\nBcc: evil@example.org\x07"
    data["units"][0]["status"] = "合格\n"
    (out / "results.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    p = build_messages(out, load_settings(write_settings(tmp_path)))[0]
    raw = p.as_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Bcc"] is None and "\x07" not in str(msg["Subject"])
    assert str(msg["Subject"]) == "2026年度质量强市评价审核结果：长沙市 Bcc: evil@example.org（合格）"
    from qc_batch.mail.events import INFO, Event
    assert Event(INFO, "跳过  a\r\nb\x1b[31m").text == "跳过  a b [31m"


# --------------------------------------------------------------------------- sending


def test_send_delivers_every_unit_with_all_parts(full_out, tmp_path, smtp_server):
    out = full_out
    units = json.loads((out / "results.json").read_text(encoding="utf-8"))["units"]
    assert len(units) == 26
    rec, port = smtp_server()
    result = invoke(out, write_settings(tmp_path, port), "--send")
    assert result.exit_code == 0, result.output
    assert len(rec.messages) == len(units)
    by_to = {rcpts[0]: (frm, rcpts, raw) for frm, rcpts, raw in rec.messages}
    for unit in units:
        frm, rcpts, raw = by_to[unit["contact"]["email"]]
        assert frm == "zlqs@amr.example.cn" and rcpts == [unit["contact"]["email"]]
        check_message(raw, unit, unit["contact"]["email"], out)
    log = log_of(out)
    assert [r["result"] for r in log] == ["sent"] * len(units)
    assert {r["unit_id"] for r in log} == {u["id"] for u in units}
    first = log[0]
    assert set(first) >= {"time", "unit_id", "recipients", "report_sha256", "message_id", "result"}
    assert len(first["report_sha256"]) == 64
    sent_ids = {str(m["Message-ID"]) for m in rec.parsed()}
    assert sent_ids == {r["message_id"] for r in log}
    assert "本次发送 26 封" in result.output


def test_second_run_sends_nothing_changed_report_is_resent_and_resend_forces(out, units, tmp_path, smtp_server):
    rec, port = smtp_server()
    settings = write_settings(tmp_path, port)
    assert invoke(out, settings, "--send").exit_code == 0
    assert len(rec.messages) == len(units)

    again = invoke(out, settings, "--send")
    assert again.exit_code == 0, again.output
    assert len(rec.messages) == len(units)
    assert f"已发送过、本次跳过 {len(units)} 个单位" in again.output

    # a rerun of qc-batch run rewrites the workbooks (new save time) but says the same: nothing goes
    resave(out / "returned" / "株洲市_审核.xlsx")
    md = out / "reports" / "长沙市.md"
    md.write_text(md.read_text(encoding="utf-8") + "\n补充说明：已更正 2.4 的得分。\n", encoding="utf-8")
    preview = invoke(out, settings)
    assert "长沙市 → zlqs01@example.com：报告已更新，重新发送" in preview.output
    changed = invoke(out, settings, "--send")
    assert changed.exit_code == 0, changed.output
    assert "报告已更新，重新发送" in changed.output
    assert len(rec.messages) == len(units) + 1
    assert rec.parsed()[-1]["Subject"].endswith("长沙市（合格）")

    forced = invoke(out, settings, "--send", "--resend", "株洲市")
    assert forced.exit_code == 0, forced.output
    assert len(rec.messages) == len(units) + 2
    assert "按 --resend 要求重新发送" in forced.output
    assert log_of(out)[-1]["unit_id"] == "株洲市" and log_of(out)[-1]["forced"] is True

    bad = invoke(out, settings, "--send", "--resend", "不存在市")
    assert bad.exit_code == 2 and "不存在市" in bad.stderr
    assert len(rec.messages) == len(units) + 2


def test_refused_recipient_fails_that_unit_only(out, units, tmp_path, smtp_server):
    rec, port = smtp_server()
    rec.refuse.add("zlqs02@example.com")  # 株洲市
    settings = write_settings(tmp_path, port)
    result = invoke(out, settings, "--send")
    assert result.exit_code == 5
    assert "发送失败  株洲市" in result.stderr and "550" in result.stderr
    assert len(rec.messages) == len(units) - 1
    log = log_of(out)
    assert Counter(r["result"] for r in log) == {"sent": len(units) - 1, "failed": 1}
    failed = next(r for r in log if r["result"] == "failed")
    assert failed["unit_id"] == "株洲市" and failed["smtp_code"] == 550

    rec.refuse.clear()
    retry = invoke(out, settings, "--send")
    assert retry.exit_code == 0, retry.output
    assert "株洲市 → zlqs02@example.com（上次发送失败，重新发送）" in retry.output
    assert len(rec.messages) == len(units)
    assert [r["unit_id"] for r in log_of(out)[len(log):]] == ["株洲市"]


def test_dropped_connection_is_reconnected_once(out, units, tmp_path, smtp_server):
    rec, port = smtp_server()
    rec.abort_in_data_at = 5  # the 6th message arrives whole but the server hangs up before answering
    result = invoke(out, write_settings(tmp_path, port), "--send")
    assert result.exit_code == 0, result.output
    assert "连接中断" in result.stderr and "已重新连接" in result.output
    assert sorted(rec.subjects().values()) == [1] * len(units)  # each unit exactly once
    log = log_of(out)
    assert Counter(r["result"] for r in log) == {"sent": len(units), "unknown": 1}
    unknown = next(r for r in log if r["result"] == "unknown")
    resent = [r for r in log if r["unit_id"] == unknown["unit_id"]]
    assert resent[-1]["result"] == "sent" and resent[-1]["message_id"] == unknown["message_id"]


def test_server_going_away_stops_and_a_rerun_sends_only_the_rest(out, units, tmp_path, smtp_server):
    rec, port = smtp_server()
    rec.drop_in_mail_from = 7  # from the 8th message on, every MAIL gets 421 and a hang-up
    settings = write_settings(tmp_path, port)
    result = invoke(out, settings, "--send")
    assert result.exit_code == 5
    assert "已停止发送" in result.stderr and f"未发送 {len(units) - 8} 个单位" in result.stderr
    assert len(rec.messages) == 7
    log = log_of(out)
    assert Counter(r["result"] for r in log) == {"sent": 7, "failed": 2}  # the 8th: first try and the retry
    first_run = set(rec.subjects())

    rec.drop_in_mail_from = None
    rerun = invoke(out, settings, "--send")
    assert rerun.exit_code == 0, rerun.output
    assert "已发送过、本次跳过 7 个单位" in rerun.output
    assert len(rec.messages) == len(units)
    assert sorted(rec.subjects().values()) == [1] * len(units)
    assert first_run < set(rec.subjects())
    assert len(log_of(out)) == 9 + len(units) - 7  # nothing already sent was lost or redone


def test_cannot_connect_reports_every_unit_not_sent(out, units, tmp_path):
    result = invoke(out, write_settings(tmp_path, free_port()), "--send")
    assert result.exit_code == 5
    assert "无法连接邮件服务器 127.0.0.1" in result.stderr and f"未发送 {len(units)} 个单位" in result.stderr
    assert log_of(out) == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_password_comes_from_the_env_var_only_and_is_never_shown(out, units, tmp_path, smtp_server, monkeypatch):
    monkeypatch.delenv("QC_SMTP_PASSWORD", raising=False)
    rec, port = smtp_server(auth=True)
    settings = write_settings(tmp_path, port, smtp={"user": "qc-sender", "password_env": "QC_TEST_SMTP_PW"})

    missing = invoke(out, settings, "--send", env={"QC_TEST_SMTP_PW": None})
    assert missing.exit_code == 3 and "QC_TEST_SMTP_PW" in missing.stderr
    assert rec.logins == [] and rec.messages == []

    wrong = invoke(out, settings, "--send", env={"QC_TEST_SMTP_PW": PASSWORD + "-wrong"})
    assert wrong.exit_code == 5 and "拒绝登录" in wrong.stderr and "QC_TEST_SMTP_PW" in wrong.stderr
    assert PASSWORD not in wrong.output and rec.messages == []

    result = invoke(out, settings, "--send", env={"QC_TEST_SMTP_PW": PASSWORD})
    assert result.exit_code == 0, result.output
    assert rec.logins[-1] == (b"qc-sender", PASSWORD.encode())
    assert len(rec.messages) == len(units)
    for text in (missing.output, wrong.output, result.output, (out / LOG_NAME).read_text(encoding="utf-8"),
                 (tmp_path / "settings.yaml").read_text(encoding="utf-8")):
        assert PASSWORD not in text
    for eml in (out / "outbox").glob("*.eml"):
        assert PASSWORD.encode() not in eml.read_bytes()
    assert all(PASSWORD.encode() not in raw for _, _, raw in rec.messages)


def test_rate_limit_sleeps_between_messages(out, units, tmp_path, smtp_server):
    rec, port = smtp_server()
    settings = load_settings(write_settings(tmp_path, port, smtp={"rate_limit": 120}))
    cfg = mail_config(settings)
    assert cfg.interval == 0.5
    prepared = build_messages(out, cfg)[:3]
    naps: list[float] = []
    ticks = iter(range(1000))
    report = send_all(prepared, cfg, out, on_event=lambda event: None, sleep=naps.append, clock=lambda: next(ticks) * 0.1)
    assert len(report.sent) == 3 and len(rec.messages) == 3
    assert len(naps) == 2 and all(0 < n <= 0.5 for n in naps)


def test_torn_last_log_line_is_ignored_and_repaired(out, units, tmp_path, smtp_server):
    _rec, port = smtp_server()
    settings = write_settings(tmp_path, port)
    assert invoke(out, settings, "--send").exit_code == 0
    with open(out / LOG_NAME, "ab") as fh:
        fh.write(b'{"unit_id": "\xe9\x95\xbf\xe6\xb2\x99\xe5\xb8\x82", "resu')  # a crash mid-write
    md = out / "reports" / "长沙市.md"
    md.write_text(md.read_text(encoding="utf-8") + "\n更正。\n", encoding="utf-8")
    assert invoke(out, settings, "--send").exit_code == 0
    lines = (out / LOG_NAME).read_bytes().splitlines()
    assert json.loads(lines[-1])["unit_id"] == "长沙市"
    assert len(log_of(out)) == len(units) + 1


def test_the_settings_example_in_the_docs_is_valid(out, tmp_path):
    text = (ROOT / "docs" / "mail.md").read_text(encoding="utf-8")
    example = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    settings = write_settings(tmp_path, smtp=example["smtp"], address_book=example["address_book"], mail=example["mail"])
    cfg = mail_config(load_settings(settings))
    assert cfg.security == "ssl" and cfg.port == 465 and cfg.rate_limit == 20 and cfg.interval == 3
    assert cfg.sender.display_name == "湖南省质量强省工作领导小组办公室"
    prepared = {p.unit_id: p for p in build_messages(out, cfg)}
    assert prepared["株洲市"].recipients == ["zlk@zhuzhou.example.gov.cn", "zlqs@zhuzhou.example.gov.cn",
                                             "archive@example.gov.cn"]
    body = prepared["长沙市"].message.get_body(("plain",)).get_content()
    assert body.startswith("长沙市质量强市工作领导小组办公室：\r\n现将2026年度")
