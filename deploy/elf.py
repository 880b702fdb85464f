"""The target machine of a native library, read from its ELF header."""

from __future__ import annotations

import struct
from pathlib import Path

ELF_MAGIC = b"\x7fELF"


def elf_machine(path: Path) -> int | None:
    """The header's e_machine (62 x86-64, 183 AArch64), or None when the file is not ELF."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != ELF_MAGIC:
        return None
    # EI_DATA (byte 5): 1 little-endian, 2 big-endian; e_machine is the half-word at offset 18.
    order = "<" if header[5] == 1 else ">"
    machine: int = struct.unpack_from(order + "H", header, 18)[0]
    return machine


def native_libraries(root: Path) -> list[Path]:
    """Every shared object under `root` (extension modules and the libraries wheels vendor)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and (p.suffix == ".so" or ".so." in p.name))
