"""powerfirst.control."""
