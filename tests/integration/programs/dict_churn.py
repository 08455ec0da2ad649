"""Builds and drops large dicts, lists, sets and buffers in rounds, and prints
a digest of everything it built, so that any corrupted object changes the
output. Deterministic: no str-keyed set is iterated, dicts keep insertion
order."""
import hashlib

digest = hashlib.sha256()
survivors = []
for rnd in range(5):
    table = {f"key-{rnd}-{i}": [i, str(i) * (i % 9), (i, rnd)] for i in range(50000)}
    rows = [list(range(i % 60)) for i in range(30000)]
    ints = {i * 7919 % 100003 for i in range(40000)}
    blobs = [bytes(range(i % 256)) * (1 + i % 4) for i in range(4000)]
    big = bytearray(b"x" * (2_000_000 + rnd))

    for key in list(table)[::3]:
        del table[key]
    rows[::2] = [[-1]] * len(rows[::2])
    for blob in blobs[::5]:
        big[len(blob)] = len(blob) % 256

    digest.update(repr(list(table.items())[:2000]).encode())
    digest.update(str(sum(sum(r) for r in rows)).encode())
    digest.update(str(sorted(ints)[:1000]).encode())
    digest.update(b"".join(blobs[:200]))
    digest.update(hashlib.sha256(big).digest())
    survivors.append(list(table.values())[rnd::997])
    del table, rows, ints, blobs, big

print(len(survivors), sum(len(s) for s in survivors))
print(digest.hexdigest())
