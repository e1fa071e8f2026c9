"""Dispatch: inputs as arrays, the LP model, and the optimizer."""
