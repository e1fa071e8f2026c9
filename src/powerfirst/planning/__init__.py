"""Planning: conversions and new sites over months and years (issue 13).

The layer turns a scenario (a site, a plan of phases, business models, financing) into monthly
cash flows under paths of its drivers (Bitcoin price, network hashrate, fees, GPU rental price and
which real market year's power prices apply), with per-MW operating margins taken from the
engine's backtests, and from those the decision metrics (NPV, IRR, payback, DSCR) per path.
``inputs.py`` holds the two arrays-in types the modules share.
"""
