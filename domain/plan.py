"""The Step 6 plan: phases, sub-steps, their dependencies and endpoints, as data."""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from domain.exceptions import SubStepNotFound

PHASES: tuple[str, ...] = ("phase1", "phase2", "phase3", "phase4")


@dataclass(frozen=True)
class Condition:
    """A context flag a sub-step needs besides its dependencies, and why it is skipped without."""

    context_key: str
    unmet_reason: str
    met_reason: str  # why a skip for want of it is taken back: the flag holds now


MENU_IMPORTED = Condition(
    "menuImportSucceeded", "menu import did not succeed", "the menu import succeeded after all"
)


@dataclass(frozen=True)
class SubStep:
    """One external call of Step 6: where it sits, what it needs, what it calls."""

    key: str
    phase: str
    depends_on: tuple[str, ...]
    endpoint: str
    runs_if: Condition | None = None


SUB_STEPS: tuple[SubStep, ...] = (
    SubStep("cloudwaitressAccount", "phase1", (), "/api/registration/register-account"),
    SubStep("codeGeneration", "phase1", (), "/api/registration/generate-code-injections"),
    SubStep("createOnboardingUser", "phase1", (), "/api/registration/create-onboarding-user"),
    SubStep("uploadImages", "phase1", (), "/menus/{menuId}/upload-images"),
    SubStep(
        "restaurantRegistration",
        "phase2",
        ("cloudwaitressAccount",),
        "/api/registration/register-restaurant",
    ),
    SubStep(
        "websiteConfig",
        "phase2",
        ("codeGeneration", "restaurantRegistration"),
        "/api/registration/configure-website",
    ),
    SubStep(
        "servicesConfig",
        "phase2",
        ("restaurantRegistration",),
        "/api/registration/configure-services",
    ),
    SubStep(
        "paymentConfig",
        "phase2",
        ("restaurantRegistration",),
        "/api/registration/configure-payment",
    ),
    SubStep(
        "menuImport", "phase2", ("restaurantRegistration",), "/api/registration/import-menu-direct"
    ),
    SubStep(
        "syncOnboardingUser",
        "phase2",
        ("createOnboardingUser", "restaurantRegistration"),
        "/api/registration/update-onboarding-record",
    ),
    SubStep(
        "optionSets",
        "phase3",
        ("menuImport",),
        "/api/registration/add-option-sets",
        MENU_IMPORTED,
    ),
    SubStep(
        "itemTags", "phase4", ("menuImport",), "/api/registration/add-item-tags", MENU_IMPORTED
    ),
)


class Plan:
    """Queries over a validated dependency graph of sub-steps."""

    def __init__(self, phases: tuple[str, ...], sub_steps: tuple[SubStep, ...]) -> None:
        self.phases = phases
        self._by_key = {s.key: s for s in sub_steps}
        self._check(sub_steps)
        graph = {s.key: set(s.depends_on) for s in sub_steps}
        self.order: tuple[str, ...] = tuple(TopologicalSorter(graph).static_order())
        self._dependents = {
            key: tuple(s.key for s in sub_steps if key in s.depends_on) for key in self._by_key
        }
        self._keys = tuple(self._by_key)
        self._in_phase = {p: tuple(s.key for s in sub_steps if s.phase == p) for p in phases}

    def _check(self, sub_steps: tuple[SubStep, ...]) -> None:
        if len(self._by_key) != len(sub_steps):
            raise ValueError("sub-step keys must be unique")
        for step in sub_steps:
            if step.phase not in self.phases:
                raise ValueError(f"{step.key} names an unknown phase {step.phase}")
            for dep in step.depends_on:
                if dep not in self._by_key:
                    raise ValueError(f"{step.key} depends on unknown sub-step {dep}")
                if self.phases.index(self._by_key[dep].phase) > self.phases.index(step.phase):
                    raise ValueError(f"{step.key} depends on {dep} of a later phase")
        try:
            TopologicalSorter({s.key: s.depends_on for s in sub_steps}).prepare()
        except CycleError as exc:
            raise ValueError(f"the plan has a dependency cycle: {exc.args[1]}") from exc

    @property
    def keys(self) -> tuple[str, ...]:
        """Every sub-step key, in plan order."""
        return self._keys

    def sub_step(self, key: str) -> SubStep:
        """The sub-step called `key`, or SubStepNotFound."""
        try:
            return self._by_key[key]
        except KeyError:
            raise SubStepNotFound(key) from None

    def phase_of(self, key: str) -> str:
        return self.sub_step(key).phase

    def dependencies(self, key: str) -> tuple[str, ...]:
        return self.sub_step(key).depends_on

    def dependents(self, key: str) -> tuple[str, ...]:
        """Sub-steps that depend directly on `key`."""
        self.sub_step(key)
        return self._dependents[key]

    def cascade_of(self, key: str) -> tuple[str, ...]:
        """Every transitive dependent of `key`, in plan order."""
        seen: set[str] = set()
        frontier = list(self.dependents(key))
        while frontier:
            current = frontier.pop()
            if current not in seen:
                seen.add(current)
                frontier.extend(self._dependents[current])
        return tuple(k for k in self.order if k in seen)

    def in_phase(self, phase: str) -> tuple[str, ...]:
        return self._in_phase.get(phase, ())

    @property
    def conditional(self) -> tuple[SubStep, ...]:
        """Sub-steps that run only when a context flag is set, in plan order."""
        return tuple(s for s in self._by_key.values() if s.runs_if is not None)


PLAN = Plan(PHASES, SUB_STEPS)
