"""Process 5, effort: commitment follows motive, means and opportunity; effort follows
commitment, the norm seen in peers, its cost and the sanction expected for coasting.

opportunity = autonomy + manager_support * (1 - autonomy)   (if one has a manager)
commitment -> (1 - peer_influence) * cbrt(motive * skill * opportunity)
              + peer_influence * commitment norm seen          (at commitment_adaptation)
inclination = (1 - peer_influence) * commitment + peer_influence * effort norm seen
effort = clip(inclination - effort_cost * (1 - min(1, sanction_severity * expected
              sanction)) + noise, 0, 1)
The pull to save effort (its cost) is held back only as far as a sanction is expected,
so fully identifiable work gets the effort commitment alone would give (no loafing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from model.parallel import PARALLEL_MIN, serial_twin
from model.processes.base import Process

if TYPE_CHECKING:
    pass


@njit(cache=True)
def own_commitment(motive, skill, opportunity, has_manager, autonomy, support):
    """Opportunity of everyone and the commitment their motive, means and opportunity give."""
    own = np.empty(len(motive))
    for i in range(len(motive)):
        opportunity[i] = autonomy[i] + has_manager[i] * support[i] * (1.0 - autonomy[i])
        own[i] = (motive[i] * skill[i] * opportunity[i]) ** (1.0 / 3.0)
    return own


@njit(cache=True)
def choose_effort(noise, people, own, prm):
    """Commitment and effort of everyone (see the module docstring), ``noise`` holding
    one standard normal draw per employee."""
    commitment, commitment_norm, effort, effort_norm, watch_belief = people
    peer_influence, adaptation, cost, severity, noise_sd = prm
    args = (noise, commitment, commitment_norm, effort, effort_norm, watch_belief, own,
            peer_influence, adaptation, cost, severity, noise_sd)
    if len(own) >= PARALLEL_MIN:
        _choose_effort(*args)
    else:
        _choose_effort_serial(*args)


@njit(cache=True, parallel=True)
def _choose_effort(noise, commitment, commitment_norm, effort, effort_norm, watch_belief, own,
                   peer_influence, adaptation, cost, severity, noise_sd):
    # arrays come one by one: numba 0.68 loses writes in a parallel loop to arrays
    # unpacked from a tuple argument
    for i in prange(len(own)):
        target = (1.0 - peer_influence) * own[i] + peer_influence * commitment_norm[i]
        commitment[i] += adaptation * (target - commitment[i])
        inclination = ((1.0 - peer_influence) * commitment[i]
                       + peer_influence * effort_norm[i])
        deterrence = min(1.0, severity * watch_belief[i])
        value = inclination - cost * (1.0 - deterrence) + noise_sd * noise[i]
        effort[i] = min(1.0, max(0.0, value))


_choose_effort_serial = serial_twin(_choose_effort)


class EffortChoice(Process):
    """Updates opportunity, commitment and effort of everyone at once."""

    name = "effort"

    def __init__(self, model):
        super().__init__(model)
        self._own = np.zeros(0)
        self._own_version = None  # roles and parameter versions of the cached commitment

    def own_commitment(self) -> np.ndarray:
        """Commitment from motive, means and opportunity; traits are fixed, so it changes
        only when roles (who has a manager) do."""
        m, p, people = self.model, self.model.p, self.model.people
        version = (m.roles_version, m.local.version, p.autonomy, p.manager_support)
        if self._own_version != version:
            self._own = own_commitment(people.motive, people.skill, people.opportunity,
                                       m._manager >= 0, m.per_employee("autonomy"),
                                       m.per_employee("manager_support"))
            self._own_version = version
        return self._own

    def step(self) -> None:
        p, people = self.model.p, self.model.people
        choose_effort(self.rng.standard_normal(people.n),
                      (people.commitment, people.commitment_norm, people.effort,
                       people.effort_norm, people.watch_belief),
                      self.own_commitment(),
                      (p.peer_influence, p.commitment_adaptation, p.effort_cost,
                       p.sanction_severity, p.effort_noise))
