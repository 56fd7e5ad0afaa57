#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets that have no generator of their own (the virtio
net/blk seeds come from runner/fuzz/make_virtio_*_seed.py). Each seed is a small, well-formed
input, so the fuzzer starts from the parser's success path. Run from the repository root; the
outputs are committed, and the suite replays them (fuzz_replay_* tests).
Needs: cpio, zstd, mkfs.erofs, ldconfig (scripts/install-deps.sh)."""
import hashlib, io, json, os, shutil, struct, subprocess, tarfile, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def put(rel, name, data):
    d = os.path.join(ROOT, rel)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def virtio_mmio():
    """A driver bringing up queue 0 of the generic fuzz device and using one chain."""
    out = bytearray([0, 0x12, 16, 1])  # 1 queue of 4 entries, 16 config bytes, device id 1
    def wr(off, val):
        out.extend(struct.pack("<BHQ", 0 | (3 << 2), off, val))
    def rd(off):
        out.extend(struct.pack("<BH", 1 | (3 << 2), off))
    def mem(addr, data):
        out.extend(struct.pack("<BIB", 2, addr, len(data)) + data)
    for off in (0x000, 0x004, 0x008, 0x00c, 0x100):
        rd(off)
    wr(0x70, 0); wr(0x70, 1); wr(0x70, 3)
    wr(0x24, 1); wr(0x20, 1); wr(0x70, 11)
    wr(0x30, 0); rd(0x34); wr(0x38, 4)
    wr(0x80, 0x10000); wr(0x90, 0x11000); wr(0xa0, 0x12000); wr(0x44, 1); wr(0x70, 15)
    mem(0x10000, struct.pack("<QIHH", 0x20000, 64, 1, 1) + struct.pack("<QIHH", 0x21000, 64, 2, 0))
    mem(0x11004, struct.pack("<H", 0)); mem(0x11000, struct.pack("<HH", 0, 1))
    wr(0x50, 0)
    out.extend(struct.pack("<BI", 3 | (6 << 4), 16))
    rd(0x60); wr(0x64, 1); wr(0x70, 0)
    put("runner/fuzz/corpus/virtio_mmio", "bring_up_one_chain", bytes(out))


def recipes():
    for name in ("sqlite3.recipe", "redis.recipe", "python3.recipe", "nginx.recipe"):
        with open(os.path.join(ROOT, "recipes", name), "rb") as f:
            put("builder/fuzz/corpus/recipe", name, f.read())
    with open(os.path.join(ROOT, "examples/python-web/app.recipe"), "rb") as f:
        put("builder/fuzz/corpus/recipe", "python-web.recipe", f.read())


def elf():
    """A minimal ELF64 shared object: PT_LOAD, PT_DYNAMIC (NEEDED, RUNPATH, SONAME) and a PT_NOTE
    holding a .note.dlopen (FDO_DLOPEN_METADATA) entry."""
    strtab = b"\0libz.so.1\0$ORIGIN/../lib\0libseed.so.1\0"
    dyn = b"".join(struct.pack("<qQ", t, v) for t, v in
                   ((1, 1), (29, 11), (14, 26), (5, 0x400), (10, len(strtab)), (0, 0)))
    payload = json.dumps([{"feature": "zlib", "priority": "recommended", "soname": ["libz.so.1"]}]).encode() + b"\0"
    payload += b"\0" * (-len(payload) % 4)
    note = struct.pack("<III", 4, len(payload), 0x407c0c0a) + b"FDO\0" + payload
    phoff, phnum = 64, 3
    off_str = 0x400; off_dyn = off_str + 0x100; off_note = off_dyn + 0x100
    size = off_note + len(note)
    eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    eh += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, 0, 0, 64, 56, phnum, 64, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, size, size, 0x1000)
    ph += struct.pack("<IIQQQQQQ", 2, 6, off_dyn, off_dyn, off_dyn, len(dyn), len(dyn), 8)
    ph += struct.pack("<IIQQQQQQ", 4, 4, off_note, off_note, off_note, len(note), len(note), 4)
    img = bytearray(size)
    img[0:64] = eh; img[64:64 + len(ph)] = ph
    img[off_str:off_str + len(strtab)] = strtab
    img[off_dyn:off_dyn + len(dyn)] = dyn
    img[off_note:off_note + len(note)] = note
    put("builder/fuzz/corpus/elf", "shared_object_with_dlopen_note", bytes(img))
    put("builder/fuzz/corpus/elf", "vmlinux_like", vmlinux())


def vmlinux():
    """The shape of a stripped vmlinux for the VMM's loader: ET_EXEC at 16 MiB, text, data with a
    zero-filled tail, a per-cpu segment linked at 0, and a PT_NOTE with the PVH (Xen PHYS32_ENTRY)
    note."""
    note = struct.pack("<III", 4, 4, 18) + b"Xen\0" + struct.pack("<I", 0x1000000)
    segs = [(1, 0x1000000, b"\x90" * 0x1f0 + b"\xf4" * 0x10, 0x200),  # (type, paddr, data, memsz)
            (1, 0x1200000, b"d" * 0x40, 0x1000),
            (1, 0x1201000, b"p" * 0x20, 0x20),
            (4, 0x10001f0, note, len(note))]
    phoff = 64
    off = phoff + 56 * len(segs)
    eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    eh += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, phoff, 0, 0, 64, 56, len(segs), 64, 0, 0)
    ph, body = b"", b""
    for t, pa, data, memsz in segs:
        vaddr = 0 if pa == 0x1201000 else pa + 0xffffffff80000000
        ph += struct.pack("<IIQQQQQQ", t, 7, off + len(body), vaddr, pa, len(data), memsz, 0x1000)
        body += data
    return eh + ph + body


def ldcache(tmp):
    """ldconfig on a root holding one library (-r: nothing of the host's)."""
    root = os.path.join(tmp, "root")
    lib = os.path.join(root, "lib"); os.makedirs(lib); os.makedirs(os.path.join(root, "etc"))
    shutil.copy(os.path.join(ROOT, "builder/fuzz/corpus/elf/shared_object_with_dlopen_note"),
                os.path.join(lib, "libseed.so.1"))
    open(os.path.join(root, "etc/ld.so.conf"), "w").close()
    subprocess.run(["ldconfig", "-X", "-r", root], check=True)
    with open(os.path.join(root, "etc/ld.so.cache"), "rb") as f:
        put("builder/fuzz/corpus/ldcache", "one_library", f.read())


def initramfs_and_erofs(tmp):
    tree = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(tree, "usr/bin"))
    with open(os.path.join(tree, "usr/bin/app"), "w") as f:
        f.write("#!/bin/sh\necho hi\n")
    os.symlink("usr/bin", os.path.join(tree, "bin"))
    for d, dirs, files in os.walk(tree):  # fixed times: the seeds come out byte-identical
        for n in dirs + files + ["."]:
            os.utime(os.path.join(d, n), (0, 0), follow_symlinks=False)
    names = subprocess.run(["find", ".", "-mindepth", "1"], cwd=tree, check=True,
                           capture_output=True).stdout
    cpio = subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "--reproducible"], cwd=tree,
                          input=names, check=True, capture_output=True).stdout
    z = subprocess.run(["zstd", "-q", "-19", "-c"], input=cpio, check=True, capture_output=True).stdout
    put("packer/fuzz/corpus/read_initramfs", "small_tree.cpio.zst", z)
    img = os.path.join(tmp, "root.erofs")
    subprocess.run(["mkfs.erofs", "-T0", "-U", "00000000-0000-4000-8000-000000000000", img, tree],
                   check=True, capture_output=True)
    with open(img, "rb") as f:
        data = f.read()
    put("packer/fuzz/corpus/read_erofs", "small_tree.erofs", data)
    return z


def arrow(initramfs):
    """An OCI image-layout tar shaped like an .arrow: index -> manifest -> config, a kernel layer
    (a fake few-byte kernel) and the initramfs layer."""
    blobs = {}
    def blob(data, media):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[d] = data
        return {"mediaType": media, "digest": d, "size": len(data)}
    config = json.dumps({"entrypoint": ["/usr/bin/app"], "env": [], "memory": 134217728, "cpus": 1},
                        sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(config, "application/vnd.arrow.config.v1+json"),
        "layers": [blob(b"\0" * 1024, "application/vnd.arrow.kernel.v1"),
                   blob(initramfs, "application/vnd.arrow.initramfs.v1.cpio+zstd")]},
        sort_keys=True).encode()
    m = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [m]}, sort_keys=True).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        def add(name, data):
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", index)
        for d in sorted(blobs):
            add("blobs/sha256/" + d.split(":")[1], blobs[d])
    put("packer/fuzz/corpus/read_arrow", "small_image_layout", out.getvalue())  # not *.arrow: .gitignore


def registry():
    r = "registry/fuzz/corpus"
    put(r, "bearer_challenge", b'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:app:pull"')
    put(r, "token_reply", b'{"token":"abc.def","access_token":"abc.def","expires_in":300}')
    put(r, "error_body", b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v1"}}]}')
    put(r, "reference", b"localhost:5000/team/app:v1")
    put(r, "manifest", json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.arrow.config.v1+json", "digest": "sha256:" + "0" * 64, "size": 2},
        "layers": [{"mediaType": "application/vnd.arrow.kernel.v1", "digest": "sha256:" + "1" * 64, "size": 9}]}).encode())


def main():
    virtio_mmio()
    recipes()
    elf()
    registry()
    with tempfile.TemporaryDirectory() as tmp:
        ldcache(tmp)
        arrow(initramfs_and_erofs(tmp))


if __name__ == "__main__":
    main()
