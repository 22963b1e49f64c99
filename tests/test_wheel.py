"""The installed package runs: build the wheel, install it (not editable) in a fresh venv, and in an
empty folder run ``qc-batch sample`` then ``qc-batch run``, as a new user would."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "qc_batch" / "data"


def test_the_packaged_report_template_is_the_user_editable_one():
    """``templates/report.md.j2`` is the copy users edit and ``--report-template`` points at; the package
    ships the same text in ``qc_batch/data`` (after editing one: cp templates/report.md.j2 qc_batch/data/)."""
    assert (PACKAGED / "report.md.j2").read_bytes() == (ROOT / "templates" / "report.md.j2").read_bytes()


def _source_tree(dst: Path) -> Path:
    """The files a wheel is built from, copied (building in the checkout would leave build/ behind)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "qc_batch", dst / "qc_batch", ignore=ignore)
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dst / name)
    return dst


@pytest.mark.wheel
@pytest.mark.slow
def test_the_installed_wheel_runs_sample_and_run_in_an_empty_folder(tmp_path):
    src = _source_tree(tmp_path / "src")
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(dist), str(src)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("qc_batch-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    # the dependencies come from this test's environment: its site-packages is appended to the new
    # venv's path by a .pth line (a plain path: the .pth files there, such as an editable install of
    # qc_batch, are not processed), so only the wheel's own qc_batch can be imported
    new_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    deps = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    (new_site / "_qc_batch_test_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n", encoding="utf-8")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr

    work = tmp_path / "空文件夹"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = subprocess.run([str(python), "-c", "import qc_batch; print(qc_batch.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(new_site), where  # the installed copy, not the checkout
    qc = str(bindir / "qc-batch")

    sample = subprocess.run([qc, "sample"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert sample.returncode == 0, sample.stderr
    assert "已生成 27 个示例工作簿（示例数据）" in sample.stdout
    run = subprocess.run([qc, "run", "--workers", "2"], cwd=work, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    assert "共收到 27 个文件（另有年度设置文件 1 个）" in run.stdout and "Traceback" not in run.stderr
    out = work / "output"
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(results["units"]) == 26
    assert (out / "comparison.xlsx").is_file() and (out / "index.md").is_file()
    reports = out / "reports"
    assert len(list(reports.glob("*.md"))) == 26
    assert "审核报告" in (reports / "长沙市.md").read_text(encoding="utf-8")
    assert not (work / "templates").exists()  # the report wording came from inside the package
