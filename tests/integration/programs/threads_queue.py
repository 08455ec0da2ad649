"""Python threads under the allocator: a thread pool building and dropping
dicts, a producer handing buffers to a consumer thread (so objects are freed
on a thread other than the one that made them), and a subprocess started from
the threaded interpreter. Prints digests that depend on every result."""
import concurrent.futures
import hashlib
import json
import queue
import subprocess
import threading


def build(i):
    table = {str(k): [k] * (k % 17) for k in range(15000 + i)}
    return hashlib.md5(json.dumps(table).encode()).hexdigest()


with concurrent.futures.ThreadPoolExecutor(6) as pool:
    digests = list(pool.map(build, range(24)))

handoff = queue.Queue(maxsize=256)
received = []


def produce():
    for i in range(20000):
        handoff.put(bytearray(i % 3000) + str(i).encode())
    handoff.put(None)


def consume():
    total = 0
    while (item := handoff.get()) is not None:
        total += len(item)
    received.append(total)


threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
for t in threads:
    t.start()
for t in threads:
    t.join()

child = subprocess.run(["echo", "child ran"], capture_output=True, text=True, check=True)
print(received[0], hashlib.md5("".join(digests).encode()).hexdigest(), child.stdout.strip())
