#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gen_real.py CASE DIR - build one real-world disk variant (see
shared docs real-images.md section 5) in DIR, and its expected bytes in
DIR.raw where it has some.  Little-endian, 512-byte sectors.  The images
are written byte by byte here, never by prld, so prld is judged on what
other tools (Parallels Desktop, ploop, QEMU) make."""
import hashlib
import os
import random
import struct
import sys

TOP = "{5fbaabe3-6958-40ff-92a7-860e329aab41}"
ZERO = "{00000000-0000-0000-0000-000000000000}"
SNAP = "{9b1c5c5e-2c1f-4a8e-9a57-3f0c2f3b8d11}"
OTHER = "{7d1e0c8a-55aa-4c3e-8f1b-2a9e6b4c0d77}"
MIB = 1 << 20


def hds(path, sectors, cl=2048, v1=True, data=None, inuse=b"pd22",
        data_off=None, ext_off=0, cut=0, zero_data_off=False, tail=b""):
    """An expanding image; data maps cluster index -> bytes."""
    data = data or {}
    cb = cl * 512
    nbat = -(-sectors // cl)
    doff = data_off or -(-(64 + 4 * nbat) // cb) * cl
    h = bytearray(64)
    h[:16] = b"WithoutFreeSpace" if v1 else b"WithouFreSpacExt"
    struct.pack_into("<5IQ", h, 16, 2, 16, max(1, sectors // 512), cl, nbat,
                     sectors)
    h[44:48] = inuse if isinstance(inuse, bytes) else struct.pack("<I", inuse)
    struct.pack_into("<IIQ", h, 48, 0 if zero_data_off else doff, 0, ext_off)
    bat, pos = [0] * nbat, doff * 512
    with open(path, "wb") as f:
        for i in sorted(data):
            bat[i] = pos // 512 if v1 else pos // cb
            f.seek(pos)
            f.write(data[i].ljust(cb, b"\0"))
            pos += cb
        f.seek(0)
        f.write(h + struct.pack("<%dI" % nbat, *bat))
        f.truncate(pos - cut)
        if tail:
            f.seek(pos)
            f.write(tail)
    return pos


def desc(d, sectors, storages, shots, top=None, extra="", pad=0):
    st = "".join(
        "<Storage><Start>%d</Start><End>%d</End><Blocksize>%d</Blocksize>%s"
        "</Storage>" % (a, b, cl, "".join(
            "<Image><GUID>%s</GUID><Type>%s</Type><File>%s</File></Image>" % i
            for i in ims)) for a, b, cl, ims in storages)
    sh = "".join("<Shot><GUID>%s</GUID><ParentGUID>%s</ParentGUID></Shot>" % s
                 for s in shots)
    with open(os.path.join(d, "DiskDescriptor.xml"), "w") as f:
        f.write("<?xml version='1.0' encoding='UTF-8'?>\n"
                "<Parallels_disk_image Version=\"1.0\"><Disk_Parameters>"
                "<Disk_size>%d</Disk_size><Cylinders>%d</Cylinders><Heads>16"
                "</Heads><Sectors>32</Sectors><Padding>%d</Padding>%s"
                "</Disk_Parameters><StorageData>%s</StorageData><Snapshots>%s%s"
                "</Snapshots></Parallels_disk_image>\n" % (
                    sectors, sectors // 512, pad, extra, st,
                    "<TopGUID>%s</TopGUID>" % top if top else "", sh))


def rnd(n, seed):
    return random.Random(seed).randbytes(n)


def pd(d, extra="", top=None, file_fmt="%s.0.%s.hds", shots=None, pad=0,
       data=None):
    """A PD-style 64 MiB bundle: one V1 image, 1 MiB clusters."""
    os.makedirs(d)
    name = os.path.basename(d)
    f = file_fmt % (name, TOP)
    data = data if data is not None else {0: rnd(MIB, 1), 63: rnd(MIB, 2)}
    hds(os.path.join(d, f.replace("\\", "/").split("/")[-1]), 131072,
        data=data)
    open(os.path.join(d, name), "w").close()
    desc(d, 131072, [(0, 131072, 2048, [(TOP, "Compressed", f)])],
         shots if shots is not None else [(TOP, ZERO)], top=top, extra=extra,
         pad=pad)
    raw = bytearray(64 * MIB)
    for i, b in data.items():
        raw[i * MIB:i * MIB + len(b)] = b
    return raw


def write_raw(d, raw):
    with open(d.rstrip("/") + ".raw", "wb") as f:
        f.write(raw)


def ext_cluster(cb, sectors, bitmap_sector):
    """ploop's CBT: a Format Extension with one dirty bitmap."""
    feat = struct.pack("<Q16sII", sectors, b"\x11" * 16, 128, 1)
    feat += struct.pack("<Q", bitmap_sector)
    body = struct.pack("<QQII", 0x20385FAE252CB34A, 0, len(feat), 0) + feat
    body += bytes(24)   # end of features
    body = body.ljust(cb - 24, b"\0")
    return struct.pack("<Q", 0xAB234CEF23DCEA87) + \
        hashlib.md5(body).digest() + body


def moved_image(d, file_value):
    """A PD bundle whose image lives in DIR-elsewhere, named by @file_value
    (of the file's name) in <File>."""
    os.makedirs(d + "-elsewhere")
    raw = pd(d)
    f = "%s.0.%s.hds" % (os.path.basename(d), TOP)
    os.rename(os.path.join(d, f), os.path.join(d + "-elsewhere", f))
    x = open(d + "/DiskDescriptor.xml").read()
    open(d + "/DiskDescriptor.xml", "w").write(
        x.replace("<File>" + f, "<File>" + file_value(f)))
    return raw


def case(name, d):
    raw = None
    if name == "pd-no-topguid":
        raw = pd(d)
    elif name == "pd-topguid":
        raw = pd(d, top=TOP)
    elif name == "pd-encrypted":
        pd(d, extra="<Encryption><Engine>{d3a1f5c2-0b1e-4c8a-9d2f-"
           "7a6b5c4d3e2f}</Engine><Data>QUJD</Data></Encryption>")
    elif name == "pd-padding":
        pd(d, pad=1)
    elif name == "pd-no-shot":
        raw = pd(d, shots=[])
    elif name == "pd-windows-path":
        raw = pd(d, file_fmt=".\\%s.0.%s.hds")
    elif name == "pd-chs-too-big":
        raw = pd(d, extra="")
        x = open(d + "/DiskDescriptor.xml").read()
        open(d + "/DiskDescriptor.xml", "w").write(
            x.replace("<Cylinders>256<", "<Cylinders>261<"))
    elif name == "pd-backup-only":
        pd(d)
        os.rename(d + "/DiskDescriptor.xml", d + "/DiskDescriptor.xml.Backup")
    elif name == "pd-absolute-path":
        raw = moved_image(d, lambda f: os.path.abspath(
            d + "-elsewhere/" + f))
    elif name == "pd-dotdot-path":
        raw = moved_image(d, lambda f: "../%s-elsewhere/%s" % (
            os.path.basename(d), f))
    elif name == "pd-two-leaves":
        # No TopGUID, and {5fbaabe3} is one of two leaves: ambiguous.
        os.makedirs(d)
        hds(d + "/base.hds", 131072, data={0: b"base"})
        hds(d + "/top.hds", 131072, data={1: b"top"})
        hds(d + "/other.hds", 131072, data={2: b"other"})
        desc(d, 131072, [(0, 131072, 2048, [
            (SNAP, "Compressed", "base.hds"), (TOP, "Compressed", "top.hds"),
            (OTHER, "Compressed", "other.hds")])],
            [(SNAP, ZERO), (TOP, SNAP), (OTHER, SNAP)])
    elif name == "split3":
        # An 8 MiB disk in pieces of 3 + 3 + 2 MiB, PD style.
        os.makedirs(d)
        raw = bytearray(8 * MIB)
        stor, at = [], 0
        for k, n in enumerate([3, 3, 2]):
            f = "split3.%d.%s.hds" % (k, TOP)
            data = {0: bytes([k + 1]) * 4096, n - 1: bytes([k + 0x41]) * MIB}
            hds(os.path.join(d, f), n * 2048, data=data)
            raw[at * MIB:at * MIB + 4096] = data[0]
            raw[(at + n - 1) * MIB:(at + n) * MIB] = data[n - 1]
            stor.append((at * 2048, (at + n) * 2048, 2048,
                         [(TOP, "Compressed", f)]))
            at += n
        desc(d, 8 * 2048, stor, [(TOP, ZERO)])
    elif name.startswith("ploop-raw-base"):
        # ploop's raw-base disk: every image typed Plain; the delta is not.
        os.makedirs(d)
        base = rnd(16 * MIB, 3)
        open(d + "/root.hds", "wb").write(base)
        raw = bytearray(base)
        data = {2: rnd(MIB, 4), 9: rnd(MIB, 5)}
        if name.endswith("-grown"):    # the delta reached the disk size
            data.update({i: rnd(MIB, 10 + i) for i in range(16)})
        hds(d + "/root.hds." + SNAP, 32768, v1=False, data=data, inuse=0)
        for i, b in data.items():
            raw[i * MIB:(i + 1) * MIB] = b
        desc(d, 32768, [(0, 32768, 2048, [
            (SNAP, "Plain", "root.hds"), (TOP, "Plain", "root.hds." + SNAP)])],
            [(SNAP, ZERO), (TOP, SNAP)], top=TOP)
    elif name == "small-top":
        # ploop snapshot-switch to a pre-resize snapshot: top < Disk_size.
        os.makedirs(d)
        hds(d + "/root.hds", 32768, v1=False, data={0: b"a" * 100}, inuse=0)
        hds(d + "/root.hds." + SNAP, 32768, v1=False, data={3: b"b" * 100},
            inuse=0)
        desc(d, 65536, [(0, 65536, 2048, [
            (SNAP, "Compressed", "root.hds"),
            (TOP, "Compressed", "root.hds." + SNAP)])],
            [(SNAP, ZERO), (TOP, SNAP)], top=TOP)
        raw = bytearray(16 * MIB)
        raw[0:100] = b"a" * 100
        raw[3 * MIB:3 * MIB + 100] = b"b" * 100
    elif name == "v1-data-off-zero":
        # A pre-2015 header: data_off 0, 63-sector clusters.
        data = {0: b"a" * 32256, 100: b"b" * 32256}
        hds(d, 8192 * 63, cl=63, data=data, inuse=0, zero_data_off=True,
            data_off=(64 + 4 * 8192 + 511) // 512)
        raw = bytearray(8192 * 63 * 512)
        for i, b in data.items():
            raw[i * 32256:(i + 1) * 32256] = b
    elif name == "torn-last-cluster":
        data = {0: rnd(MIB, 6), 3: rnd(MIB, 7)}
        hds(d, 32768, data=data, inuse=0, cut=4096)
        raw = bytearray(16 * MIB)
        raw[0:MIB] = data[0]
        raw[3 * MIB:4 * MIB - 4096] = data[3][:MIB - 4096]
    elif name == "cbt":
        # ploop CBT at close: "v2.1" in-use, a bitmap cluster and the
        # Format Extension cluster after the data, ext_off naming it.
        data = {0: rnd(MIB, 8), 5: rnd(MIB, 9)}
        end = hds(d, 32768, v1=False, data=data, inuse=0x312e3276)
        with open(d, "r+b") as f:
            f.seek(end)
            f.write(bytes([0xff]) * 16 + bytes(MIB - 16))   # bitmap cluster
            f.write(ext_cluster(MIB, 32768, end // 512))
            f.seek(0x38)
            f.write(struct.pack("<Q", (end + MIB) // 512))
        raw = bytearray(16 * MIB)
        raw[0:MIB] = data[0]
        raw[5 * MIB:6 * MIB] = data[5]
    elif name == "pd-plain":
        # PD's "plain" disk: one raw image typed Plain, no TopGUID; 20 MiB
        # and a half, so its last 1 MiB cluster is partial.
        os.makedirs(d)
        bname = os.path.basename(d)
        f = "%s.0.%s.hds" % (bname, TOP)
        raw = bytearray(rnd(20 * MIB + 512 * 1024, 7))
        open(os.path.join(d, f), "wb").write(raw)
        open(os.path.join(d, bname), "w").close()
        desc(d, len(raw) // 512, [(0, len(raw) // 512, 2048,
                                   [(TOP, "Plain", f)])], [(TOP, ZERO)])
    else:
        sys.exit("gen_real.py: unknown case " + name)
    if raw is not None:
        write_raw(d, raw)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: gen_real.py CASE DIR")
    case(sys.argv[1], sys.argv[2])
