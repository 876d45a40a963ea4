from marketplace.errors import InvalidInput, InvalidState


class EventInFuture(InvalidInput):
    pass


class LotNotTraceable(InvalidState):
    pass
