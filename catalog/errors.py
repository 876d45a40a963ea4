from marketplace.core.errors import Conflict, DomainError, Forbidden, InvalidInput, InvalidState, NotFound


class BrandNotFound(NotFound):
    pass


class CategoryNotFound(NotFound):
    pass


class ProductNotFound(NotFound):
    pass


class SkuNotFound(NotFound):
    pass


class LotNotFound(NotFound):
    pass


class LogoNotFound(NotFound):
    pass


class DuplicateSlug(Conflict):
    pass


class GtinTaken(Conflict):
    pass


class LotCodeTaken(Conflict):
    pass


class InvalidGtin(InvalidInput):
    pass


class GrowerRequired(InvalidInput):
    pass


class HarvestInFuture(InvalidInput):
    pass


class InvalidLotTransition(InvalidState):
    pass


class LotNotEditable(InvalidState):
    pass


class LogoTooLarge(DomainError):
    status = 413


class UnsupportedLogo(DomainError):
    status = 415


class LicenceNotFound(NotFound):
    pass


class BrandNotLicensed(Forbidden):
    """The grower holds no licence in force for this brand and product line."""


class LicenceRevoked(Conflict):
    pass


class LicencePeriodEmpty(InvalidInput):
    pass
