"""What runs the engine many times: replications, comparisons, statistics, sweeps,
sensitivity analysis and validation.

Experiments produce tidy data; ``dashboards`` draws it. Dependencies point one way:
dashboards -> experiments -> scenarios -> model.
"""
