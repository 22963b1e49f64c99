"""The 填表说明 sheet: how to fill, save and send the score sheet."""

from __future__ import annotations

from qc_batch.rubric.expr import REFERENCES
from qc_batch.rubric.model import Rubric
from qc_batch.sheet import names as sn
from qc_batch.sheet.formats import LINE_PT, PROTECT, lines_needed

GUIDE_WIDTH = 92


def write(w, ws) -> None:
    """Write the sheet with ``w`` (a :class:`~qc_batch.sheet.writer.SheetWriter`)."""
    f = w.fmt
    r = w.rubric
    ws.set_column(0, 0, GUIDE_WIDTH)
    paras = guide_text(r)
    ws.write_string(0, 0, f"{r.title}——填表说明", f.title)
    ws.set_row(0, 28)
    for k, (text, bold) in enumerate(paras, start=1):
        ws.write_string(k, 0, text, f.para_bold if bold else f.para)
        ws.set_row(k, max(16, lines_needed(text, GUIDE_WIDTH) * LINE_PT + 3))
    w.page_setup(ws, repeat=None, landscape=False)
    ws.protect("", PROTECT)



def guide_text(r: Rubric) -> list[tuple[str, bool]]:
    """The 填表说明 paragraphs: (text, bold)."""
    ranked = "、".join(i.code for i in r.indicators if i.is_ranked)
    expert = "、".join(i.code for i in r.indicators if i.expert)
    with_refs = "、".join(code for ref in REFERENCES for code in r.reference_users(ref))
    na_parts = "、".join(p.code for i in r.indicators for p in i.parts if p.na is not None)
    return [
        (f"本表依据{r.standard}制作，共 {len(r.groups)} 类 {len(r.indicators)} 项指标，"
         f"总分 {r.total} 分，{r.pass_mark} 分及以上为合格。", False),
        ("一、填写步骤", True),
        ("1. 在“基本信息”工作表填写被评价单位、层级（市州或县市区）、所属市州（县市区填写）、评价年度、联系人、"
         "联系电话、联系邮箱和填报日期，并逐项回答四种“不予受理”情形。", False),
        ("2. 在“评分表”工作表逐项填写浅黄色单元格（必填而尚未填写的显示为橙色）：每个指标可能有多个“填报项”，"
         "请在“填报值”列填写事实数据，不要直接填写分数；“计算得分”列由公式自动计算。", False),
        ("3. 每个指标在“自评分”列填写自评分，在“佐证材料”列列出支撑材料的名称或文号，多个用分号隔开。", False),
        ("4. 在“得分汇总”工作表查看各类得分、总分测算和评价结论测算。", False),
        ("二、各列含义（评分表）", True),
        ("类别、编号、指标内容、分值、考核评分方法：摘自标准附录A表A.1，不可修改。", False),
        ("填报项编号、填报项目：本指标需要填写的事实；填报值：浅黄色，由您填写；计算得分：公式自动计算；"
         "自评分：您对本指标的自评分；佐证材料：支撑得分的材料清单；提示：缺填时显示“请填写”。", False),
        ("三、填报值的写法", True),
        ("是/否：从下拉列表选择“是”或“否”。", False),
        ("选项：从下拉列表选择一项，不要自行输入文字；选项的完整内容见“考核评分方法”列。", False),
        ("百分比：填写百分数的数值，如 97.5 表示 97.5%；也可以填写 0.975 或 97.5%。0 到 1 之间的数按比例理解"
         "（1 表示 100%）。", False),
        ("整数、名次：填写整数，如 3；名次从 1 开始。", False),
        ("数值：按“填报项目”中注明的单位（如万元、亿元、万人）填写数字，不要带单位文字。", False),
        ("请填写数字：“97.5%”“３个”“1,234.5万元”这类文字，本表和省局审核都能识别，但省局审核时会提示改为数字。", False),
        ("不适用或确实没有的，是/否项请选择“否”，数量请填 0，不要留空：留空视为缺填，缺填项不得分。", False),
        ("四、特别说明", True),
        (f"含排名的指标（{ranked}）需与全省同级单位比较，由省局汇总后确定；本表按“未进入前列”计分，"
         "“得分汇总”中另列排名项均居前列时的得分。", False),
        (f"{na_parts}：无口岸的单位“本地有口岸”选择“否”，该项按合理缺项处理，总分按比例折算。", False),
        (f"{with_refs} 与全国平均水平比较，使用省局每年公布的全国平均值；本表未载入该数值时，这些项目暂不计分，"
         "由省局汇总时计算。", False),
        (f"{expert} 由验收专家现场核定，可先按实际情况填写。", False),
        ("本表测算总分未达合格线、但排名、全国平均值或专家核定可能使其达到时，评价结论显示“待省局汇总确定”。", False),
        ("五、保存和报送", True),
        ("1. 请使用 Excel 或 WPS 表格填写，保存为 .xlsx 格式（不要另存为 .xls、.et 或 .csv），不要设置打开密码。", False),
        ("2. 不要重命名、删除或移动工作表（工作簿结构已锁定），不要删除行列；可以调整行高列宽。", False),
        ("3. 文件名建议为“单位名称_评价年度_质量强市评分表.xlsx”，报送至省市场监督管理局指定邮箱。", False),
        ("4. 省局将重新计算全部得分并逐项审核，审核报告和标注问题的工作簿将发回联系邮箱；修改后可再次报送。", False),
        (f"模板标识：{sn.TEMPLATE_ID}　模板版本：{sn.TEMPLATE_VERSION}　评分规则版本：{r.version}", False),
    ]
