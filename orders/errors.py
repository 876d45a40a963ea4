from marketplace.errors import Conflict, InvalidInput, InvalidState, NotFound


class OrderNotFound(NotFound):
    pass


class OutOfStock(Conflict):
    """Some lines cannot be reserved; `short` names every one of them."""


class SkuNotOnSale(InvalidInput):
    pass


class OrderNotPayable(InvalidState):
    pass


class OrderNotCancellable(InvalidState):
    pass


class OrderNotFulfillable(InvalidState):
    pass


class RefundTooLarge(Conflict):
    pass


class RefundPending(Conflict):
    """A refund of the payment waits for Stripe's answer; another one would race it."""


class GuestNeedsEmail(InvalidInput):
    pass
