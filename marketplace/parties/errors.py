from marketplace.errors import Conflict, InvalidInput, NotFound


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
