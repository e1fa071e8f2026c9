"""Live control: the agent's wall clock over the same policies and plant the backtest replays.

``devices`` is the boundary to machines (one abstract base, :class:`DeviceDriver`); ``miners``
drives ASICs through a real miner library, ``slurm`` drives GPU jobs through Slurm's own commands.
"""
