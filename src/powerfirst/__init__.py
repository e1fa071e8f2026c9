"""powerfirst."""
