"""schemathesis against our own OpenAPI document: no 5xx, no response that breaks the contract.

Under test an unexpected exception re-raises instead of becoming a 500, so a crash anywhere
fails here loudly. Runs on SQLite and on PostgreSQL like every database test.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import factories

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@schemathesis.pytest.from_fixture("api_schema").parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_documented_contract(case, session, callers):
    # A fresh token per case: the fuzzer may well revoke the one it is given.
    token = factories.make_token(session, callers.operator.user)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
