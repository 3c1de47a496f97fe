#!/usr/bin/python3
"""shm_tables.py: read the published Maglev tables out of sluice's shared memory.

  shm_tables.py SHM_FILE
      Prints one JSON object: {"gen": N, "vips": {NAME: {"digest": sha256 of
      the table as backend addresses, "shares": {"203.0.113.11": fraction}}}}

The digest names each Maglev entry by its backend's address, not its id,
so two tables that send every hash to the same backends have the same
digest. Layout from include/sluice/table.h (ABI version 1); reads the slot
of the published generation and retries if a publish happened meanwhile.
"""
import hashlib
import json
import mmap
import socket
import struct
import sys

MAGIC = 0x31454349554c53
GEN_OFF = 128          # struct sl_shm_header, gen
VIP_SIZE = 72          # struct sl_vip_entry
BE_SIZE = 36           # struct sl_backend_entry


def addr_text(raw, family):
    if family == 10 or family == 6:  # SL_AF_INET6 (either spelling)
        return socket.inet_ntop(socket.AF_INET6, raw)
    return socket.inet_ntop(socket.AF_INET, raw[:4])


def read_tables(m):
    magic, abi = struct.unpack_from("<QI", m, 0)
    if magic != MAGIC or abi != 2:
        raise SystemExit(f"not a sluice ABI 2 table (magic {magic:#x}, abi {abi})")
    slot_off = struct.unpack_from("<QQ", m, 24)
    gen = struct.unpack_from("<Q", m, GEN_OFF)[0]
    base = slot_off[gen & 1]
    (n_vips, n_bes, _idx, _used, vips_off, _vidx_off, bes_off,
     mag_off) = struct.unpack_from("<8I", m, base + 72)
    bes = {}
    for i in range(n_bes):
        o = base + bes_off + i * BE_SIZE
        family, state = struct.unpack_from("<BB", m, o + 16)
        bes[i] = (addr_text(bytes(m[o:o + 16]), family), state)
    vips = {}
    for i in range(n_vips):
        o = base + vips_off + i * VIP_SIZE
        family = struct.unpack_from("<B", m, o + 19)[0]
        moff, msize, nb = struct.unpack_from("<III", m, o + 24)
        name = bytes(m[o + 40:o + 72]).split(b"\0")[0].decode()
        if not name:
            continue
        ids = struct.unpack_from(f"<{msize}I", m, base + mag_off + 4 * moff) if msize else ()
        names = [bes[x][0] if x in bes else f"#{x}" for x in ids]
        shares = {}
        for a in names:
            shares[a] = shares.get(a, 0) + 1
        vips[name] = {
            "digest": hashlib.sha256("\n".join(names).encode()).hexdigest()[:16],
            "backends_in_table": nb,
            "shares": {a: round(c / len(names), 4) for a, c in sorted(shares.items())},
        }
    return gen, vips


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        for _ in range(10):
            gen, vips = read_tables(m)
            if struct.unpack_from("<Q", m, GEN_OFF)[0] == gen:
                break
    print(json.dumps({"gen": gen, "vips": vips}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
