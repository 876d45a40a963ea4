from marketplace.core.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound


class StandardNotFound(NotFound):
    pass


class InspectionNotFound(NotFound):
    pass


class GradeNotFound(NotFound):
    pass


class CertificateNotFound(NotFound):
    pass


class PhotoNotFound(NotFound):
    pass


class NoCurrentStandard(InvalidState):
    """No published standard is in force for the lot's category."""


class StandardVersionTaken(Conflict):
    pass


class StandardPublished(Conflict):
    title = "A published standard version is immutable"


class InvalidStandard(InvalidInput):
    pass


class InvalidSample(InvalidInput):
    pass


class InvalidPhoto(InvalidInput):
    pass


class InvalidSamplingPlan(InvalidInput):
    pass


class UnknownGrade(InvalidInput):
    pass


class OwnLot(Forbidden):
    title = "Nobody grades their own produce"


class LotNotInspected(InvalidState):
    pass


class LotNotGraded(InvalidState):
    title = "The lot has no grade"


class LotRejected(InvalidState):
    title = "The lot was rejected"


class LotRecalled(InvalidState):
    title = "The lot was recalled"


class ResidueNotNegative(InvalidState):
    title = "No negative residue result"


class GradeBelowBrandMinimum(InvalidState):
    title = "Grade below the brand's minimum"
