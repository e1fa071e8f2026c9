"""powerfirst.cli."""
