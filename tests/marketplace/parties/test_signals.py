from __future__ import annotations

import pytest

from marketplace.core.signals import NoReceiver
from marketplace.parties import service, signals
from tests.factories import make_membership, make_organisation, make_village


def test_a_grower_does_not_leave_a_village_when_no_brand_gate_withdraws_its_lots(session, disconnect):
    grower = make_organisation(session)
    village = make_village(session)
    make_membership(session, organisation_id=grower.id, village_id=village.id)
    disconnect(signals.village_left)

    with pytest.raises(NoReceiver):
        service.remove_village_membership(session, organisation_id=grower.id, village_id=village.id)
