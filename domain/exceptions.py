"""Named domain errors; the API maps each to one status code in one place."""

from __future__ import annotations

from domain.secret_words import scrub_text


class RegflowError(Exception):
    """Base of every error the product raises on purpose."""

    # Where the refusal itself was recorded in the log (0: it was not), so a caller can
    # wait for its read models to show it before answering.
    recorded_position = 0

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors if errors is not None else [message]


class NotFound(RegflowError):
    """Something asked for does not exist (or belongs to another organisation). Its message
    quotes what was asked for (a path's id or name, any text), masked as every shown text is:
    `password=...` sent as an id is not said back."""


class JobNotFound(NotFound):
    def __init__(self, job_id: object) -> None:
        super().__init__(f"Job not found: {scrub_text(str(job_id))}")


class BatchNotFound(NotFound):
    def __init__(self, batch_id: object) -> None:
        super().__init__(f"Batch not found: {scrub_text(str(batch_id))}")


class SubStepNotFound(NotFound):
    def __init__(self, key: str) -> None:
        super().__init__(f"Unknown sub-step: {scrub_text(key)}")
        self.key = key


class IllegalTransition(RegflowError):
    """A status change the state machine does not allow."""


class JobIsRunning(RegflowError):
    """An edit was asked of a job that is running."""

    def __init__(self, job_id: object) -> None:
        super().__init__(f"Job {job_id} is running: cancel it or wait for it to stop")


class SubStepInFlight(RegflowError):
    """An edit was asked of a sub-step whose call is in flight: the job was cancelled while it
    ran, and the call's outcome is recorded when it ends."""


class NothingToResume(RegflowError):
    """Resume was asked of a job whose Step 6 never started."""

    def __init__(self) -> None:
        super().__init__("No Step 6 progress to resume from: start Step 6 of this job instead")


class EditRejected(RegflowError):
    """One or more manual edits broke the editing rules; nothing was applied."""


class UnknownSubStepsEdited(EditRejected):
    """Edits naming sub-steps the plan does not have; nothing was applied."""


class DependencyNotSatisfied(EditRejected):
    """A sub-step cannot be marked completed while a dependency is not settled well."""


class JobConflict(RegflowError):
    """Another writer changed the job first and the command could not be re-run."""


class JobChanged(RegflowError):
    """A conditional command found the job at another version than any its sender had read
    (HTTP's If-Match): nothing was done, as the change was decided on a state now past."""

    def __init__(self, version: int) -> None:
        super().__init__(
            f"The job has changed since it was read (it is now at version {version}): read it "
            "again, and send the change again if it still holds"
        )
        self.version = version


class InvalidInput(RegflowError):
    """A value given to a command is malformed."""


class IdempotencyKeyReused(InvalidInput):
    """An idempotency key already named a request with other content."""


def quoted_key(key: str) -> str:
    """An Idempotency-Key as a refusal names it: in quotes, not as a value given to a name
    (`Idempotency-Key: k`), which every shown text masks as a secret's (`key`). A key that is
    itself a credential is still masked: a token is masked wherever it stands."""
    return f'Idempotency-Key "{key}"'


ERASED_REQUEST = (
    "This Idempotency-Key named a request of an organisation whose data was erased: what it "
    "sent can no longer be compared, so nothing was done"
)
"""Said for any request repeating such a key, the same content or not: no answer tells a
guess of the erased content from another."""
