package e2e

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark.dev/test/testutil"
)

// Networking with Debian programs (the first run builds the Debian root
// filesystem with debootstrap, see test/userland).

func debianRootfs(t *testing.T) string {
	t.Helper()
	repo, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	dir, err := testutil.CachedDebianRootfs(ctx, repo, t.Logf)
	if err != nil {
		t.Skipf("no Debian root filesystem: %v", err)
	}
	return dir
}

// TestNetPythonHTTPServer serves a directory with python3 -m http.server
// on loopback and fetches a file from another process of the container.
func TestNetPythonHTTPServer(t *testing.T) {
	e := newEnv(t)
	bundle := e.bundleWith(testutil.SpecOptions{Rootfs: debianRootfs(t), Args: []string{"/bin/bash", "-c", `
mkdir /tmp/www && echo from-python > /tmp/www/f.txt
cd /tmp/www && python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &
for i in $(seq 50); do
  python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8000/f.txt").read().decode().strip())' 2>/dev/null && break
  sleep 0.2
done
kill %1
python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); c.sendto(b"udp6", s.getsockname())
print(s.recvfrom(16)[0].decode())
print(sorted(n for _, n in socket.if_nameindex()))'
`}})
	e.track("c")
	r := e.runsc("run", "--bundle", bundle, "c")
	if r.Err != nil || r.ExitCode != 0 || r.Stdout != "from-python\nudp6\n['lo']\n" {
		t.Errorf("python http.server over loopback:\n%s", r)
	}
}

// debianBundle writes a bundle running a bash script on the Debian root
// filesystem, read-only (so the shared cached tree is never changed; the
// script writes under /tmp), with the capabilities nginx's master needs to
// switch its workers to www-data (CAP_SETUID, CAP_SETGID, CAP_CHOWN).
func (e *env) debianBundle(script string) string {
	e.t.Helper()
	spec := testutil.NewSpec(testutil.SpecOptions{Rootfs: debianRootfs(e.t), Args: []string{"/bin/bash", "-c", script}})
	spec.Root.Readonly = true
	c := spec.Process.Capabilities
	for _, cp := range []string{"CAP_SETUID", "CAP_SETGID", "CAP_CHOWN"} {
		c.Bounding, c.Effective, c.Permitted = append(c.Bounding, cp), append(c.Effective, cp), append(c.Permitted, cp)
	}
	dir := filepath.Join(e.t.TempDir(), "bundle")
	if err := testutil.WriteBundle(dir, spec); err != nil {
		e.t.Fatal(err)
	}
	return dir
}

// nginxConf serves /tmp/www on 127.0.0.1:8080 and [::1]:8080 with a master
// and two workers running as www-data, everything it writes under /tmp.
const nginxConf = `
user www-data;
worker_processes 2;
pid /tmp/nginx/nginx.pid;
error_log /tmp/nginx/error.log;
events { worker_connections 64; }
http {
	access_log /tmp/nginx/access.log;
	client_body_temp_path /tmp/nginx/body;
	proxy_temp_path /tmp/nginx/proxy;
	fastcgi_temp_path /tmp/nginx/fastcgi;
	uwsgi_temp_path /tmp/nginx/uwsgi;
	scgi_temp_path /tmp/nginx/scgi;
	sendfile on;
	server {
		listen 127.0.0.1:8080;
		listen [::1]:8080;
		root /tmp/www;
	}
}
`

// TestNetNginxCurl starts Debian's nginx (master and workers, daemonized)
// on loopback and fetches a file with curl over IPv4 and IPv6, then checks
// the workers logged the requests.
func TestNetNginxCurl(t *testing.T) {
	e := newEnv(t)
	bundle := e.debianBundle(`
mkdir -p /tmp/nginx /tmp/www && echo from-nginx > /tmp/www/f.txt
cat > /tmp/nginx/nginx.conf <<'CONF'
` + nginxConf + `CONF
nginx -e /tmp/nginx/error.log -c /tmp/nginx/nginx.conf || { cat /tmp/nginx/error.log; exit 1; }
for i in $(seq 50); do curl -sf --max-time 2 http://127.0.0.1:8080/f.txt >/dev/null && break; sleep 0.2; done
curl -sS --max-time 5 http://127.0.0.1:8080/f.txt
curl -sS --max-time 5 -g 'http://[::1]:8080/f.txt'
curl -sS --max-time 5 -o /dev/null -w '%{http_code}\n' http://127.0.0.1:8080/missing
nginx -e /tmp/nginx/error.log -c /tmp/nginx/nginx.conf -s quit
for i in $(seq 50); do [ -e /tmp/nginx/nginx.pid ] || break; sleep 0.1; done
grep -c 'GET /f.txt' /tmp/nginx/access.log
`)
	e.track("c")
	r := e.runsc("run", "--bundle", bundle, "c")
	// The readiness probe may log more GETs of f.txt; the count is last.
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	n := 0
	if len(lines) == 4 {
		n, _ = strconv.Atoi(lines[3])
	}
	if r.Err != nil || r.ExitCode != 0 || len(lines) != 4 ||
		strings.Join(lines[:3], "\n") != "from-nginx\nfrom-nginx\n404" || n < 3 {
		t.Errorf("nginx + curl over loopback: want from-nginx twice, 404 and a count of at least 3\n%s", r)
	}
}

// TestNetIPAddr lists the interfaces with iproute2 (rtnetlink) in the
// none-mode namespace: lo, up, with 127.0.0.1/8 and ::1, and nothing else.
func TestNetIPAddr(t *testing.T) {
	e := newEnv(t)
	bundle := e.debianBundle(`ip -o link show | cut -d: -f2; echo --; ip -o addr show | awk '{print $2, $3, $4}'; echo --; ip -o link show lo`)
	e.track("c")
	r := e.runsc("run", "--bundle", bundle, "c")
	if r.Err != nil || r.ExitCode != 0 {
		t.Fatalf("ip addr:\n%s", r)
	}
	parts := strings.Split(r.Stdout, "--\n")
	if len(parts) != 3 {
		t.Fatalf("ip output has %d parts, want 3:\n%s", len(parts), r)
	}
	if links := strings.Fields(parts[0]); len(links) != 1 || links[0] != "lo" {
		t.Errorf("links = %q, want only lo\n%s", links, r)
	}
	for _, want := range []string{"lo inet 127.0.0.1/8", "lo inet6 ::1/128"} {
		if !strings.Contains(parts[1], want) {
			t.Errorf("`ip addr` does not show %q:\n%s", want, r)
		}
	}
	if !strings.Contains(parts[2], "LOOPBACK,UP") {
		t.Errorf("lo is not up:\n%s", r)
	}
}
