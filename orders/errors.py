from marketplace.core.errors import BadRequest, Conflict, InvalidInput, InvalidState, NotFound


class OrderNotFound(NotFound):
    pass


class OutOfStock(Conflict):
    """Some lines cannot be reserved; `short` names every one of them."""


class GuestOrderTooLarge(InvalidInput):
    """A guest asked for more packs in one order than an unverified buyer may hold."""


class GuestHoldsExceeded(Conflict):
    """A guest's unpaid orders already hold what an unverified buyer may hold at once."""


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


class GuestNeedsEmail(InvalidInput):
    pass


class StripeEventMalformed(BadRequest):
    """Signed by Stripe, but not the shape its type promises: a 400, never a 500 to retry."""

    def __init__(self, detail: str, *, errors: dict) -> None:
        super().__init__(detail, errors=errors)
