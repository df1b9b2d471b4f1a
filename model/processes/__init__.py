"""The nine processes of the model, one small unit each (see docs/ODD.md)."""
