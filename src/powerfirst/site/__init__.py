"""powerfirst.site."""
