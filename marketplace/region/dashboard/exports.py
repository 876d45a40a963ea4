"""The dashboard's village figures as CSV, XLSX and a one-page PDF report per cluster."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from marketplace.core.pdf import CJK_FONT, register_cjk_font
from marketplace.core.spreadsheets import CsvWriter, append_row
from marketplace.region.dashboard.service import flat

COLUMNS = [
    ("village_id", "村 ID Village id"),
    ("name_zh", "村 Village"),
    ("name_en", "Village (English)"),
    ("baseline_year", "基准年 Baseline year"),
    ("baseline_income_fen", "基准经营性收入(分) Baseline income (fen)"),
    ("annual_target_fen", "年度目标(分) Annual target +20% (fen)"),
    ("period_target_fen", "期间目标(分) Period target (fen)"),
    ("collective_income_fen", "期间集体经营性收入(分) Collective income (fen)"),
    ("previous_collective_income_fen", "上年同期(分) Same period last year (fen)"),
    ("income_line_fen", "120万元线(分) 1.2-million-yuan line (fen)"),
    ("sales_orders_paid", "已付订单 Orders paid"),
    ("sales_paid_fen", "销售额(分) Sales (fen)"),
    ("sales_refunded_fen", "退款(分) Refunds (fen)"),
    ("previous_sales_paid_fen", "上年同期销售额(分) Sales last year (fen)"),
    ("deliveries_accepted", "合同交货验收批次 Deliveries accepted"),
    ("deliveries_rejected", "拒收批次 Deliveries rejected"),
    ("deliveries_accepted_value_fen", "验收货值(分) Accepted value (fen)"),
    ("previous_deliveries_accepted_value_fen", "上年同期货值(分) Accepted value last year (fen)"),
    ("codes_minted", "赋码数 Codes minted"),
    ("codes_scans", "扫码次数 Scans"),
    ("codes_codes_first_scanned", "首次扫码数 Codes first scanned"),
    ("codes_suspected_copies", "疑似复制码 Suspected copies"),
    ("previous_codes_scans", "上年同期扫码 Scans last year"),
]


def villages_csv(figures: dict) -> str:
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.writerow([title for _, title in COLUMNS])
    for row in map(flat, figures["villages"]):
        writer.writerow([row[key] for key, _ in COLUMNS])
    return out.getvalue()


def villages_xlsx(figures: dict) -> bytes:
    workbook = Workbook()
    sheet = workbook.worksheets[0]  # a new workbook's one sheet, the active one
    sheet.title = "villages"
    append_row(sheet, [title for _, title in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in map(flat, figures["villages"]):
        append_row(sheet, [row[key] for key, _ in COLUMNS])
    summary = workbook.create_sheet("summary")
    period = figures["period"]
    for label, value in (
        ("cluster", figures["cluster"]["name_zh"]),
        ("from", period["start"].isoformat()),
        ("to (exclusive)", period["end"].isoformat()),
        ("orders paid", figures["sales"]["orders_paid"]),
        ("sales (fen)", figures["sales"]["paid_fen"]),
        ("refunds (fen)", figures["sales"]["refunded_fen"]),
        ("collective income (fen)", figures["collective_income_fen"]),
        ("deliveries accepted", figures["deliveries"]["accepted"]),
        ("accepted value (fen)", figures["deliveries"]["accepted_value_fen"]),
        ("codes minted", figures["codes"]["minted"]),
        ("scans", figures["codes"]["scans"]),
        ("suspected copies", figures["codes"]["suspected_copies"]),
    ):
        append_row(summary, [label, value])
    grades = workbook.create_sheet("deliveries by grade")
    append_row(grades, ["grade", "unit", "deliveries", "quantity", "value (fen)"])
    for line in figures["deliveries"]["by_grade"]:
        append_row(
            grades, [line["grade"], line["unit"], line["deliveries"], line["quantity"], line["value_fen"]]
        )
    scans = workbook.create_sheet("scans by day")
    append_row(scans, ["day", "scans", "codes first scanned"])
    for day in figures["scans_by_day"]:
        append_row(scans, [day["day"], day["scans"], day["codes_first_scanned"]])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def cluster_report_pdf(figures: dict) -> bytes:
    """One A4 landscape page: the period, sales, and each village against its targets."""
    register_cjk_font()
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=landscape(A4))
    width, height = landscape(A4)
    period = figures["period"]
    page.setFont(CJK_FONT, 16)
    page.drawString(
        15 * mm, height - 18 * mm, f"{figures['cluster']['name_zh']} · {figures['cluster']['name_en']}"
    )
    page.setFont(CJK_FONT, 10)
    page.drawString(
        15 * mm, height - 25 * mm, f"报告期 Period: {period['start']} – {period['end']} (不含 exclusive)"
    )
    sales = figures["sales"]
    page.drawString(
        15 * mm,
        height - 32 * mm,
        f"已付订单 Orders paid: {sales['orders_paid']}    销售额 Sales: {yuan(sales['paid_fen'])}"
        f"    退款 Refunds: {yuan(sales['refunded_fen'])}    上年同期销售额 Last year: "
        f"{yuan(sales['previous']['paid_fen'])}",
    )
    page.drawString(
        15 * mm,
        height - 39 * mm,
        f"集体经营性收入 Collective income: {yuan(figures['collective_income_fen'])}"
        f"    上年同期 Last year: {yuan(figures['previous_collective_income_fen'])}",
    )
    deliveries, codes = figures["deliveries"], figures["codes"]
    by_grade = (
        "  ".join(
            f"{line['grade']} {line['quantity']} {line['unit']} {yuan(line['value_fen'])}"
            for line in deliveries["by_grade"]
        )
        or "—"
    )
    page.drawString(
        15 * mm,
        height - 46 * mm,
        f"合同交货验收 Deliveries accepted: {deliveries['accepted']} "
        f"({yuan(deliveries['accepted_value_fen'])}; 拒收 rejected {deliveries['rejected']})"
        f"    按等级 By grade: {by_grade}",
    )
    page.drawString(
        15 * mm,
        height - 53 * mm,
        f"赋码 Codes minted: {codes['minted']}    扫码 Scans: {codes['scans']}"
        f"    首次扫码 First scans: {codes['codes_first_scanned']}"
        f"    疑似复制 Suspected copies: {codes['suspected_copies']}"
        f"    上年同期扫码 Scans last year: {codes['previous']['scans']}",
    )
    headers = [
        "村 Village",
        "基准 Baseline",
        "年度目标 Target",
        "期间目标 Period target",
        "期间收入 Income",
        "上年同期 Last year",
        "达标 On target",
    ]
    xs = [15, 75, 120, 165, 210, 250, 285]
    y = height - 64 * mm
    page.setFont(CJK_FONT, 9)
    for x, title in zip(xs, headers, strict=True):
        page.drawString(x * mm, y, title)
    page.setStrokeColor(colors.grey)
    page.line(15 * mm, y - 2 * mm, width - 15 * mm, y - 2 * mm)
    for row in figures["villages"]:
        y -= 6 * mm
        if y < 15 * mm:
            page.drawString(15 * mm, y, "… 其余见 CSV/XLSX 导出 (more villages in the CSV/XLSX export)")
            break
        on_target = row["collective_income_fen"] >= row["period_target_fen"]
        values = [
            row["name_zh"],
            yuan(row["baseline_income_fen"]),
            yuan(row["annual_target_fen"]),
            yuan(row["period_target_fen"]),
            yuan(row["collective_income_fen"]),
            yuan(row["previous_collective_income_fen"]),
            "是 yes" if on_target else "否 no",
        ]
        for x, value in zip(xs, values, strict=True):
            page.drawString(x * mm, y, str(value))
    page.showPage()
    page.save()
    return out.getvalue()
