"""One module per ISO/RTO market, each defining its :class:`~powerfirst.market.iso.Market`.

Adding a market is one module here and its name in :data:`ALL`.
"""

from powerfirst.market.isos.caiso import CAISO
from powerfirst.market.isos.ercot import ERCOT
from powerfirst.market.isos.isone import ISONE
from powerfirst.market.isos.miso import MISO
from powerfirst.market.isos.nyiso import NYISO
from powerfirst.market.isos.pjm import PJM
from powerfirst.market.isos.spp import SPP

__all__ = ["ALL", "CAISO", "ERCOT", "ISONE", "MISO", "NYISO", "PJM", "SPP"]

ALL = (ERCOT, CAISO, SPP, MISO, NYISO, ISONE, PJM)
"""Every market, in the order they are listed."""
