from __future__ import annotations

from marketplace.core.errors import BadRequest, Conflict, InvalidInput, InvalidState, NotFound


class MalformedDigitalLink(BadRequest):
    """The URI is not a GS1 Digital Link we can read."""


class CodeNotFound(NotFound):
    pass


class CodeBatchNotFound(NotFound):
    pass


class UnknownLinkType(NotFound):
    pass


class SkuNotOfLot(InvalidInput):
    pass


class TooManyCodes(InvalidInput):
    pass


class LabelSheetTooLarge(InvalidInput):
    title = "Label sheet too large"


class SerialSpaceExhausted(Conflict):
    pass


class LotNotCodable(Conflict):
    pass


class EventInFuture(InvalidInput):
    pass


class LotNotTraceable(InvalidState):
    pass
