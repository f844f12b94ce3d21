"""Jobs in progress, kept per organisation so that organisations take turns."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from itertools import count, islice

from sortedcontainers import SortedList


class OrganisationTurns:
    """The jobs in progress in the order they started, grouped by organisation.

    Handing out turns reads only as far as asked: each organisation's oldest job in the order
    those jobs started, then each one's second oldest, and so on. An organisation's place is
    its oldest job's start, so it moves back when that job stops. Starting and stopping a job
    costs a logarithm of the organisations in progress, not a walk over every job.
    """

    def __init__(self) -> None:
        self._organisation_of: dict[str, str] = {}
        self._jobs_of: dict[str, OrderedDict[str, int]] = {}
        self._places: SortedList = SortedList()  # (the oldest job's start, organisation)
        self._starts = count()

    def __len__(self) -> int:
        return len(self._organisation_of)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._organisation_of

    def start(self, job_id: str, organisation: str) -> None:
        """A job that is already in progress keeps its place."""
        if job_id in self._organisation_of:
            return
        started = next(self._starts)
        self._organisation_of[job_id] = organisation
        jobs = self._jobs_of.get(organisation)
        if jobs is None:
            self._jobs_of[organisation] = OrderedDict({job_id: started})
            self._places.add((started, organisation))
        else:
            jobs[job_id] = started

    def stop(self, job_id: str) -> None:
        """A job that is not in progress is no change."""
        organisation = self._organisation_of.pop(job_id, None)
        if organisation is None:
            return
        jobs = self._jobs_of[organisation]
        oldest = next(iter(jobs.values()))
        started = jobs.pop(job_id)
        if started != oldest:
            return
        self._places.remove((started, organisation))
        if jobs:
            self._places.add((next(iter(jobs.values())), organisation))
        else:
            del self._jobs_of[organisation]

    def take(self, limit: int) -> list[str]:
        """Up to `limit` jobs, organisations taking turns."""
        taken: list[str] = []
        if limit <= 0:
            return taken
        rest: list[Iterator[str]] = []
        for _, organisation in self._places:
            jobs = iter(self._jobs_of[organisation])
            taken.append(next(jobs))
            if len(taken) >= limit:
                return taken
            rest.append(jobs)
        while rest:
            if len(rest) == 1:  # one organisation left: the rest of its jobs, in order
                taken.extend(islice(rest[0], limit - len(taken)))
                return taken
            going: list[Iterator[str]] = []
            for jobs in rest:
                job_id = next(jobs, None)
                if job_id is None:
                    continue
                taken.append(job_id)
                if len(taken) >= limit:
                    return taken
                going.append(jobs)
            rest = going
        return taken
