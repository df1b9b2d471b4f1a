"""What users describe: setting files (``*.toml`` beside this file) and their reader.

A setting is a description plus parameter values, nothing more; ``scenarios.settings``
reads and checks it against the one parameter declaration in ``model.parameters``.
"""
