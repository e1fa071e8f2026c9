"""Reading a site file: UTF-8 text, YAML without repeated keys, numbers with exponents as numbers.

A file that is not UTF-8 text (gzip, UTF-16/32, Latin-1) is refused with its name and the byte
offset of the first byte that is not UTF-8, and a repeated key in a mapping is refused with the key
and both line numbers: YAML would let the last one win silently (a second ``connection_limit_mw``
would replace the first).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

from powerfirst.errors import ConfigError

__all__ = ["read_site_yaml"]

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "a gzip file; decompress it (gunzip) and give the .yaml"),
    (b"PK\x03\x04", "a zip archive; extract the .yaml from it"),
    (b"\x00\x00\xfe\xff", "UTF-32 text (big-endian byte-order mark); save it as UTF-8"),
    (b"\xff\xfe\x00\x00", "UTF-32 text (little-endian byte-order mark); save it as UTF-8"),
    (b"\xfe\xff", "UTF-16 text (big-endian byte-order mark); save it as UTF-8"),
    (b"\xff\xfe", "UTF-16 text (little-endian byte-order mark); save it as UTF-8"),
)
"""First bytes of files that are not UTF-8 text, and what to do (longest marks first)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml's SafeLoader that refuses a key repeated in one mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` merges; keys it brings are not repeats of this mapping's
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: SafeLoader's own error names it
            if first is not None:
                raise ConfigError(
                    f"key {key!r} appears twice in one mapping: line {first.start_mark.line + 1} and line "
                    f"{key_node.start_mark.line + 1}; YAML would keep only the last, so give it once"
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")
"""A number with an exponent, as YAML 1.2 reads it (``1e3``, ``1.0e9``, ``1e-9``); PyYAML's YAML 1.1
rules read those without a ``.`` and a signed exponent as text."""

_UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))


def _decode(raw: bytes, path: Path) -> str:
    for signature, what in _SIGNATURES:
        if raw.startswith(signature):
            raise ConfigError(f"not a YAML text file: it is {what}", source=str(path))
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ConfigError(
            f"not a YAML text file: a NUL byte at byte offset {nul} (UTF-16 without a byte-order mark, "
            "or a binary file?); save the file as UTF-8",
            source=str(path),
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte offset {exc.start} (line {line}) is not "
            "valid UTF-8 (a Latin-1 or Windows-1252 file?); save the file as UTF-8",
            source=str(path),
        ) from None
    return text.removeprefix("\ufeff")  # a UTF-8 byte-order mark is UTF-8


def read_site_yaml(path: Path) -> Any:
    """The parsed YAML of the site file at ``path``.

    Raises ConfigError when the file cannot be read, is not UTF-8 text, is malformed YAML or
    repeats a key in a mapping.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read site file: {exc.strerror}", source=str(path)) from None
    text = _decode(raw, path)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(str(exc), source=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"malformed YAML{where}: {problem}", source=str(path)) from None
