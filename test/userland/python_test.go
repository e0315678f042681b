package userland

import "testing"

// pyScript runs a Python program written to a file in /tmp (so that
// multiprocessing's spawn method, which re-imports the main module, works).
func pyScript(src string) string {
	return "cat > /tmp/p.py <<'EOF'\n" + src + "\nEOF\npython3 /tmp/p.py"
}

func TestPython(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "print", script: `python3 -c 'import sys; print("hello", 6 * 7, sys.version_info[:2] >= (3, 11)); print(sum(range(10**6)))'; python3 -c 'import sys; sys.exit(3)'; echo $?`,
			want: "hello 42 True\n499999500000\n3\n"},
		{name: "stdlib", script: pyScript(`import json, hashlib, os, platform, re, datetime
print(json.dumps({"b": [1, 2], "a": None}, sort_keys=True))
print(hashlib.sha256(b"abc").hexdigest()[:16])
print(platform.system(), os.getpid() > 0, os.getcwd())
print(re.sub(r"(\d+)", lambda m: str(int(m.group(1)) * 2), "a1b22"))
print(datetime.datetime.fromtimestamp(0, datetime.timezone.utc).isoformat())
with open("/tmp/x", "w") as f:
    f.write("data\n")
print(open("/tmp/x").read().strip(), sorted(os.listdir("/tmp")))`),
			want: "{\"a\": null, \"b\": [1, 2]}\nba7816bf8f01cfea\nLinux True /\na2b44\n1970-01-01T00:00:00+00:00\ndata ['p.py', 'x']\n"},
		{name: "threads", script: pyScript(`import threading, queue
from concurrent.futures import ThreadPoolExecutor
lock = threading.Lock()
total = 0
def work(n):
    global total
    for _ in range(1000):
        with lock:
            total += n
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print(total, threading.active_count())
with ThreadPoolExecutor(4) as ex:
    print(sum(ex.map(lambda x: x * x, range(100))))
q = queue.Queue()
ev = threading.Event()
def producer():
    for i in range(5): q.put(i)
    ev.wait()
    q.put(None)
p = threading.Thread(target=producer); p.start()
ev.set()
items = []
while (x := q.get()) is not None: items.append(x)
p.join()
print(items)
cond = threading.Condition()
ready = []
def waiter():
    with cond:
        cond.wait_for(lambda: ready)
        print("woken", ready[0])
w = threading.Thread(target=waiter); w.start()
with cond:
    ready.append("ok"); cond.notify_all()
w.join()
t = threading.Timer(0.05, lambda: print("timer")); t.start(); t.join()`),
			want: "28000 1\n328350\n[0, 1, 2, 3, 4]\nwoken ok\ntimer\n"},
		{name: "subprocess", script: pyScript(`import subprocess
r = subprocess.run(["sh", "-c", "echo out; echo err >&2; exit 3"], capture_output=True, text=True)
print(r.returncode, r.stdout.strip(), r.stderr.strip())
print(subprocess.check_output("seq 3 | wc -l", shell=True, text=True).strip())
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print(p.communicate(b"piped")[0].decode(), p.returncode)
try:
    subprocess.run(["sleep", "10"], timeout=0.2)
except subprocess.TimeoutExpired:
    print("timeout")
p = subprocess.Popen(["sleep", "10"]); p.terminate(); print(p.wait())`),
			want: "3 out err\n3\npiped 0\ntimeout\n-15\n"},
		{name: "multiprocessing", script: pyScript(`import multiprocessing as mp, os
def sq(x):
    return x * x
def put(q):
    q.put(("child", os.getppid() == parent))
parent = os.getpid()
if __name__ == "__main__":
    with mp.Pool(2) as p:
        print(p.map(sq, range(10)))
    q = mp.Queue()
    pr = mp.Process(target=put, args=(q,)); pr.start()
    print(q.get()); pr.join(); print(pr.exitcode)
    with mp.get_context("spawn").Pool(2) as p:
        print(sum(p.map(sq, range(100))))
    v = mp.Value("i", 0)
    def inc(v):
        for _ in range(100):
            with v.get_lock(): v.value += 1
    ps = [mp.Process(target=inc, args=(v,)) for _ in range(3)]
    for x in ps: x.start()
    for x in ps: x.join()
    print(v.value)`),
			want: "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n('child', True)\n0\n328350\n300\n"},
		{name: "sqlite3", script: pyScript(`import sqlite3
db = sqlite3.connect(":memory:")
db.execute("create table t (k text primary key, v integer)")
db.executemany("insert into t values (?, ?)", [(f"k{i}", i) for i in range(1000)])
print(db.execute("select count(*), sum(v), max(k) from t").fetchone())
db.execute("update t set v = v * 2 where v % 2 = 0")
print(db.execute("select v from t where k in ('k2', 'k3') order by k").fetchall())
print(sqlite3.sqlite_version_info >= (3, 0, 0))`),
			want: "(1000, 499500, 'k999')\n[(4,), (3,)]\nTrue\n"},
		{name: "mmap", script: pyScript(`import mmap, os
m = mmap.mmap(-1, 4096)
m[:5] = b"hello"
print(m[:5].decode(), len(m))
with open("/tmp/f", "wb") as f:
    f.write(b"\0" * 8192)
with open("/tmp/f", "r+b") as f:
    mm = mmap.mmap(f.fileno(), 0)
    mm[4096:4101] = b"world"
    mm.flush(); mm.close()
print(open("/tmp/f", "rb").read()[4096:4101].decode())
with open("/tmp/f", "r+b") as f:
    f.seek(100); f.write(b"seen"); f.flush()
    ro = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    print(ro[100:104].decode())
s = mmap.mmap(-1, 16)
pid = os.fork()
if pid == 0:
    s[:3] = b"kid"
    os._exit(0)
os.waitpid(pid, 0)
print(s[:3].decode())
p = mmap.mmap(-1, 16, flags=mmap.MAP_PRIVATE)
pid = os.fork()
if pid == 0:
    p[:3] = b"cow"
    os._exit(0)
os.waitpid(pid, 0)
print(p[:3] == b"\0\0\0")`),
			want: "hello 4096\nworld\nseen\nkid\nTrue\n"},
		{name: "shared_memory", script: pyScript(`import os
from multiprocessing import shared_memory, Process
def child(name):
    s = shared_memory.SharedMemory(name=name)
    s.buf[:5] = b"child"
    s.close()
if __name__ == "__main__":
    s = shared_memory.SharedMemory(create=True, size=64)
    s.buf[:5] = b"paren"
    p = Process(target=child, args=(s.name,)); p.start(); p.join()
    print(bytes(s.buf[:5]).decode(), p.exitcode, os.path.exists("/dev/shm/" + s.name))
    s.close(); s.unlink()
    print(os.listdir("/dev/shm"))
    l = shared_memory.ShareableList([1, "two", 3.0])
    print(list(l)); l.shm.close(); l.shm.unlink()`),
			want: "child 0 True\n[]\n[1, 'two', 3.0]\n"},
		{name: "sockets asyncio", script: pyScript(`import socket, asyncio, os
a, b = socket.socketpair()
a.sendall(b"ping"); print(b.recv(4).decode())
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); srv.bind("/tmp/sock"); srv.listen()
if os.fork() == 0:
    c = socket.socket(socket.AF_UNIX); c.connect("/tmp/sock"); c.sendall(b"over unix"); os._exit(0)
conn, _ = srv.accept(); print(conn.recv(64).decode()); os.wait()
async def job(n):
    await asyncio.sleep(0.01 * n)
    return n
async def main():
    return await asyncio.gather(*(job(n) for n in range(5)))
print(asyncio.run(main()))`),
			want: "ping\nover unix\n[0, 1, 2, 3, 4]\n"},
	})
}
