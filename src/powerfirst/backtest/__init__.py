"""Backtests: drive policies over real history with only what they may know, and book the results."""
