"""Rules over a job's statuses: the seed's last complete phase, the resume plan, the menu
conditionals and the phase history that must follow the sub-steps.

Menu conditionals (SPEC section 6, seed Phase D). A sub-step with a condition (`optionSets`
and `itemTags` run only when `menuImportSucceeded`) is decided when its dependencies have
settled well (completed or skipped):

- the condition holds: it runs;
- the condition does not hold (`menuImport` ended skipped, by config or by hand, or an
  imported context says the menu import did not succeed): it is recorded `skipped` with the
  reason, and no call is made.

A dependency that FAILED decides nothing yet: the conditional sub-step is `blocked` (derived,
as every dependent of a failure is), so a resume that gives `menuImport` fresh attempts runs
it when the import then succeeds. Manual edits follow the dependency rule only: marking
`optionSets` completed needs `menuImport` completed or skipped, whatever the context says.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from domain.plan import PLAN
from domain.status import SETTLED_WELL, PhaseStatus, SubStepStatus

_S = SubStepStatus
SETTLED_PHASES = frozenset({PhaseStatus.COMPLETED, PhaseStatus.FAILED})
# A phase's mark once the engine started it (`PhaseStarted`), before any word on its status.
STARTED = "started"


def last_complete_phase(phases: Mapping[str, str]) -> str | None:
    """The seed's `detectLastCompletePhase`: the last of the phases completed in order."""
    last: str | None = None
    for phase in PLAN.phases:
        if phases[phase] != PhaseStatus.COMPLETED:
            break
        last = phase
    return last


def conditional_skips(
    statuses: Mapping[str, str], context: Mapping[str, Any] | Callable[[], Mapping[str, Any]]
) -> dict[str, str]:
    """Pending conditional sub-steps to record skipped now, each with its reason.

    `context` may be the function that folds it: it is then folded only when a conditional
    sub-step is ready to be decided, not after every answer of a run.
    """
    skips: dict[str, str] = {}
    folded = context if isinstance(context, Mapping) else None
    for step in PLAN.conditional:
        assert step.runs_if is not None
        ready = all(statuses[d] in SETTLED_WELL for d in step.depends_on)
        if statuses[step.key] != _S.PENDING or not ready:
            continue
        if folded is None:
            assert not isinstance(context, Mapping)
            folded = context()
        if not folded.get(step.runs_if.context_key):
            skips[step.key] = step.runs_if.unmet_reason
    return skips


def conditional_reopens(
    statuses: Mapping[str, str],
    skipped_by_rule: Collection[str],
    context: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
) -> dict[str, str]:
    """Conditional sub-steps the rule skipped (`skipped_by_rule`) whose reason is gone, to
    record pending again, each with why: a dependency no longer settled well (failed, or to
    run again: the sub-step waits on it, `blocked` while it stays failed), or the flag the
    rule wants holds now (`menuImport` marked completed by hand after it was skipped).
    """
    reopens: dict[str, str] = {}
    folded = context if isinstance(context, Mapping) else None
    for step in PLAN.conditional:
        assert step.runs_if is not None
        if step.key not in skipped_by_rule or statuses[step.key] != _S.SKIPPED:
            continue
        unsettled = [d for d in step.depends_on if statuses[d] not in SETTLED_WELL]
        if unsettled:
            reopens[step.key] = f"waiting on {', '.join(unsettled)} again"
            continue
        if folded is None:
            assert not isinstance(context, Mapping)
            folded = context()
        if folded.get(step.runs_if.context_key):
            reopens[step.key] = step.runs_if.met_reason
    return reopens


def reopen_warning(reopens: Mapping[str, str]) -> str:
    """What an edit is told of the rule's skips it takes back (`conditional_reopens`)."""
    why = "; ".join(dict.fromkeys(reopens.values()))
    return f"{', '.join(reopens)}, skipped by the menu rule, become pending again: {why}"


def reskip_warning(skips: Mapping[str, str]) -> str:
    """What a reset is told of the sub-steps it makes pending that the rule skips at once."""
    why = "; ".join(dict.fromkeys(skips.values()))
    return f"{', '.join(skips)} reset, but skipped again at once by the menu rule: {why}"


@dataclass(frozen=True)
class ResumePlan:
    """What a resume does: the seed's last complete phase, where work resumes, what runs."""

    resuming_from: str | None
    phase: str | None
    sub_steps: list[str]
    fresh_attempts: list[str]
    new_generations: dict[str, int]

    def as_answer(self) -> dict[str, Any]:
        """`resuming_from` and `resume_plan`, as the API, CLI and events show them."""
        return {
            "resuming_from": self.resuming_from,
            "resume_plan": {"phase": self.phase, "sub_steps": list(self.sub_steps)},
        }


def plan_resume(
    statuses: Mapping[str, str],
    phases: Mapping[str, str],
    failures: Mapping[str, tuple[bool | None, int]],
    context: Mapping[str, Any],
    switched_off: Collection[str] = (),
    stopped_retrying: Collection[str] = (),
) -> ResumePlan:
    """The resume of a stopped job; `failures` holds each failed sub-step's (transient, gen).

    Failed sub-steps get fresh attempts, as do those a cancel stopped while they waited to
    retry (`stopped_retrying`: pending, with attempts made in the run the cancel ended);
    failed ones whose last failure was definitive (transient False: the API answered and
    nothing happened) also get a new idempotency generation.
    An unknown outcome (transient, interrupted, imported) keeps its key. What runs leaves out
    what the resume skips without a call: the sub-steps the execution_config `switched_off`,
    then those the menu's outcome rules out.
    """
    failed = [k for k in PLAN.keys if statuses[k] == _S.FAILED]
    fresh = [k for k in PLAN.keys if k in failed or k in stopped_retrying]
    after = {k: (_S.PENDING if k in fresh else s) for k, s in statuses.items()}
    after |= {k: _S.SKIPPED for k in switched_off if after[k] == _S.PENDING}
    skipped = conditional_skips(after, context)
    runs = [k for k in PLAN.keys if after[k] not in SETTLED_WELL and k not in skipped]
    generations = {k: failures[k][1] + 1 for k in failed if failures[k][0] is False}
    return ResumePlan(
        resuming_from=last_complete_phase(phases),
        phase=PLAN.phase_of(runs[0]) if runs else None,
        sub_steps=runs,
        fresh_attempts=fresh,
        new_generations=generations,
    )


def phase_changes(
    phases: Mapping[str, str], marks: Mapping[str, str]
) -> list[tuple[str, str, bool]]:
    """(phase, true status, settled?) for each phase whose last recorded word is no longer true.

    A phase settles (completed or failed) once it is reached: every earlier phase has
    settled, or it was started (the engine starts a phase only then). A phase whose last word
    was a settled status has that word kept true wherever the earlier phases stand; one whose
    last word reopened it waits for them, as one never reached does. A settled mark on a phase
    that is open again is reopened.
    """
    changes: list[tuple[str, str, bool]] = []
    reached = True
    for phase in PLAN.phases:
        status, mark = phases[phase], marks.get(phase)
        settled = status in SETTLED_PHASES
        said = mark == STARTED or mark in SETTLED_PHASES
        if settled and mark != status and (reached or said):
            changes.append((phase, status, True))
        elif not settled and mark in SETTLED_PHASES:
            changes.append((phase, status, False))
        reached = reached and settled
    return changes
