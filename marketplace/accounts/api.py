from __future__ import annotations

from datetime import timedelta

from marketplace.accounts import service
from marketplace.accounts.access import bearer_token, current_user
from marketplace.accounts.errors import MissingCredentials
from marketplace.accounts.schemas import (
    MeSchema,
    TokenRequestSchema,
    TokenSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
)
from marketplace.core import db
from marketplace.core.access import requires
from marketplace.core.http import ApiView, Blueprint, SelectPage, runtime
from marketplace.parties.models import Role

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Accounts and bearer tokens")


@blp.route("/auth/token")
class Token(ApiView):
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    def post(self, credentials):
        """Exchange an e-mail and password for a bearer token"""
        settings = runtime().settings
        raw, token = service.issue_token(
            db.session(), **credentials, lifetime=timedelta(hours=settings.token_lifetime_hours)
        )
        return {"access_token": raw, "token_type": "Bearer", "expires_at": token.expires_at}

    @requires()
    @blp.response(204)
    def delete(self):
        """Revoke the token this request carries"""
        raw = bearer_token()
        if raw is None:
            raise MissingCredentials("send 'Authorization: Bearer <token>' from POST /api/v1/auth/token")
        service.revoke_token(db.session(), raw)


@blp.route("/me")
class Me(ApiView):
    @requires()
    @blp.response(200, MeSchema)
    def get(self):
        """Who this token belongs to: user, role and organisation"""
        user = current_user()
        return {"user": user, "role": user.role, "organisation": user.organisation}


@blp.route("/users")
class Users(ApiView):
    @requires(Role.OPERATOR)
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserSchema(many=True))
    @blp.paginate(SelectPage)
    def get(self, query):
        """List accounts"""
        return service.list_users(db.session(), **query)

    @requires(Role.OPERATOR)
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create an account for a member of an organisation"""
        return service.create_user(db.session(), **data)


@blp.route("/users/<int:user_id>")
class UserById(ApiView):
    @requires(Role.OPERATOR)
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """Get an account"""
        return service.get_user(db.session(), user_id)
