"""Mesa agents: thin handles over the model's state arrays."""

from agents.employee import Employee

__all__ = ["Employee"]
