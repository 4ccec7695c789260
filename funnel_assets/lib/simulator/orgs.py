"""Which organisation each team developer belongs to, and the org behaviour that plants.

Developers' stage times are drawn first (the model) and are not touched
here: the planted effect comes from how teams form. Team developers
(account_type organization) are taken in signup order. Each either fills an
open invitation (it becomes that organisation's early second developer),
joins an organisation founded more than `org_second_developer_days` earlier
(`org_late_joiner_share`), or founds a new one. A founder opens an invitation
for an early second developer with a probability that depends on whether the
founder reaches production within the horizon
(`org_early_second_developer_share`): so organisations that grow early reach
production more often. Their expected production rates, and the lift, are
the model's (`summarize_orgs` over the 400 000-developer draw in truth.json's
`expected`); what this run drew is in `drawn`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque

import numpy as np

from .model import DAY
from .parameters import ACCOUNT_TYPES, Parameters

TEAM = ACCOUNT_TYPES.index("organization")


def _in_production(devs, p: Parameters) -> np.ndarray:
    """Developers in production within the horizon of their own signup (NaN compares False)."""
    return devs["production_at"] <= devs["signup_at"] + p.horizon_days * DAY


def form_orgs(rng: np.random.Generator, devs: dict[str, np.ndarray], p: Parameters) -> np.ndarray:
    """Each developer's organisation, numbered in order of founding; -1 for individuals."""
    signup = devs["signup_at"]
    team = np.flatnonzero(devs["account_type"] == TEAM)
    team = team[np.argsort(signup[team], kind="stable")]
    invite_share = np.array(p.org_early_second_developer_share)[_in_production(devs, p)[team].astype(int)]
    invites = rng.random(len(team)) < invite_share
    joins_late = rng.random(len(team)) < p.org_late_joiner_share
    pick = rng.random(len(team))
    early = p.org_second_developer_days * DAY

    org_of = np.full(len(signup), -1)
    founded_at: list[float] = []  # in signup order, so sorted
    invitations: deque[tuple[int, float]] = deque()  # (organisation, last signup time that is early)
    for i, dev in enumerate(team):
        joined = signup[dev]
        while invitations and invitations[0][1] < joined:
            invitations.popleft()
        older = bisect_left(founded_at, joined - early)  # organisations founded more than `early` ago
        if invitations:
            org_of[dev] = invitations.popleft()[0]
        elif older and joins_late[i]:
            org_of[dev] = int(pick[i] * older)
        else:
            org_of[dev] = len(founded_at)
            founded_at.append(joined)
            if invites[i]:
                invitations.append((org_of[dev], joined + early))
    return org_of


def _group(orgs: int, produced: int) -> dict:
    return {"orgs": orgs, "produced": produced, "rate": produced / orgs if orgs else None}


def summarize_orgs(devs: dict[str, np.ndarray], org_of: np.ndarray, p: Parameters) -> dict:
    """Production within the horizon of organisations whose second developer joined early, and of the others.

    An organisation's signup is its first developer's; it is in production when
    any of its developers is, no later than horizon_days after that."""
    members = np.flatnonzero(org_of >= 0)
    order = members[np.lexsort((devs["signup_at"][members], org_of[members]))]
    org, first_row, size = np.unique(org_of[order], return_index=True, return_counts=True)
    signup = devs["signup_at"][order]
    first = signup[first_row]
    second = np.where(size >= 2, signup[np.minimum(first_row + 1, len(order) - 1)], np.nan)
    production = np.fmin.reduceat(devs["production_at"][order], first_row) if len(order) else np.array([])
    produced = production <= first + p.horizon_days * DAY
    early = second <= first + p.org_second_developer_days * DAY
    groups = {
        "early_second_developer": _group(int(early.sum()), int((produced & early).sum())),
        "other": _group(int((~early).sum()), int((produced & ~early).sum())),
    }
    rates = [g["rate"] for g in groups.values()]
    return {
        "orgs": len(org),
        "developers_per_org": len(members) / len(org) if len(org) else None,
        "production_rate": groups,
        "lift": rates[0] / rates[1] if None not in rates and rates[1] else None,
    }
