package docker

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark.dev/test/testutil"
)

// Issue 5's Docker acceptance: containers under the "runsc" runtime get
// Docker's bridge network namespace, and their sockets are served there.

// freePort returns a TCP port that nothing on the host listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// curl fetches url from the host with curl, giving up after a few seconds.
func curl(url string) testutil.Result {
	bin, err := exec.LookPath("curl")
	if err != nil {
		return testutil.Result{Err: err}
	}
	rt := testutil.Runtime{Bin: bin, Timeout: 10 * time.Second}
	return rt.Run("-sS", "--max-time", "5", url)
}

// waitForCurl polls url from the host until the body contains want, and
// fails the test if it does not within timeout.
func waitForCurl(t *testing.T, url, want string, timeout time.Duration) {
	t.Helper()
	var last testutil.Result
	if !waitFor(timeout, func() bool {
		last = curl(url)
		return last.ExitCode == 0 && strings.Contains(last.Stdout, want)
	}) {
		t.Fatalf("curl %s did not answer %q within %v:\n%s", url, want, timeout, last)
	}
}

// TestDockerNginxPublishedPort: `docker run -d -p PORT:80` of the Debian
// image running nginx answers curl from the host through the published
// port, several times in a row.
func TestDockerNginxPublishedPort(t *testing.T) {
	start(t)
	name := "bw-nginx"
	port := freePort(t)
	runDetached(t, name, "--runtime="+runtimeNet, "-p", strconv.Itoa(port)+":80", debianImage,
		"nginx", "-g", "daemon off;")
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	waitForCurl(t, url, "Welcome to nginx!", 30*time.Second)
	for i := 0; i < 20; i++ {
		if r := curl(url); r.ExitCode != 0 || !strings.Contains(r.Stdout, "Welcome to nginx!") {
			t.Fatalf("request %d to %s failed:\n%s", i, url, r)
		}
	}
	// The access log records the requests: nginx's workers really served them.
	res := docker(t, "exec", name, "sh", "-c", "wc -l < /var/log/nginx/access.log")
	if n, err := strconv.Atoi(strings.TrimSpace(res.Stdout)); err != nil || n < 21 {
		t.Errorf("nginx's access log has %q lines, want at least 21:\n%s", res.Stdout, res)
	}
}

// TestDockerBridgeContainerToContainer: a container (curl in the Debian
// image) reaches a busybox httpd in another container at the IP address
// Docker gave it. (Not busybox wget as the client: Debian's static busybox
// wget crashes with -q or -T under runc as well.)
func TestDockerBridgeContainerToContainer(t *testing.T) {
	start(t)
	name := "bw-httpd"
	runDetached(t, name, "--runtime="+runtimeNet, busyboxImage, "sh", "-c",
		"mkdir -p /tmp/www && echo from-httpd > /tmp/www/index.html && echo ready && exec httpd -f -p 8000 -h /tmp/www")
	waitForLogs(t, name, "ready", 20*time.Second)
	ip := inspect(t, name, "{{.NetworkSettings.IPAddress}}")
	if ip == "" {
		t.Fatalf("docker gave the container no IP address")
	}
	url := "http://" + ip + ":8000/index.html"
	var res testutil.Result
	ok := waitFor(30*time.Second, func() bool {
		res = docker(t, "run", "--rm", "--runtime="+runtimeNet, debianImage, "curl", "-sS", "--max-time", "5", url)
		return res.ExitCode == 0 && res.Stdout == "from-httpd\n"
	})
	if !ok {
		t.Fatalf("another container could not fetch %s over the bridge:\n%s", url, res)
	}
	// And the host reaches it at the same address, through the bridge.
	if r := curl(url); r.ExitCode != 0 || r.Stdout != "from-httpd\n" {
		t.Errorf("the host could not fetch %s:\n%s", url, r)
	}
}

// TestDockerIPAddr: iproute2's `ip addr` and `ip route` in the container
// show eth0 with the address Docker gave it and the bridge's gateway as the
// default route.
func TestDockerIPAddr(t *testing.T) {
	start(t)
	name := "bw-ipaddr"
	runDetached(t, name, "--runtime="+runtimeNet, debianImage, "sleep", "1000")
	ip := inspect(t, name, "{{.NetworkSettings.IPAddress}}")
	gw := inspect(t, name, "{{.NetworkSettings.Gateway}}")
	mac := inspect(t, name, "{{.NetworkSettings.MacAddress}}")
	if ip == "" || gw == "" {
		t.Fatalf("docker gave the container no address (ip %q, gateway %q)", ip, gw)
	}
	res := docker(t, "exec", name, "ip", "addr")
	mustOK(t, res)
	for _, want := range []string{"lo:", "inet 127.0.0.1/8", "eth0", "inet " + ip + "/", mac} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("`ip addr` does not show %q:\n%s", want, res.Stdout)
		}
	}
	res = docker(t, "exec", name, "ip", "route")
	mustOK(t, res)
	if !strings.Contains(res.Stdout, "default via "+gw+" dev eth0") {
		t.Errorf("`ip route` does not show the default route via %s:\n%s", gw, res.Stdout)
	}
}

// TestDockerDNSFiles: the container sees the /etc/resolv.conf, /etc/hosts
// and hostname Docker wrote for it, and getaddrinfo (getent) resolves names
// through /etc/hosts, including one from --add-host, as under runc.
func TestDockerDNSFiles(t *testing.T) {
	start(t)
	name := "bw-dns"
	runDetached(t, name, "--runtime="+runtimeNet, "--hostname", "web1", "--add-host", "db.example.test:192.0.2.7",
		debianImage, "sleep", "1000")
	ip := inspect(t, name, "{{.NetworkSettings.IPAddress}}")
	for file, format := range map[string]string{
		"/etc/resolv.conf": "{{.ResolvConfPath}}",
		"/etc/hosts":       "{{.HostsPath}}",
		"/etc/hostname":    "{{.HostnamePath}}",
	} {
		want, err := os.ReadFile(inspect(t, name, format))
		if err != nil {
			t.Fatalf("reading Docker's file for %s: %v", file, err)
		}
		res := docker(t, "exec", name, "cat", file)
		if res.ExitCode != 0 || res.Stdout != string(want) {
			t.Errorf("%s in the container differs from Docker's:\nwant %q\n%s", file, want, res)
		}
	}
	res := docker(t, "exec", name, "hostname")
	if res.ExitCode != 0 || res.Stdout != "web1\n" {
		t.Errorf("hostname = %q, want web1\n%s", res.Stdout, res)
	}
	for host, addr := range map[string]string{"db.example.test": "192.0.2.7", "web1": ip, "localhost": "127.0.0.1"} {
		res := docker(t, "exec", name, "getent", "ahostsv4", host)
		if res.ExitCode != 0 || !strings.HasPrefix(res.Stdout, addr+" ") {
			t.Errorf("getent ahostsv4 %s: want %s first\n%s", host, addr, res)
		}
	}
}

// TestDockerEmbeddedDNS: on a user-defined network, a container resolves
// another by name through Docker's embedded DNS server (127.0.0.11, UDP
// redirected by iptables rules inside the container's namespace) and
// reaches it.
func TestDockerEmbeddedDNS(t *testing.T) {
	start(t)
	network := "bw-usernet"
	_ = dockerd.CLI.Run("network", "rm", network)
	mustOK(t, docker(t, "network", "create", network))
	t.Cleanup(func() { _ = dockerd.CLI.Run("network", "rm", network) })
	name := "bw-named"
	runDetached(t, name, "--runtime="+runtimeNet, "--network", network, busyboxImage, "sh", "-c",
		"mkdir -p /tmp/www && echo by-name > /tmp/www/index.html && echo ready && exec httpd -f -p 8000 -h /tmp/www")
	waitForLogs(t, name, "ready", 20*time.Second)
	ip := inspect(t, name, "{{(index .NetworkSettings.Networks \""+network+"\").IPAddress}}")
	// "ready" is printed just before httpd listens: retry until it serves.
	var res testutil.Result
	if !waitFor(30*time.Second, func() bool {
		res = docker(t, "run", "--rm", "--runtime="+runtimeNet, "--network", network, debianImage,
			"sh", "-c", "getent hosts "+name+" && curl -sS --max-time 5 http://"+name+":8000/index.html")
		return res.ExitCode == 0 && strings.HasPrefix(res.Stdout, ip+" ") && strings.HasSuffix(res.Stdout, "by-name\n")
	}) {
		t.Errorf("resolving and fetching %s (%s) by name on %s:\n%s", name, ip, network, res)
	}
}
