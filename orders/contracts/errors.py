from marketplace.core.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound


class ContractNotFound(NotFound):
    pass


class DeliveryNotFound(NotFound):
    pass


class SettlementNotFound(NotFound):
    pass


class NotAContractParty(Forbidden):
    """Only the enterprise, the grower and operators see or act on a contract."""


class ContractTermsInvalid(InvalidInput):
    pass


class ContractSigned(Conflict):
    """Signed terms are frozen: change them by an amendment that both parties sign."""


class ContractNotActive(InvalidState):
    pass


class AlreadySigned(Conflict):
    pass


class NothingToSign(InvalidState):
    pass


class DeliveryInvalid(InvalidInput):
    pass


class DeliveryAlreadyDecided(InvalidState):
    pass


class GradeBelowContractMinimum(Conflict):
    pass


class OverContractQuantity(Conflict):
    """Accepting this would take the contract past its quantity plus tolerance."""


class MarketPriceMissing(Conflict):
    pass


class NothingToSettle(InvalidState):
    pass


class DeductionsExceedDeliveries(Conflict):
    pass


class SettlementAlreadyPaid(InvalidState):
    pass


class MarketPriceRecorded(Conflict):
    """A day's price, once recorded, may have priced deliveries: it is not rewritten."""


class CallOffInvalid(InvalidInput):
    pass


class NotAnInvoiceCallOff(InvalidState):
    pass


class BankReferenceUsed(Conflict):
    pass
