"""powerfirst.reporting."""
