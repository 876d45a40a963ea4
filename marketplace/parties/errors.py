from marketplace.core.errors import Conflict, Forbidden, InvalidInput, NotFound


class NotYours(Forbidden):
    title = "This belongs to another organisation"


class ClusterNotFound(NotFound):
    pass


class VillageNotFound(NotFound):
    pass


class OrganisationNotFound(NotFound):
    pass


class VillageInAnotherCluster(Conflict):
    pass


class DuplicateName(Conflict):
    pass


class PairingExists(Conflict):
    pass


class WrongOrganisationKind(InvalidInput):
    pass


class KeyVillageNotMember(InvalidInput):
    pass


class VillageNotServed(Forbidden):
    """The grower does not work in this village, as far as the operator has recorded."""


class MembershipExists(Conflict):
    pass


class MembershipNotFound(NotFound):
    pass
