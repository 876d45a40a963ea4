from __future__ import annotations

from marketplace.core import audit as service
from marketplace.core import db
from marketplace.core.access import requires
from marketplace.core.http import ApiView, Blueprint, SelectPage
from marketplace.parties.models import Role
from marketplace.region.audit.schemas import AuditEventQuerySchema, AuditEventSchema

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="The audit trail of every write")


@blp.route("/audit-events")
class AuditEvents(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(AuditEventQuerySchema, location="query")
    @blp.response(200, AuditEventSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List audit events, newest first: who changed what, when, from which request"""
        return service.list_events(db.session(), **query)
