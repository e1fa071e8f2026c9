"""Where commands write: run folders (:mod:`.runfolder`) and single files (:mod:`.onefile`), never
over a file they did not write, always whole, one writer at a time."""

from powerfirst.outputs.onefile import OutputFile, replace_file
from powerfirst.outputs.runfolder import RunFolder

__all__ = ["OutputFile", "RunFolder", "replace_file"]
