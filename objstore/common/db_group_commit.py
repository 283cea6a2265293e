"""Group commit: the row merges that concurrent requests make to one database share a COMMIT.

Every COMMIT of a database fsyncs its write-ahead log, and that fsync, not
the SQL, is what a row update costs (profiled: about 4 ms of a loaded disk
against well under 1 ms of Python), and it stalls the whole green-thread hub
while it runs.  A busy container (a listing being filled by many object
servers at once, the expirer's queue buckets) gets many row updates at the
same moment.  The first request to arrive for a database leads
(:mod:`objstore.common.gathering`): it yields to the hub until no more
requests join (and until the previous group of that database has
committed), then runs every merge in one transaction (each in
its own savepoint, so one bad row fails only its own request) and commits
once; the COMMIT runs in a real thread so the hub goes on reading the
requests that will form the next group.  Nobody is answered before that commit is on
disk, so durability is exactly that of one transaction per request.

One :class:`GroupCommit` belongs to one server process and is handed to the
brokers it opens; groups are keyed by database file and by the hub running
them, so real threads (each with its own hub) never wait on one another.
"""
from __future__ import annotations

from typing import Any, Callable

from objstore.common.gathering import Gatherer

# A merge job: runs inside the group's transaction, returns its own result.
Job = Callable[[Any], Any]
# Runs jobs in one transaction: one (ok, result or exception) per job, in order.
Runner = Callable[[list[Job]], list[tuple[bool, Any]]]

# Rounds of the hub a leader waits for more merges before it commits.
MAX_GATHER_ROUNDS = 8


class GroupCommit:
    """Gathers the merges submitted for one database file into one transaction."""

    def __init__(self, max_gather_rounds: int = MAX_GATHER_ROUNDS):
        self._gatherer = Gatherer(max_gather_rounds)
        self.commits = 0      # transactions run (for tests and the curious)
        self.jobs = 0         # merges they carried

    def submit(self, db_file: str, job: Job, run: Runner) -> Any:
        """Run ``job`` in a transaction shared with concurrent submitters; return its result.

        ``run`` is the leader's own broker method: every submitter names the
        same file, so any of them can run all the jobs.  If the transaction
        fails as a whole (nothing was committed), every member fails with it.
        """
        def run_counted(jobs: list[Job]) -> list[tuple[bool, Any]]:
            outcomes = run(jobs)
            self.commits += 1
            self.jobs += len(jobs)
            return outcomes

        return _unwrap(self._gatherer.submit(db_file, job, run_counted))


def _unwrap(outcome: tuple[bool, Any]) -> Any:
    ok, value = outcome
    if ok:
        return value
    raise value
