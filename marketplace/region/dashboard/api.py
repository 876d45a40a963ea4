from __future__ import annotations

from datetime import datetime, timedelta

from flask import jsonify

from marketplace.core import db
from marketplace.core.access import requires
from marketplace.core.http import ApiView, Blueprint, download, runtime
from marketplace.parties.models import Role
from marketplace.region.dashboard import exports, service
from marketplace.region.dashboard.schemas import (
    ClusterFiguresSchema,
    DashboardSettingsSchema,
    MapQuerySchema,
    PeriodQuerySchema,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

blp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/api/v1/dashboard",
    description="Cluster and village figures against their targets (operators)",
)


def _period(query: dict) -> service.Period:
    zone = runtime().settings.zone
    default = service.default_period(datetime.now(zone).date())
    start = query.get("start", default.start)
    end = query["end"] + timedelta(days=1) if "end" in query else default.end
    return service.Period(start, max(end, start + timedelta(days=1)))


@blp.route("/clusters/<int:cluster_id>")
class ClusterFigures(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(PeriodQuerySchema, location="query")
    @blp.response(200, ClusterFiguresSchema)
    def get(self, query, cluster_id):
        """A cluster's sales, collective income per village against baseline and targets, and lots"""
        return _figures(query, cluster_id)


@blp.route("/settings")
class DashboardSettings(ApiView):
    @requires(Role.OPERATOR)
    @blp.response(200, DashboardSettingsSchema)
    def get(self):
        """What the page needs to draw: the map tile template (empty: offline map) and the zone"""
        settings = runtime().settings
        return {
            "map_tile_url": settings.map_tile_url or None,
            "timezone": settings.timezone,
            "currency": settings.currency,
        }


@blp.route("/villages.geojson")
class VillageMap(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(MapQuerySchema, location="query")
    @blp.response(
        200,
        content_type="application/geo+json",
        description="a GeoJSON FeatureCollection of villages with their figures",
    )
    def get(self, query):
        """Villages as GeoJSON points with their figures, for any map client (一张图)"""
        cluster_id = query.pop("cluster_id", None)
        collection = service.villages_geojson(
            db.session(), cluster_id=cluster_id, period=_period(query), zone=runtime().settings.zone
        )
        response = jsonify(collection)
        response.mimetype = "application/geo+json"
        return response


@blp.route("/clusters/<int:cluster_id>/villages.csv")
class ClusterCsv(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(PeriodQuerySchema, location="query")
    @blp.response(200, content_type="text/csv", description="one row per village")
    def get(self, query, cluster_id):
        """The cluster's village figures as CSV"""
        figures = _figures(query, cluster_id)
        return download(
            exports.villages_csv(figures),
            mimetype="text/csv",
            filename=f"cluster-{cluster_id}-{figures['period']['start']}.csv",
        )


@blp.route("/clusters/<int:cluster_id>/villages.xlsx")
class ClusterXlsx(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(PeriodQuerySchema, location="query")
    @blp.response(200, content_type=XLSX, description="villages and a summary sheet")
    def get(self, query, cluster_id):
        """The cluster's figures as an Excel workbook"""
        figures = _figures(query, cluster_id)
        return download(
            exports.villages_xlsx(figures),
            mimetype=XLSX,
            filename=f"cluster-{cluster_id}-{figures['period']['start']}.xlsx",
        )


@blp.route("/clusters/<int:cluster_id>/report.pdf")
class ClusterReport(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(PeriodQuerySchema, location="query")
    @blp.response(200, content_type="application/pdf", description="one A4 page")
    def get(self, query, cluster_id):
        """A one-page PDF report of the cluster for the period"""
        figures = _figures(query, cluster_id)
        return download(
            exports.cluster_report_pdf(figures),
            mimetype="application/pdf",
            filename=f"cluster-{cluster_id}-{figures['period']['start']}.pdf",
        )


def _figures(query: dict, cluster_id: int) -> dict:
    return service.cluster_figures(
        db.session(), cluster_id=cluster_id, period=_period(query), zone=runtime().settings.zone
    )
