from __future__ import annotations

from marketplace.core import db
from marketplace.core.access import current_user, requires
from marketplace.core.http import ApiView, Blueprint, SelectPage
from marketplace.parties import service
from marketplace.parties.models import Role
from marketplace.parties.schemas import (
    ClusterQuerySchema,
    ClusterSchema,
    ClusterUpdateSchema,
    OrganisationQuerySchema,
    OrganisationSchema,
    OrganisationUpdateSchema,
    PairingQuerySchema,
    PairingSchema,
    VillageMembershipSchema,
    VillageQuerySchema,
    VillageSchema,
    VillageUpdateSchema,
)

blp = Blueprint(
    "parties",
    __name__,
    url_prefix="/api/v1",
    description="Clusters, villages, organisations and village–enterprise pairings",
)


@blp.route("/clusters")
@blp.etag
class Clusters(ApiView):
    @blp.arguments(ClusterQuerySchema, location="query")
    @blp.response(200, ClusterSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List clusters (片区组团)"""
        return service.list_clusters(db.session(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(ClusterSchema)
    @blp.response(201, ClusterSchema)
    def post(self, data):
        """Create a cluster"""
        return service.create_cluster(db.session(), **data)


@blp.route("/clusters/<int:cluster_id>")
@blp.etag
class ClusterById(ApiView):
    @blp.response(200, ClusterSchema)
    def get(self, cluster_id):
        """Get a cluster"""
        return service.get_cluster(db.session(), cluster_id)

    @requires(Role.OPERATOR)
    @blp.arguments(ClusterUpdateSchema)
    @blp.response(200, ClusterSchema)
    def patch(self, changes, cluster_id):
        """Change a cluster's names, villages or operator"""
        blp.check_etag(service.get_cluster(db.session(), cluster_id), ClusterSchema)
        return service.update_cluster(db.session(), cluster_id=cluster_id, changes=changes)


@blp.route("/villages")
@blp.etag
class Villages(ApiView):
    @blp.arguments(VillageQuerySchema, location="query")
    @blp.response(200, VillageSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List villages"""
        return service.list_villages(db.session(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(VillageSchema)
    @blp.response(201, VillageSchema)
    def post(self, data):
        """Add a village"""
        return service.create_village(db.session(), **data)


@blp.route("/villages/<int:village_id>")
@blp.etag
class VillageById(ApiView):
    @blp.response(200, VillageSchema)
    def get(self, village_id):
        """Get a village"""
        return service.get_village(db.session(), village_id)

    @requires(Role.OPERATOR)
    @blp.arguments(VillageUpdateSchema)
    @blp.response(200, VillageSchema)
    def patch(self, changes, village_id):
        """Change a village, e.g. its baseline collective income"""
        blp.check_etag(service.get_village(db.session(), village_id), VillageSchema)
        return service.update_village(db.session(), village_id=village_id, changes=changes)


@blp.route("/organisations")
@blp.etag
class Organisations(ApiView):
    @blp.arguments(OrganisationQuerySchema, location="query")
    @blp.response(200, OrganisationSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List cooperatives, enterprises, strong-village companies and operators"""
        return service.list_organisations(db.session(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(OrganisationSchema)
    @blp.response(201, OrganisationSchema)
    def post(self, data):
        """Register an organisation"""
        return service.create_organisation(db.session(), **data)


@blp.route("/organisations/<int:organisation_id>")
@blp.etag
class OrganisationById(ApiView):
    @blp.response(200, OrganisationSchema)
    def get(self, organisation_id):
        """Get an organisation"""
        return service.get_organisation(db.session(), organisation_id)

    @requires(Role.OPERATOR)
    @blp.arguments(OrganisationUpdateSchema)
    @blp.response(200, OrganisationSchema)
    def patch(self, changes, organisation_id):
        """Change an organisation"""
        blp.check_etag(service.get_organisation(db.session(), organisation_id), OrganisationSchema)
        return service.update_organisation(db.session(), organisation_id=organisation_id, changes=changes)


@blp.route("/organisations/<int:organisation_id>/villages")
@blp.etag
class OrganisationVillages(ApiView):
    @requires()
    @blp.response(200, VillageMembershipSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, organisation_id):
        """List the villages a grower works in (your own, or any as the operator)"""
        return service.list_village_memberships(
            db.session(), actor=current_user(), organisation_id=organisation_id
        )

    @requires(Role.OPERATOR)
    @blp.arguments(VillageMembershipSchema)
    @blp.response(201, VillageMembershipSchema)
    def post(self, data, organisation_id):
        """Record that a grower works in a village: its produce may come from there"""
        return service.add_village_membership(db.session(), organisation_id=organisation_id, **data)


@blp.route("/organisations/<int:organisation_id>/villages/<int:village_id>")
class OrganisationVillageById(ApiView):
    @requires(Role.OPERATOR)
    @blp.response(204)
    def delete(self, organisation_id, village_id):
        """Record that a grower no longer works in a village; its lots from there leave the shop"""
        service.remove_village_membership(
            db.session(), organisation_id=organisation_id, village_id=village_id
        )


@blp.route("/pairings")
@blp.etag
class Pairings(ApiView):
    @blp.arguments(PairingQuerySchema, location="query")
    @blp.response(200, PairingSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List village–enterprise pairings (村企结对)"""
        return service.list_pairings(db.session(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(PairingSchema)
    @blp.response(201, PairingSchema)
    def post(self, data):
        """Pair an enterprise with a village"""
        return service.create_pairing(db.session(), **data)
