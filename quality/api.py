from __future__ import annotations

from flask import make_response, request

from marketplace.accounts.access import current_user
from marketplace.core import db
from marketplace.core.access import requires
from marketplace.core.http import ApiView, Blueprint, SelectPage, download
from marketplace.parties.models import Role
from quality import service
from quality.schemas import (
    BrandMinimumGradeSchema,
    BrandMinimumQuerySchema,
    CertificateCreateSchema,
    CertificateSchema,
    CurrentStandardQuerySchema,
    GradeRequestSchema,
    GradeSchema,
    InspectionCreateSchema,
    InspectionSchema,
    LotQualitySchema,
    SamplingPlanQuerySchema,
    SamplingPlanSchema,
    StandardPublishSchema,
    StandardQuerySchema,
    StandardSchema,
    StandardUpdateSchema,
)

blp = Blueprint(
    "quality",
    __name__,
    url_prefix="/api/v1",
    description="Quality standards, inspections, grades, certificates and the brand gate",
)


@blp.route("/quality/standards")
class Standards(ApiView):
    @blp.arguments(StandardQuerySchema, location="query")
    @blp.response(200, StandardSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List quality standard versions (品控标准)"""
        return service.list_standards(db.session(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(StandardSchema)
    @blp.response(201, StandardSchema)
    def post(self, data):
        """Draft a standard version"""
        return service.create_standard(db.session(), **data)


@blp.route("/quality/standards/current")
class CurrentStandard(ApiView):
    @blp.arguments(CurrentStandardQuerySchema, location="query")
    @blp.response(200, StandardSchema)
    def get(self, query):
        """The standard version in force for a category on a day"""
        return service.get_current_standard(db.session(), **query)


@blp.route("/quality/standards/<int:standard_id>")
class StandardById(ApiView):
    @blp.response(200, StandardSchema)
    def get(self, standard_id):
        """Get a standard version"""
        return service.get_standard(db.session(), standard_id)

    @requires(Role.OPERATOR)
    @blp.arguments(StandardUpdateSchema)
    @blp.response(200, StandardSchema)
    def patch(self, changes, standard_id):
        """Change a draft standard version (published ones are immutable: 409)"""
        return service.update_standard(db.session(), standard_id=standard_id, changes=changes)


@blp.route("/quality/standards/<int:standard_id>/publish")
class StandardPublication(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(StandardPublishSchema)
    @blp.response(200, StandardSchema)
    def post(self, data, standard_id):
        """Publish a standard version; from its effective date it supersedes earlier ones"""
        return service.publish_standard(db.session(), standard_id=standard_id, **data)


@blp.route("/quality/sampling-plan")
class SamplingPlan(ApiView):
    @blp.arguments(SamplingPlanQuerySchema, location="query")
    @blp.response(200, SamplingPlanSchema)
    def get(self, query):
        """ISO 2859-1 single sampling plan, normal inspection: sample size and accept/reject numbers"""
        return service.plan_sample(**query).as_dict()


@blp.route("/quality/brand-minimum-grades")
class BrandMinimumGrades(ApiView):
    @blp.arguments(BrandMinimumQuerySchema, location="query")
    @blp.response(200, BrandMinimumGradeSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List the brands' minimum grades"""
        return service.list_brand_minimums(db.session(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(BrandMinimumGradeSchema)
    @blp.response(200, BrandMinimumGradeSchema)
    def post(self, data):
        """Set the lowest grade of a standard that may carry a brand"""
        return service.set_brand_minimum(db.session(), **data)


@blp.route("/lots/<int:lot_id>/inspections")
class LotInspections(ApiView):
    @blp.response(200, InspectionSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, lot_id):
        """List a lot's inspections, oldest first"""
        return service.list_inspections(db.session(), lot_id=lot_id)

    @requires(Role.INSPECTOR)
    @blp.arguments(InspectionCreateSchema)
    @blp.response(201, InspectionSchema)
    def post(self, data, lot_id):
        """Record a sample of a lot (inspectors; never of their own organisation's lot)"""
        return service.record_inspection(db.session(), actor=current_user(), lot_id=lot_id, **data)


@blp.route("/inspections/<int:inspection_id>")
class InspectionById(ApiView):
    @blp.response(200, InspectionSchema)
    def get(self, inspection_id):
        """Get an inspection"""
        return service.get_inspection(db.session(), inspection_id)


@blp.route("/inspections/<int:inspection_id>/photos/<int:photo_id>")
class InspectionPhotoById(ApiView):
    @blp.response(200, content_type="image/*", description="the photo as uploaded")
    def get(self, inspection_id, photo_id):
        """Download an inspection photo"""
        photo = service.get_photo(db.session(), inspection_id=inspection_id, photo_id=photo_id)
        response = make_response(photo.data)
        response.mimetype = photo.media_type
        response.set_etag(photo.sha256)
        return response.make_conditional(request)


@blp.route("/lots/<int:lot_id>/grades")
class LotGrades(ApiView):
    @blp.response(200, GradeSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, lot_id):
        """List a lot's grades, oldest first"""
        return service.list_grades(db.session(), lot_id=lot_id)

    @requires(Role.INSPECTOR)
    @blp.arguments(GradeRequestSchema)
    @blp.response(201, GradeSchema)
    def post(self, data, lot_id):
        """Grade a lot's newest inspection; the explanation says why, criterion by criterion"""
        return service.grade_lot(db.session(), actor=current_user(), lot_id=lot_id, **data)


@blp.route("/lots/<int:lot_id>/quality")
class LotQuality(ApiView):
    @blp.response(200, LotQualitySchema)
    def get(self, lot_id):
        """A lot's current grade, inspection, certificates, recall and whether it may be sold"""
        return service.lot_quality(db.session(), lot_id)


@blp.route("/lots/<int:lot_id>/certificates")
class LotCertificates(ApiView):
    @blp.response(200, CertificateSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, lot_id):
        """List a lot's certificates"""
        return service.list_certificates(db.session(), lot_id=lot_id)

    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(CertificateCreateSchema)
    @blp.response(201, CertificateSchema)
    def post(self, data, lot_id):
        """Issue a 承诺达标合格证 for one of your graded lots with a negative residue test"""
        return service.issue_certificate(db.session(), actor=current_user(), lot_id=lot_id, **data)


@blp.route("/certificates/<int:certificate_id>")
class CertificateById(ApiView):
    @blp.response(200, CertificateSchema)
    def get(self, certificate_id):
        """Get a certificate, as the scan page shows it"""
        return service.get_certificate(db.session(), certificate_id)


@blp.route("/certificates/<int:certificate_id>/pdf")
class CertificatePdf(ApiView):
    @blp.response(200, content_type="application/pdf", description="the certificate as a PDF")
    def get(self, certificate_id):
        """Download a certificate as a PDF"""
        return download(
            service.certificate_pdf(db.session(), certificate_id),
            mimetype="application/pdf",
            filename=f"certificate-{certificate_id}.pdf",
            inline=True,
        )
