"""AI-inference workloads: GPU demand profiles from real request traces or user CSV files."""
