"""Base class of domain errors: a stable code, a message, and the id of a conflicting row."""


class DomainError(Exception):
    code = "domain_error"
    # The input the error is about, where a form has it (the admin shows the message there).
    field: str | None = None

    def __init__(self, message: str, *, code: str | None = None, existing_id: int | None = None):
        message = str(message)  # a lazy translation, in the language active where it is raised
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.existing_id = existing_id

    def __str__(self) -> str:
        return self.message
