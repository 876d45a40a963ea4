"""Use cases of quality control, one module per concern; callers use them through this package."""

from quality.service.certificates import (
    certificate_pdf,
    get_certificate,
    issue_certificate,
    list_certificates,
)
from quality.service.gate import (
    below_brand_minimum,
    ensure_saleable,
    list_brand_minimums,
    lot_quality,
    saleability,
    scan_summary,
    set_brand_minimum,
    withdraw_unsaleable,
)
from quality.service.inspections import (
    current_grade,
    get_inspection,
    get_photo,
    grade_lot,
    latest_inspection,
    list_grades,
    list_inspections,
    record_inspection,
)
from quality.service.standards import (
    create_standard,
    current_standard,
    get_current_standard,
    get_standard,
    list_standards,
    plan_sample,
    publish_shipped_standards,
    publish_standard,
    update_standard,
)

__all__ = [
    "below_brand_minimum",
    "certificate_pdf", "create_standard", "current_grade", "current_standard", "ensure_saleable",
    "get_certificate", "get_current_standard", "get_inspection", "get_photo", "get_standard",
    "grade_lot", "issue_certificate", "latest_inspection", "list_brand_minimums",
    "list_certificates", "list_grades", "list_inspections", "list_standards", "lot_quality",
    "plan_sample", "publish_shipped_standards", "publish_standard", "record_inspection",
    "saleability", "scan_summary", "set_brand_minimum", "update_standard",
    "withdraw_unsaleable",
]
