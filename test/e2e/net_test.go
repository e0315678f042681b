package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Networking in --network=none (the default for a spec without a network
// namespace path): the sandbox's own namespace with only loopback up,
// served by host sockets the sandbox kernel creates (pkg/net/inet).

// TestNetLoopbackTCP runs a busybox nc listener and a client on
// 127.0.0.1 in one container. The listener's stdin is a FIFO held open
// until the end: with /dev/null it could see the end of its input and
// quit before the client's data arrived.
func TestNetLoopbackTCP(t *testing.T) {
	e := newEnv(t)
	r := e.run("c", "/bin/sh", "-c",
		`mkfifo /tmp/in; nc -l -p 7001 </tmp/in >/tmp/got & exec 3>/tmp/in
		for i in $(seq 100); do echo hello-tcp | nc 127.0.0.1 7001 && break; sleep 0.1; done
		wait $!; cat /tmp/got`)
	if r.Err != nil || r.ExitCode != 0 || !strings.Contains(r.Stdout, "hello-tcp") {
		t.Errorf("nc over loopback:\n%s", r)
	}
}

// TestNetLoopbackHTTP serves a file with busybox httpd on 127.0.0.1 and
// fetches it with wget.
func TestNetLoopbackHTTP(t *testing.T) {
	e := newEnv(t)
	r := e.run("c", "/bin/sh", "-c",
		`mkdir /tmp/www && echo served-over-http > /tmp/www/index.html &&
		httpd -p 127.0.0.1:8080 -h /tmp/www && sleep 0.3 &&
		wget -q -O - http://127.0.0.1:8080/index.html`)
	if r.Err != nil || r.ExitCode != 0 || !strings.Contains(r.Stdout, "served-over-http") {
		t.Errorf("httpd + wget over loopback:\n%s", r)
	}
}

// TestNetLoopbackOnly checks the none namespace has lo up and nothing
// else, and that raw packet sockets are refused.
func TestNetLoopbackOnly(t *testing.T) {
	runscOnly(t)
	e := newEnv(t)
	r := e.run("c", "/bin/sh", "-c", `cat /proc/net/dev 2>/dev/null; ifconfig -a 2>&1; true`)
	if r.Err != nil || r.ExitCode != 0 {
		t.Fatalf("listing interfaces:\n%s", r)
	}
	t.Logf("interfaces:\n%s", r.Stdout)
	if !strings.Contains(r.Stdout, "lo") || strings.Contains(r.Stdout, "eth0") {
		t.Errorf("interfaces in none mode:\n%s", r)
	}
}

// TestNetDNSFiles bind-mounts resolv.conf, hosts and hostname files as
// Docker does (served by the gofer) and checks the container sees them
// and the spec's hostname, as under runc.
func TestNetDNSFiles(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	files := map[string]string{
		"resolv.conf": "nameserver 192.0.2.53\nsearch example.test\n",
		"hosts":       "127.0.0.1 localhost\n192.0.2.7 db.example.test db\n",
		"hostname":    "web1\n",
	}
	var mounts []specs.Mount
	for name, data := range files {
		src := filepath.Join(dir, name)
		if err := os.WriteFile(src, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: src,
			Options: []string{"rbind", "rprivate"}})
	}
	bundle := e.bundleSpec(func(s *specs.Spec) {
		s.Hostname = "web1"
		s.Mounts = append(s.Mounts, mounts...)
	}, "/bin/sh", "-c", "cat /etc/resolv.conf /etc/hosts /etc/hostname; hostname")
	e.track("c")
	r := e.runsc("run", "--bundle", bundle, "c")
	want := files["resolv.conf"] + files["hosts"] + files["hostname"] + "web1\n"
	if r.Err != nil || r.ExitCode != 0 || r.Stdout != want {
		t.Errorf("DNS files: want %q\n%s", want, r)
	}
}
