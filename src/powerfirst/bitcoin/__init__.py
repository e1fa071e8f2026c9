"""Bitcoin economics: hashprice, breakeven and daily hashprice sources."""
