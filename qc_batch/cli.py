"""Command line: a thin layer over the library.

Exit codes (also in the README):
  0  done (rejected input files are a normal outcome, listed in the results)
  2  the command line is wrong (unknown option, missing argument)
  3  the settings file cannot be used
  4  the input folder or an output location cannot be used
  5  sending mail failed for some units (qc-batch mail --send)
  1  an unexpected internal error (shown in full with --debug)
"""

from __future__ import annotations

import gettext
import os
import sys
import traceback
from importlib import resources
from pathlib import Path

import click

from qc_batch import __version__, codes, paths
from qc_batch.columns import width, wrap
from qc_batch.errors import EXIT_INTERNAL, EXIT_IO, EXIT_OK, EXIT_SETTINGS, EXIT_USAGE, UserError


def _chinese_click() -> None:
    """click's own text (usage, help, errors, invalid values) in Chinese.

    click translates through gettext's default domain "messages"; the catalogue for it ships in
    ``qc_batch/data/locale`` (source ``messages.po``). Done before click builds the commands below,
    since some of its words (such as "文件夹" for a folder option) are translated then.
    """
    gettext.bindtextdomain("messages", str(resources.files("qc_batch").joinpath("data", "locale")))
    os.environ["LANGUAGE"] = "zh_CN"  # gettext picks the catalogue by this; it changes no number or date format


_chinese_click()


class Failure(click.ClickException):
    """A :class:`UserError` as click shows it: one Chinese line on stderr, the error's exit code."""

    def __init__(self, error: UserError):
        super().__init__(error.message)
        self.exit_code = error.exit_code

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.message}", err=True)


class Formatter(click.HelpFormatter):
    """click's help layout with Chinese punctuation and columns measured as a terminal shows CJK text."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first = min(max((width(term) for term, _ in rows), default=0), col_max) + col_spacing
        indent = " " * self.current_indent
        avail = max((self.width or 80) - self.current_indent - first, 20)
        for term, text in rows:
            self.write(indent + term)
            if not text:
                self.write("\n")
                continue
            gap = first - width(term)
            self.write(" " * gap if gap >= col_spacing else "\n" + indent + " " * first)
            lines = wrap(text, avail)
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(indent + " " * first + line + "\n")


class Context(click.Context):
    formatter_class = Formatter


# metavars click would write in English (types whose names it does not translate)
METAVARS = {"integer": "整数", "integer range": "整数", "float": "数字", "float range": "数字", "text": "文字",
            "boolean": "是/否"}


class Command(click.Command):
    """A command whose usage line and value placeholders are Chinese too."""

    context_class = Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, click.Option) and param.metavar is None and not param.is_flag:
                param.metavar = METAVARS.get(param.type.name, param.type.name.upper())

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.MissingParameter as exc:  # click builds this sentence itself, with English punctuation
            what = "选项" if exc.param_type == "option" or isinstance(exc.param, click.Option) else "参数"
            name = exc.param.human_readable_name if exc.param is not None else ""
            raise click.UsageError(f"缺少{what} {name}。", ctx) from None
        except click.BadParameter as exc:  # the option's name without click's English quotes
            if exc.param is None:
                raise
            name = "、".join(exc.param.opts) or exc.param.human_readable_name
            raise click.UsageError(f"{name} 的值无效：{exc.message}", ctx) from None


class Group(click.Group):
    """The one place where a library's :class:`UserError` becomes a click exit; commands in Chinese."""

    command_class = Command
    context_class = Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            raise Failure(exc) from None


def _settings(path: str | None, required: bool):
    from qc_batch.settings import SettingsError, load_settings

    if path is None:
        default = Path("input/settings.yaml")
        if not default.is_file():
            if required:
                raise UserError("找不到设置文件 input/settings.yaml；请用 --settings 指定本年度的设置文件", EXIT_SETTINGS)
            return None
        path = str(default)
    try:
        return load_settings(path)
    except SettingsError as exc:
        raise UserError(str(exc), EXIT_SETTINGS) from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qc-batch")
@click.option("--debug", is_flag=True, help="出错时显示完整的技术信息（traceback）。")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """质量强市（区、县）评价工具 qc-batch。

    \b
    常用命令：
      qc-batch template   生成评分表模板 templates/score_sheet.xlsx
      qc-batch sample     生成示例填报工作簿（示例数据）到 input/
      qc-batch run        批量审核 input/ 中的工作簿，结果写入 output/
      qc-batch review     生成现场评审表（专家组核定事实用）到 review/
      qc-batch mail       把审核报告发送给各单位（先生成待发邮件，加 --send 才发送）
      qc-batch prefill    按历年数据生成下一年度的预填评分表
      qc-batch migrate    把旧版模板填写的评分表迁移到现行模板
      qc-batch history    查看或导出历年数据库
    """
    ctx.obj = {"debug": debug}


@cli.command()
@click.option("--output", "-o", default=paths.TEMPLATE_PATH, show_default=True,
              type=click.Path(dir_okay=False), help="模板保存位置。")
@click.option("--settings", type=click.Path(dir_okay=False),
              help="年度设置文件：把全国平均参考值写入模板。")
def template(output: str, settings: str | None) -> None:
    """生成可填写的评分表模板（Excel）。"""
    from qc_batch.engine.scoring import Policy
    from qc_batch.sheet.writer import write_score_sheet

    policy = _settings(settings, required=False).policy if settings else Policy()
    try:
        path = write_score_sheet(output, policy=policy)
    except OSError as exc:
        raise UserError(f"无法写入 {output}：{exc.strerror or exc}", EXIT_IO) from None
    click.echo(f"评分表模板已生成：{path}")


@cli.command()
@click.option("--output", "-o", default="input", show_default=True, type=click.Path(file_okay=False),
              help="示例工作簿保存目录。")
@click.option("--seed", default=2026, show_default=True, help="随机种子（相同种子生成相同示例）。")
@click.option("--year", default=2026, show_default=True, help="示例数据的评价年度。")
@click.option("--force", is_flag=True, help="文件夹中已有不是示例的工作簿或设置文件时仍然写入。")
def sample(output: str, seed: int, year: int, force: bool) -> None:
    """生成示例填报工作簿和示例设置文件（示例数据）。

    示例工作簿带有“示例数据”标记：审核时列为示例数据，不会与真实报送的工作簿一起计分排名。
    """
    from qc_batch.sample import write_samples

    try:
        written = write_samples(Path(output), seed=seed, year=year, force=force)
    except OSError as exc:
        raise UserError(f"无法写入 {output}：{exc.strerror or exc}", EXIT_IO) from None
    click.echo(f"已生成 {len(written.workbooks)} 个示例工作簿（示例数据）：{output}/")
    click.echo(f"示例设置文件：{written.settings}")


@cli.command()
@click.option("--input", "-i", "input_dir", default="input", show_default=True, type=click.Path(file_okay=False),
              help="各单位工作簿所在文件夹。")
@click.option("--output", "-o", "output_dir", default="output", show_default=True, type=click.Path(file_okay=False),
              help="结果输出文件夹。")
@click.option("--settings", type=click.Path(dir_okay=False),
              help="年度设置文件（默认 <输入文件夹>/settings.yaml）。")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="并行进程数（默认为 CPU 核数）。")
@click.option("--report-template", type=click.Path(dir_okay=False, exists=True),
              help="审核报告模板（Jinja2，默认 templates/report.md.j2）。")
@click.option("--reviews", type=click.Path(file_okay=False),
              help="现场评审表文件夹：按专家组核定值重新计分排名（默认为设置文件的 reviews）。")
@click.option("--pdf", is_flag=True, help="另用 LibreOffice 把 Word 审核报告和汇总转为 PDF。")
@click.option("--quiet", "-q", is_flag=True, help="不显示进度条和汇总。")
def run(input_dir: str, output_dir: str, settings: str | None, workers: int | None,
        report_template: str | None, reviews: str | None, pdf: bool, quiet: bool) -> None:
    """批量审核输入文件夹中的全部工作簿，结果写入输出文件夹。"""
    import datetime as dt

    import jinja2

    from qc_batch.batch.run import run_batch
    from qc_batch.outputs.publish import publish

    folder = Path(input_dir)
    if not folder.is_dir():
        raise UserError(f"找不到输入文件夹 {input_dir}；请用 --input 指定各单位工作簿所在的文件夹", EXIT_IO)
    settings_path = Path(settings) if settings else folder / "settings.yaml"
    if not settings_path.is_file():
        raise UserError(f"找不到年度设置文件 {settings_path}；请用 --settings 指定本年度的设置文件"
                        "（写法见 README“年度运行”）", EXIT_SETTINGS)
    _check_output(folder, Path(output_dir))
    conf = _settings(str(settings_path), required=True)
    show = not quiet and sys.stderr.isatty()

    def progress(desc: str):
        def start(total: int):
            if not show or total == 0:
                return None
            from qc_batch.batch.parallel import progress_bar

            return progress_bar(total, desc, "个", sys.stderr)
        return start

    from qc_batch.review.apply import stage_for

    result = run_batch(folder, conf, settings_file=settings_path, workers=workers, progress=progress("读取工作簿"),
                       review=stage_for(reviews, conf, settings_path))
    _warn_input(result)
    out = Path(output_dir)
    generated = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    try:
        published = publish(result, out, generated, workers=workers, progress=progress("生成报告"),
                            template=Path(report_template) if report_template else None, pdf=pdf,
                            pdf_progress=progress("生成 PDF"))
    except OSError as exc:
        raise UserError(f"无法写入输出文件夹 {output_dir}：{exc.strerror or exc}", EXIT_IO) from None
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"第 {line} 行" if line else ""
        raise UserError(f"审核报告模板有误{where}：{exc}；请检查 report.md.j2 的写法（输出文件夹未改动）",
                        EXIT_SETTINGS) from None
    from qc_batch.history.store import record_history

    recorded = record_history(result)  # the run into the history database, once the outputs are in place
    if published.pdf is not None and (published.pdf.failed or not quiet):
        click.echo(published.pdf.message, err=bool(published.pdf.failed))
    if not quiet:
        _summary(result, out, published.charts)
        if recorded:
            click.echo(f"历年数据库：{recorded[0]}（第 {recorded[1]} 次运行记录）")


@cli.command()
@click.option("--output", "-o", "output_dir", default="output", show_default=True, type=click.Path(file_okay=False),
              help="qc-batch run 的结果文件夹（读取其中的 results.json）。")
@click.option("--to", "to_dir", default="review", show_default=True, type=click.Path(file_okay=False),
              help="现场评审表保存目录。")
def review(output_dir: str, to_dir: str) -> None:
    """为每个受理单位生成现场评审表（专家组核定事实用）。"""
    from qc_batch.review.writer import write_reviews

    written = write_reviews(Path(output_dir), Path(to_dir))
    click.echo(f"已生成 {len(written)} 份现场评审表：{to_dir}/")
    click.echo("专家组填写后放入同一文件夹，运行 qc-batch run --reviews " + to_dir + " 按核定值重新计分、排名。")


@cli.command("mail")
@click.option("--output", "-o", "output_dir", default="output", show_default=True, type=click.Path(file_okay=False),
              help="qc-batch run 的结果文件夹。")
@click.option("--settings", "settings_file", default=None, type=click.Path(dir_okay=False),
              help="年度设置文件（含 smtp、address_book、mail；默认为 results.json 记录的、本次运行所用的设置文件）。")
@click.option("--send", is_flag=True,
              help="真正发送；不加时只在 <结果文件夹>/outbox/ 生成 .eml 供检查。")
@click.option("--resend", multiple=True, metavar="单位ID",
              help="即使已发送过也重新发送该单位（可多次使用）。")
@click.option("--quiet", "-q", is_flag=True, help="只显示问题，不逐个列出。")
def mail(output_dir: str, settings_file: str | None, send: bool, resend: tuple[str, ...], quiet: bool) -> None:
    """把审核报告通过电子邮件发给各单位（每个单位只发一次）。

    \b
    qc-batch mail          生成 outbox/*.eml 供检查，不发送
    qc-batch mail --send   发送尚未发送或报告已更新的单位
    """
    from qc_batch.mail.job import MailJob, run_mail

    job = MailJob(Path(output_dir), Path(settings_file) if settings_file else None, send, tuple(resend))
    run_mail(job, _printer(quiet))


def _history_db(settings: str | None, history: str | None) -> Path:
    """The history database: --history, else the settings' history: key, else the default (docs/history.md)."""
    from qc_batch.history.db import history_path

    if history:
        return Path(history)
    path = history_path(_settings(settings, required=False), None)
    if path is None:
        raise UserError("设置文件中 history: false，未使用历年数据库；请用 --history 指定数据库文件", EXIT_SETTINGS)
    return path


_HISTORY_HELP = "历年数据库文件（默认：设置文件中的 history:，否则为输入文件夹所在文件夹中的 qc_history.sqlite）。"


@cli.command()
@click.option("--year", "-y", type=click.IntRange(2000, 2100), help="要预填的评价年度（必填），如 2027。")
@click.option("--settings", type=click.Path(dir_okay=False),
              help="该年度的设置文件（应报送单位名单、历年数据库位置；默认 input/settings.yaml）。")
@click.option("--history", type=click.Path(dir_okay=False), help=_HISTORY_HELP)
@click.option("--to", "to_dir", default="prefilled", show_default=True, type=click.Path(file_okay=False),
              help="预填评分表保存目录。")
def prefill(year: int | None, settings: str | None, history: str | None, to_dir: str) -> None:
    """按历年数据为每个单位生成预填的评分表（基本信息和三年数据中往年的数值）。"""
    from qc_batch.history.prefill import prefill as write_prefilled

    if year is None:
        raise UserError("请用 --year 指定要预填的评价年度，如 --year 2027", EXIT_USAGE)

    conf = _settings(settings, required=False)
    if conf is not None and conf.year != year:
        click.echo(f"注意：设置文件 {conf.source} 为 {conf.year} 年度，按其中的应报送单位名单和参考值预填 {year} 年度")
    db = _history_db(settings, history)
    try:
        written = write_prefilled(year, Path(to_dir), history=db, expected=conf.expected_units if conf else (),
                                  policy=conf.policy if conf else None)
    except OSError as exc:
        raise UserError(f"无法写入 {to_dir}：{exc.strerror or exc}", EXIT_IO) from None
    filled = sum(1 for w in written if w.sources)
    click.echo(f"已生成 {len(written)} 份 {year} 年度预填评分表：{to_dir}/（其中 {filled} 份带有往年数据，"
               f"来源见单元格批注）")


@cli.command()
@click.argument("workbooks", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True), metavar="工作簿...")
@click.option("--to", "to_dir", default="migrated", show_default=True, type=click.Path(file_okay=False),
              help="迁移后评分表保存目录。")
def migrate(workbooks: tuple[str, ...], to_dir: str) -> None:
    """把旧版模板填写的评分表迁移到现行模板，并列出未能迁移的内容。"""
    from qc_batch.history.migrate import migrate_workbook

    failed = 0
    for wbk in workbooks:
        try:
            m = migrate_workbook(Path(wbk), Path(to_dir))
        except UserError as exc:
            click.echo(f"未迁移：{exc.message}", err=True)
            failed += 1
            continue
        except OSError as exc:
            raise UserError(f"无法写入 {to_dir}：{exc.strerror or exc}", EXIT_IO) from None
        click.echo(f"{Path(wbk).name} → {m.target}：迁移 {len(m.mapped)} 个单元格，未能迁移 {len(m.unmapped)} 个，"
                   f"需补填 {len(m.not_in_old)} 个填报项（说明见 {m.target.stem}说明.md）")
        for name, value, why in m.unmapped:
            click.echo(f"  未迁移 {name}（{value}）：{why}")
    if failed:
        raise UserError(f"{failed} 个文件未能迁移", EXIT_IO)


@cli.command()
@click.option("--settings", type=click.Path(dir_okay=False), help="设置文件（其中的 history: 指定数据库位置）。")
@click.option("--history", "history_file", type=click.Path(dir_okay=False), help=_HISTORY_HELP)
@click.option("--export", "export_file", type=click.Path(dir_okay=False),
              help="把历年明细（单位、年度、阶段、指标、得分和填报值）导出为 .xlsx 或 .csv。")
def history(settings: str | None, history_file: str | None, export_file: str | None) -> None:
    """查看历年数据库，或导出历年明细表。"""
    from qc_batch.history.frames import export, summary

    db = _history_db(settings, history_file)
    for line in summary(db):
        click.echo(line)
    if export_file:
        rows = export(db, Path(export_file))
        click.echo(f"已导出 {rows} 行历年明细：{export_file}")


def _printer(quiet: bool):
    """Where each level of a library event goes: problems to stderr always, the rest to stdout unless quiet."""
    from qc_batch.mail.events import INFO

    def show(event) -> None:
        if event.level != INFO:
            click.echo(event.text, err=True)
        elif not quiet:
            click.echo(event.text)

    return show


def _check_output(folder: Path, out: Path) -> None:
    """The output folder may not be the input folder (one inside it is skipped when the input is read)."""
    if out.resolve() == folder.resolve():
        raise UserError(f"输出文件夹 {out} 就是输入文件夹；审核结果不能写进各单位工作簿所在的文件夹，"
                        "请用 --output 指定另一个文件夹（默认为 output）", EXIT_IO)


def _warn_input(result) -> None:
    """Said even with --quiet: an input folder without workbooks is almost always the wrong folder."""
    if not [f for f in result.files if f.status != "settings"]:
        click.echo(f"警告：输入文件夹 {result.input_dir} 中没有任何工作簿；请把各单位报送的评分表（.xlsx）"
                   "放入该文件夹，或用 --input 指定正确的文件夹", err=True)


def _summary(result, out: Path, charts: bool = True) -> None:
    c = result.count
    submitted = [f for f in result.files if f.status != "settings"]
    extra = "（另有年度设置文件 1 个）" if len(submitted) < len(result.files) else ""
    click.echo(f"共收到 {len(submitted)} 个文件{extra}：受理 {c('accepted')}，被新版本替代 {c('superseded')}，"
               f"拒收 {c('rejected')}。")
    samples = [f for f in submitted if f.sample]
    if samples:
        used = sum(f.status != codes.REJECTED for f in samples)
        click.echo(f"其中 {len(samples)} 个是 qc-batch sample 生成的示例数据，不是真实报送"
                   + ("（已列为拒收，不参与计分和排名）。" if not used else "。"))
    s = result.status_count
    click.echo(f"评价结论：合格 {s('合格')}，不合格 {s('不合格')}，不予受理 {s('不予受理')}。")
    if result.not_submitted:
        names = "、".join(e.unit for e in result.not_submitted[:10])
        more = f" 等 {len(result.not_submitted)} 个" if len(result.not_submitted) > 10 else ""
        click.echo(f"未提交：{names}{more}。")
    for f in result.files:
        if f.status == codes.REJECTED:
            click.echo(f"  拒收 {f.file}：{f.reason}")
    from qc_batch.review.apply import summary_lines

    for line in summary_lines(result):  # 现场评审: review files, stage, verified values not applied
        click.echo(line)
    click.echo(f"汇总表：{out / paths.COMPARISON}；全省汇总（Word）：{out / paths.SUMMARY}")
    click.echo(f"各单位审核报告（Word 和 Markdown）：{out / paths.REPORTS_DIR}（索引 {out / paths.INDEX}）；"
               f"退回修改表：{out / paths.RETURNED_DIR}")
    click.echo(f"机读结果：{out / paths.RESULTS}")
    if not charts:
        click.echo("注意：未找到中文字体，报告图表未生成；请安装中文字体（如 fonts-noto-cjk）后重新运行。")


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps failures to exit codes; tracebacks only with --debug."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        code = cli.main(args=args, prog_name="qc-batch", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:  # Failure carries its own exit code; click's own errors are usage errors
        exc.show()
        sys.exit(exc.exit_code if isinstance(exc, Failure) else EXIT_USAGE)
    except Exception as exc:  # the last line of defence: no traceback for a bureau user
        if debug:
            traceback.print_exc()
        else:
            click.echo(f"内部错误：{type(exc).__name__}: {exc}。请加 --debug 重新运行并把输出发给技术支持。",
                       err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
