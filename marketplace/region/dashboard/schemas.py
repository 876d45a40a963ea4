from __future__ import annotations

import marshmallow as ma

from marketplace.core.schemas import Day, QuerySchema, Schema, fen_field, id_field


class PeriodQuerySchema(QuerySchema):
    start = Day(data_key="from", metadata={"description": "first day (local), default 1 January"})
    end = Day(data_key="to", metadata={"description": "last day (local), inclusive, default today"})

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                raise ma.ValidationError("must not be before from", field_name="to")
            if (data["end"] - data["start"]).days > 3 * 366:
                raise ma.ValidationError("at most three years at a time", field_name="to")


class MapQuerySchema(PeriodQuerySchema):
    cluster_id = id_field(strict=False)


class SalesSchema(Schema):
    orders_paid = ma.fields.Integer()
    paid_fen = fen_field()
    refunded_fen = fen_field()


class SalesWithPreviousSchema(SalesSchema):
    previous = ma.fields.Nested(SalesSchema)


class DeliveriesSchema(Schema):
    accepted = ma.fields.Integer(metadata={"description": "deliveries accepted"})
    rejected = ma.fields.Integer(metadata={"description": "deliveries rejected"})
    accepted_value_fen = fen_field()


class GradeDeliveriesSchema(Schema):
    grade = ma.fields.String(metadata={"description": "the grade the delivery was settled at"})
    unit = ma.fields.String()
    deliveries = ma.fields.Integer()
    quantity = ma.fields.Decimal(as_string=True, metadata={"description": "accepted quantity, in unit"})
    value_fen = fen_field()


class ClusterDeliveriesSchema(DeliveriesSchema):
    by_grade = ma.fields.List(ma.fields.Nested(GradeDeliveriesSchema))


class ClusterDeliveriesWithPreviousSchema(ClusterDeliveriesSchema):
    previous = ma.fields.Nested(ClusterDeliveriesSchema)


class CodesSchema(Schema):
    minted = ma.fields.Integer(metadata={"description": "codes minted in the period"})
    scans = ma.fields.Integer(metadata={"description": "genuine scans in the period"})
    codes_first_scanned = ma.fields.Integer(
        metadata={"description": "codes scanned for the first time in the period"}
    )
    suspected_copies = ma.fields.Integer(
        metadata={"description": "codes flagged as likely copies in the period"}
    )


class CodesWithPreviousSchema(CodesSchema):
    previous = ma.fields.Nested(CodesSchema)


class DayScansSchema(Schema):
    day = ma.fields.Date(metadata={"description": "local day"})
    scans = ma.fields.Integer()
    codes_first_scanned = ma.fields.Integer()


class VillageFiguresSchema(Schema):
    village_id = ma.fields.Integer()
    name_zh = ma.fields.String()
    name_en = ma.fields.String()
    latitude = ma.fields.Decimal(as_string=True)
    longitude = ma.fields.Decimal(as_string=True)
    cluster_id = ma.fields.Integer(allow_none=True)
    baseline_income_fen = fen_field()
    baseline_year = ma.fields.Integer()
    annual_target_fen = fen_field()
    period_target_fen = fen_field()
    income_line_fen = fen_field()
    collective_income_fen = ma.fields.Integer()
    previous_collective_income_fen = ma.fields.Integer()
    sales = ma.fields.Nested(SalesSchema)
    previous_sales = ma.fields.Nested(SalesSchema)
    deliveries = ma.fields.Nested(DeliveriesSchema)
    previous_deliveries = ma.fields.Nested(DeliveriesSchema)
    codes = ma.fields.Nested(CodesSchema)
    previous_codes = ma.fields.Nested(CodesSchema)


class PeriodSchema(Schema):
    start = ma.fields.Date()
    end = ma.fields.Date(metadata={"description": "exclusive"})


class ClusterRefSchema(Schema):
    id = ma.fields.Integer()
    name_zh = ma.fields.String()
    name_en = ma.fields.String()


class MonthSalesSchema(Schema):
    month = ma.fields.String(metadata={"description": "YYYY-MM, local time"})
    net_sales_fen = ma.fields.Integer()


class ClusterFiguresSchema(Schema):
    cluster = ma.fields.Nested(ClusterRefSchema)
    period = ma.fields.Nested(PeriodSchema)
    previous_period = ma.fields.Nested(PeriodSchema)
    sales = ma.fields.Nested(SalesWithPreviousSchema)
    deliveries = ma.fields.Nested(ClusterDeliveriesWithPreviousSchema)
    codes = ma.fields.Nested(CodesWithPreviousSchema)
    collective_income_fen = ma.fields.Integer()
    previous_collective_income_fen = ma.fields.Integer()
    sales_by_month = ma.fields.List(ma.fields.Nested(MonthSalesSchema))
    scans_by_day = ma.fields.List(ma.fields.Nested(DayScansSchema))
    lots_by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    lots_by_grade = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    villages = ma.fields.List(ma.fields.Nested(VillageFiguresSchema))


class DashboardSettingsSchema(Schema):
    map_tile_url = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "XYZ tile template ({z}/{x}/{y}) set by MAP_TILE_URL; null draws the map offline"
        },
    )
    timezone = ma.fields.String()
    currency = ma.fields.String()
