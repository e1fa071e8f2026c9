"""Fetch recent market and Bitcoin data from public endpoints and write it in the bundled formats.

* :mod:`powerfirst.fetch.http`: one HTTP client (httpx) with timeouts, bounded retries and one-line errors;
* :mod:`powerfirst.fetch.ercot_time`: ERCOT's hour-ending local times (with the DST flag) to UTC interval starts;
* :mod:`powerfirst.fetch.ercot`: ERCOT Public API reports (real-time and day-ahead SPP, system load);
* :mod:`powerfirst.fetch.bitcoin`: Blockchain.com charts (price, difficulty, fees per block);
* :mod:`powerfirst.fetch.write`: the bundled CSV layout, written atomically.
"""
