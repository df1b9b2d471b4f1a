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

if TYPE_CHECKING:
    from model.organization import OrganizationModel


class EffortChoice:
    """Updates opportunity, commitment and effort of everyone at once."""

    name = "effort"

    def __init__(self, model: OrganizationModel):
        self.model = model
        self.rng = model.streams[self.name]

    def update_commitment(self) -> None:
        m, p, people = self.model, self.model.p, self.model.people
        has_manager = m.manager_of(np.arange(people.n)) >= 0
        people.opportunity[:] = p.autonomy + has_manager * p.manager_support * (1 - p.autonomy)
        own = np.cbrt(people.motive * people.skill * people.opportunity)
        target = (1 - p.peer_influence) * own + p.peer_influence * people.commitment_norm
        people.commitment += p.commitment_adaptation * (target - people.commitment)

    def choose_effort(self) -> None:
        p, people = self.model.p, self.model.people
        inclination = ((1 - p.peer_influence) * people.commitment
                       + p.peer_influence * people.effort_norm)
        noise = p.effort_noise * self.rng.standard_normal(people.n)
        deterrence = np.minimum(1.0, p.sanction_severity * people.watch_belief)
        people.effort[:] = np.clip(inclination - p.effort_cost * (1.0 - deterrence) + noise, 0, 1)

    def step(self) -> None:
        self.update_commitment()
        self.choose_effort()
