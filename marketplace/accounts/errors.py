from marketplace.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized


class InvalidCredentials(Unauthorized):
    title = "Invalid credentials"


class MissingCredentials(Unauthorized):
    title = "Authentication required"


class RoleNotAllowed(Forbidden):
    title = "Your role may not do this"


class UserNotFound(NotFound):
    pass


class EmailTaken(Conflict):
    pass


class WeakPassword(InvalidInput):
    title = "Password too easy to guess"


class RoleDoesNotFitOrganisation(InvalidInput):
    pass
