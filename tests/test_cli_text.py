"""All command-line text is Chinese, click's own included: usage, help, unknown options and commands,
invalid values, missing files. Each case asserts the exact text a user sees."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from qc_batch import __version__
from qc_batch.cli import cli
from tests.msgfmt import CATALOGUE, compiled

COMMANDS = sorted(cli.commands)
# a run of English words is a sentence left untranslated (option names, file names and product names are fine)
ENGLISH = re.compile(r"\b(?!qc-batch\b)[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="qc-batch")


def test_the_compiled_catalogue_is_the_source():
    assert (CATALOGUE / "messages.mo").read_bytes() == compiled(), "run: python tests/msgfmt.py"


def test_main_help_is_chinese():
    result = invoke("--help")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "用法：qc-batch [选项] 命令 [参数]..."
    assert "选项：" in lines and "命令：" in lines
    assert "  -h, --help  显示本帮助并退出。" in lines and "  --version   显示版本号并退出。" in lines
    assert not ENGLISH.search(result.output), ENGLISH.search(result.output)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_is_chinese(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert result.output.startswith(f"用法：qc-batch {command} [选项]")
    assert "\n选项：\n" in result.output and "-h, --help" in result.output
    assert not ENGLISH.search(result.output), ENGLISH.search(result.output)
    assert "DIRECTORY" not in result.output and "INTEGER" not in result.output and "TEXT" not in result.output


def test_run_help_lines_up_in_columns():
    from qc_batch.columns import width

    lines = invoke("run", "--help").output.splitlines()
    options = [line for line in lines if line.startswith("  -")]
    assert "  -i, --input 文件夹      各单位工作簿所在文件夹。 [默认：input]" in lines
    starts = set()
    for line in options:  # the help text starts in one display column (CJK characters are two wide)
        term, _, _ = line[2:].partition("  ")
        starts.add(width(line[:len(term) + 2]) + len(line[len(term) + 2:]) - len(line[len(term) + 2:].lstrip()))
    assert len(starts) == 1
    assert not [line for line in lines if line.strip() in ("。", "，", "）")]  # no line starts with closing punctuation


def test_no_command_shows_the_chinese_help():
    result = invoke()
    assert result.output.startswith("用法：qc-batch [选项] 命令 [参数]...")
    assert "命令：" in result.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output == f"qc-batch 版本 {__version__}\n"


@pytest.mark.parametrize(("args", "stderr"), [
    (["run", "--bogus"],
     "用法：qc-batch run [选项]\n运行“qc-batch run --help”查看帮助。\n\n错误：没有选项“--bogus”。\n"),
    (["rnu"],
     "用法：qc-batch [选项] 命令 [参数]...\n运行“qc-batch --help”查看帮助。\n\n"
     "错误：没有命令“rnu”。 （是否要用：'run'？）\n"),
    (["run", "--workers", "abc"],
     "用法：qc-batch run [选项]\n运行“qc-batch run --help”查看帮助。\n\n"
     "错误：--workers 的值无效：“abc”不是有效的数字。\n"),
    (["run", "--workers", "99"],
     "用法：qc-batch run [选项]\n运行“qc-batch run --help”查看帮助。\n\n"
     "错误：--workers 的值无效：99 不在允许的范围 1<=x<=64 内。\n"),
    (["run", "--report-template", "没有这个模板.j2"],
     "用法：qc-batch run [选项]\n运行“qc-batch run --help”查看帮助。\n\n"
     "错误：--report-template 的值无效：文件“没有这个模板.j2”不存在。\n"),
    (["run", "-i"],
     "错误：选项 -i 后面需要填写值。\n"),
    (["sample", "--seed", "x"],
     "用法：qc-batch sample [选项]\n运行“qc-batch sample --help”查看帮助。\n\n"
     "错误：--seed 的值无效：“x”不是有效的数字。\n"),
    (["migrate"],
     "用法：qc-batch migrate [选项] 工作簿...\n运行“qc-batch migrate --help”查看帮助。\n\n错误：缺少参数 工作簿...。\n"),
    (["mail", "extra"],
     "用法：qc-batch mail [选项]\n运行“qc-batch mail --help”查看帮助。\n\n错误：多余的参数（extra）\n"),
])
def test_command_line_mistakes_are_explained_in_chinese(args, stderr):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr == stderr


def test_a_library_error_is_one_chinese_line_with_its_exit_code(tmp_path):
    result = invoke("run", "--input", str(tmp_path / "没有"))
    assert result.exit_code == 4
    assert result.stderr == f"错误：找不到输入文件夹 {tmp_path / '没有'}；请用 --input 指定各单位工作簿所在的文件夹\n"


def test_columns_count_cjk_characters_twice_and_keep_punctuation_on_its_line():
    from qc_batch.columns import pad, width, wrap

    assert width("长沙市 a") == 8 and pad("市", 4) == "市  " and pad("1", 3, right=True) == "  1"
    assert wrap("一二三四五。六七", 10) == ["一二三四五。", "六七"]
    assert wrap("report.md.j2 的写法", 12) == ["report.md.j2", "的写法"]
