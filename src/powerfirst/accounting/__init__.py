"""powerfirst.accounting."""
