from __future__ import annotations

from flask import make_response, request

from catalog import licences, service
from catalog.schemas import (
    BrandLicenceQuerySchema,
    BrandLicenceSchema,
    BrandQuerySchema,
    BrandSchema,
    BrandUpdateSchema,
    CategorySchema,
    LicenceRevocationSchema,
    LogoUploadSchema,
    LotQuerySchema,
    LotSchema,
    LotStatusChangeSchema,
    LotUpdateSchema,
    ProductQuerySchema,
    ProductSchema,
    ProductUpdateSchema,
    SkuQuerySchema,
    SkuSchema,
    SkuUpdateSchema,
)
from marketplace.accounts.access import current_user
from marketplace.core import db
from marketplace.core.access import requires
from marketplace.core.http import ApiView, Blueprint, SelectPage, runtime
from marketplace.parties.models import Role

blp = Blueprint(
    "catalog",
    __name__,
    url_prefix="/api/v1",
    description="Brands, categories, products, SKUs and harvest lots",
)


@blp.route("/brands")
@blp.etag
class Brands(ApiView):
    @blp.arguments(BrandQuerySchema, location="query")
    @blp.response(200, BrandSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List brands (区域公用品牌)"""
        return service.list_brands(db.session(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(BrandSchema)
    @blp.response(201, BrandSchema)
    def post(self, data):
        """Create a cluster's brand"""
        return service.create_brand(db.session(), **data)


@blp.route("/brands/<int:brand_id>")
@blp.etag
class BrandById(ApiView):
    @blp.response(200, BrandSchema)
    def get(self, brand_id):
        """Get a brand"""
        return service.get_brand(db.session(), brand_id)

    @requires(Role.OPERATOR)
    @blp.arguments(BrandUpdateSchema)
    @blp.response(200, BrandSchema)
    def patch(self, changes, brand_id):
        """Change a brand's names, slogan or story"""
        blp.check_etag(service.get_brand(db.session(), brand_id), BrandSchema)
        return service.update_brand(db.session(), brand_id=brand_id, changes=changes)


@blp.route("/brands/<int:brand_id>/logo")
class BrandLogo(ApiView):
    @blp.response(200, content_type="image/png", description="the logo as a PNG")
    def get(self, brand_id):
        """Download a brand's logo"""
        png, digest = service.get_brand_logo(db.session(), brand_id)
        response = make_response(png)
        response.mimetype = "image/png"
        response.set_etag(digest)
        response.cache_control.public = True
        response.cache_control.max_age = 3600
        return response.make_conditional(request)

    @requires(Role.OPERATOR)
    @blp.arguments(LogoUploadSchema, location="files")
    @blp.response(200, BrandSchema)
    def put(self, files, brand_id):
        """Upload a brand's logo (multipart field `logo`); it is normalised to a PNG"""
        return service.set_brand_logo(
            db.session(),
            brand_id=brand_id,
            data=files["logo"].read(),
            max_bytes=runtime().settings.max_logo_bytes,
        )


@blp.route("/brand-licences")
@blp.etag
class BrandLicences(ApiView):
    @requires()
    @blp.arguments(BrandLicenceQuerySchema, location="query")
    @blp.response(200, BrandLicenceSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List brand licences: the operator sees all, a grower its own"""
        return licences.list_licences(db.session(), actor=current_user(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(BrandLicenceSchema)
    @blp.response(201, BrandLicenceSchema)
    def post(self, data):
        """License a grower to use a brand for a product line (category) and a period"""
        return licences.grant_licence(db.session(), actor=current_user(), **data)


@blp.route("/brand-licences/<int:licence_id>")
@blp.etag
class BrandLicenceById(ApiView):
    @requires()
    @blp.response(200, BrandLicenceSchema)
    def get(self, licence_id):
        """Get a brand licence (your own, or any as the operator)"""
        return licences.get_licence(db.session(), actor=current_user(), licence_id=licence_id)


@blp.route("/brand-licences/<int:licence_id>/revocation")
class BrandLicenceRevocation(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(LicenceRevocationSchema)
    @blp.response(200, BrandLicenceSchema)
    def post(self, data, licence_id):
        """Revoke a licence now; lots it covered leave the shop"""
        return licences.revoke_licence(db.session(), actor=current_user(), licence_id=licence_id, **data)


@blp.route("/categories")
@blp.etag
class Categories(ApiView):
    @blp.response(200, CategorySchema(many=True))
    @blp.paginate(SelectPage)
    def get(self):
        """List product categories"""
        return service.list_categories(db.session())

    @requires(Role.OPERATOR)
    @blp.arguments(CategorySchema)
    @blp.response(201, CategorySchema)
    def post(self, data):
        """Create a product category"""
        return service.create_category(db.session(), **data)


@blp.route("/products")
@blp.etag
class Products(ApiView):
    @blp.arguments(ProductQuerySchema, location="query")
    @blp.response(200, ProductSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List products"""
        return service.list_products(db.session(), **query)

    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(ProductSchema)
    @blp.response(201, ProductSchema)
    def post(self, data):
        """List a new product under a brand"""
        return service.create_product(db.session(), actor=current_user(), **data)


@blp.route("/products/<int:product_id>")
@blp.etag
class ProductById(ApiView):
    @blp.response(200, ProductSchema)
    def get(self, product_id):
        """Get a product"""
        return service.get_product(db.session(), product_id)

    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(ProductUpdateSchema)
    @blp.response(200, ProductSchema)
    def patch(self, changes, product_id):
        """Change one of your products"""
        blp.check_etag(service.get_product(db.session(), product_id), ProductSchema)
        return service.update_product(
            db.session(), actor=current_user(), product_id=product_id, changes=changes
        )


@blp.route("/skus")
@blp.etag
class Skus(ApiView):
    @blp.arguments(SkuQuerySchema, location="query")
    @blp.response(200, SkuSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List SKUs: what is sold, at what price"""
        return service.list_skus(db.session(), **query)

    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(SkuSchema)
    @blp.response(201, SkuSchema)
    def post(self, data):
        """Add a SKU to one of your products"""
        return service.create_sku(
            db.session(), actor=current_user(), currency=runtime().settings.currency, **data
        )


@blp.route("/skus/<int:sku_id>")
@blp.etag
class SkuById(ApiView):
    @blp.response(200, SkuSchema)
    def get(self, sku_id):
        """Get a SKU"""
        return service.get_sku(db.session(), sku_id)

    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(SkuUpdateSchema)
    @blp.response(200, SkuSchema)
    def patch(self, changes, sku_id):
        """Change one of your SKUs, e.g. its price"""
        blp.check_etag(service.get_sku(db.session(), sku_id), SkuSchema)
        return service.update_sku(db.session(), actor=current_user(), sku_id=sku_id, changes=changes)


@blp.route("/lots")
@blp.etag
class Lots(ApiView):
    @blp.arguments(LotQuerySchema, location="query")
    @blp.response(200, LotSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List harvest lots"""
        return service.list_lots(db.session(), **query)

    @requires(Role.COOPERATIVE)
    @blp.arguments(LotSchema)
    @blp.response(201, LotSchema)
    def post(self, data):
        """Register a harvest lot of one of your products"""
        return service.register_lot(db.session(), actor=current_user(), **data)


@blp.route("/lots/<int:lot_id>")
@blp.etag
class LotById(ApiView):
    @blp.response(200, LotSchema)
    def get(self, lot_id):
        """Get a harvest lot"""
        return service.get_lot(db.session(), lot_id)

    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(LotUpdateSchema)
    @blp.response(200, LotSchema)
    def patch(self, changes, lot_id):
        """Correct one of your lots (quantity and harvest date only while registered)"""
        blp.check_etag(service.get_lot(db.session(), lot_id), LotSchema)
        return service.update_lot(db.session(), actor=current_user(), lot_id=lot_id, changes=changes)


@blp.route("/lots/<int:lot_id>/status")
class LotStatus(ApiView):
    @requires(Role.COOPERATIVE, Role.OPERATOR)
    @blp.arguments(LotStatusChangeSchema)
    @blp.response(200, LotSchema)
    def post(self, data, lot_id):
        """Put a graded lot on sale, withdraw it from sale, or recall it (operators)"""
        return service.change_lot_status(db.session(), actor=current_user(), lot_id=lot_id, **data)
