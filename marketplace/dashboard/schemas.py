from __future__ import annotations

import marshmallow as ma

from marketplace.schemas import QuerySchema, Schema, fen_field, id_field


class PeriodQuerySchema(QuerySchema):
    start = ma.fields.Date(data_key="from", metadata={"description": "first day (local), "
                                                                    "default 1 January"})
    end = ma.fields.Date(data_key="to", metadata={"description": "last day (local), inclusive, "
                                                                "default today"})

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
    collective_income_fen = ma.fields.Integer()
    previous_collective_income_fen = ma.fields.Integer()
    sales_by_month = ma.fields.List(ma.fields.Nested(MonthSalesSchema))
    lots_by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    lots_by_grade = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    villages = ma.fields.List(ma.fields.Nested(VillageFiguresSchema))
