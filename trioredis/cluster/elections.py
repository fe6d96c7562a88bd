"""Elections: the election timer, asking for votes (candidate side), granting them (voter side).

A follower that has not heard from a leader for cluster-node-timeout plus a random delay starts
an election (the ticker in node.py calls :meth:`~ElectionsMixin._election`): first a pre-vote,
which changes nothing anywhere, so a node cut off from the group cannot inflate terms; then a
new term, its own vote, and the votes of a majority. A voter grants at most one vote per term,
persisted before the answer leaves, and only to a candidate whose ``(data_term, offset)`` is at
least its own (:meth:`~ElectionsMixin.on_request_vote`); node.py's docstring gives the argument
why no write that WAIT confirmed is lost.

:class:`ElectionsMixin` is a part of :class:`~.node.ClusterNode`, not a class of its own: its
methods read and change the node's state (``term``, ``voted_for``, ``role``, ``members``...)
and call the node's other methods (``observe_term``, ``become_leader``, ``persist``).
"""

from __future__ import annotations

import random
import time

import trio

from .membership import CANDIDATE, FOLLOWER, LEADER, Member


class ElectionsMixin:
    """:class:`~.node.ClusterNode`'s election timer, elections and votes."""

    # -- the election timer --------------------------------------------------------------------

    def _reset_election_timer(self, now: float | None = None, retry: bool = False) -> None:
        now = time.monotonic() if now is None else now
        nt = self.timeout_s()
        if retry:
            self.election_due = now + nt * random.uniform(0.5, 1.0)
            return
        upper = min(nt * 0.5, 2.0)
        self.election_due = now + nt + random.uniform(min(nt * 0.1, upper / 2), upper)

    def leader_alive(self, now: float) -> bool:
        if self.role == LEADER:
            return now < self.fence_at
        return self.leader_id is not None and now - self.last_contact < self.timeout_s()

    def can_elect(self) -> bool:
        return self.id in self.members and (self.joined or self.had_group)

    # -- votes (receiving side) ----------------------------------------------------------------

    def up_to_date(self, cand: str, cand_data_term: int, cand_offset: int, now: float) -> bool:
        theirs = (cand_data_term, cand_offset)
        mine = (self.data_term, self.offset())
        if theirs != mine:
            return theirs > mine
        # A tie goes to the lower node id, unless the group has been leaderless for long.
        return cand <= self.id or now - self.last_contact > 3 * self.timeout_s()

    def on_request_vote(self, term: int, cand: str, cand_data_term: int, cand_offset: int,
                        prevote: bool) -> list:
        now = time.monotonic()
        if prevote:
            # Would we vote in ``term``? Changes nothing, so a node cut off from the group
            # cannot inflate terms and depose a healthy leader when it comes back.
            grant = (
                (term > self.term or (term == self.term and self.voted_for in (None, cand)))
                and not self.leader_alive(now)
                and self.up_to_date(cand, cand_data_term, cand_offset, now)
            )
            return [self.term, int(grant)]
        if term < self.term:
            return [self.term, 0]
        self.observe_term(term, f"vote requested by {cand}")
        grant = self.voted_for in (None, cand) and self.up_to_date(
            cand, cand_data_term, cand_offset, now)
        if grant:
            if self.voted_for != cand:
                self.voted_for = cand
                self.persist()  # before the answer leaves
            self.votes_granted += 1
            self._reset_election_timer(now)
            self.server.log.notice(f"Cluster: voted for {cand} in term {term}")
        return [self.term, int(grant)]

    # -- elections ---------------------------------------------------------------------------

    async def _election(self) -> None:
        log = self.server.log
        try:
            term = self.term + 1
            leader = self.leader_id or "?"
            log.notice(f"Cluster: no heartbeat from leader {leader} for "
                       f"{(time.monotonic() - self.last_contact) * 1000:.0f} ms: pre-vote for "
                       f"term {term}")
            if not await self._poll(term, prevote=True):
                log.notice(f"Cluster: pre-vote for term {term} failed")
                self._reset_election_timer(retry=True)
                return
            if self.term >= term or self.leader_alive(time.monotonic()):
                self._reset_election_timer()
                return
            self.observe_term(term, "starting an election")
            self.role = CANDIDATE
            self.voted_for = self.id
            self.persist()
            self.elections_started += 1
            log.notice(f"Cluster: starting election for term {term} (data term "
                       f"{self.data_term}, offset {self.offset()})")
            won = await self._poll(term, prevote=False)
            if won and self.term == term and self.role == CANDIDATE:
                self.elections_won += 1
                self.become_leader()
            else:
                if self.role == CANDIDATE:
                    self.role = FOLLOWER
                log.notice(f"Cluster: election for term {term} not won")
                self._reset_election_timer(retry=True)
        finally:
            self.electing = False

    async def _poll(self, term: int, prevote: bool) -> bool:
        """Ask every other member for a (pre-)vote; True once a majority (us included) agrees."""
        need = self.majority() - 1
        if need <= 0:
            return True
        argv = [b"TRIOCLUSTER", b"REQUESTVOTE", term, self.id, self.data_term, self.offset(),
                b"PREVOTE" if prevote else b"VOTE"]
        granted: list[Member] = []
        higher = 0
        timeout = self.rpc_timeout()
        sent = time.monotonic()

        async def ask(m: Member, scope: trio.CancelScope) -> None:
            nonlocal higher
            link = m.link
            if link is None:
                return
            reply = await link.call(argv, timeout)
            if not isinstance(reply, list) or len(reply) < 2:
                return
            try:
                rterm, ok = int(reply[0]), int(reply[1])
            except (ValueError, TypeError) as e:
                self._bad_reply(m, e)
                return
            if rterm > term:
                higher = max(higher, rterm)
            if ok:
                granted.append(m)
                if len(granted) >= need:
                    scope.cancel()

        async with trio.open_nursery() as n:
            for m in list(self.members.values()):
                if m is not self.me:
                    n.start_soon(ask, m, n.cancel_scope)
        if higher:
            self.observe_term(higher, "a voter is in a newer term")
            return False
        if len(granted) >= need:
            if not prevote:
                for m in granted:  # their votes count as contact for fencing
                    m.last_ok = max(m.last_ok, sent)
            return True
        return False
