package testutil

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// DockerdOptions describe a private dockerd started by StartDockerd.
type DockerdOptions struct {
	Dockerd       string // dockerd binary; "" means dockerd from $PATH
	Docker        string // docker CLI; "" means the docker next to dockerd, else from $PATH
	Dir           string // private directory for all its state; required, short (socket paths)
	Config        string // daemon.json to pass with --config-file; "" means none
	StorageDriver string // e.g. overlay2 or vfs; "" means dockerd's choice
	// Bridge, when true, gives the daemon its own bridge device (created
	// here, deleted by Stop) instead of docker0, so that several daemons
	// (other test binaries, the system's) do not fight over one bridge.
	Bridge bool
	Logf   Logf // progress messages; nil discards them
}

// Dockerd is a running private Docker daemon.
type Dockerd struct {
	Dir    string  // its private directory
	Sock   string  // its API socket
	Log    string  // its stdout and stderr
	CLI    Runtime // the docker CLI pointed at it (-H unix://Sock)
	bridge string  // its own bridge device, or ""
	cmd    *exec.Cmd
	done   chan error // receives the daemon's exit
}

// dockerdStartTimeout bounds waiting for `docker info` to answer.
const dockerdStartTimeout = 60 * time.Second

// StartDockerd starts dockerd with --data-root, --exec-root, --pidfile and
// its API socket all under opts.Dir, iptables enabled, and waits until
// `docker info` answers. Stop it with Stop.
func StartDockerd(opts DockerdOptions) (*Dockerd, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin := opts.Dockerd
	if bin == "" {
		p, err := exec.LookPath("dockerd")
		if err != nil {
			return nil, fmt.Errorf("dockerd not found (run scripts/install.sh, or apt-get install docker.io): %w", err)
		}
		bin = p
	}
	cli, err := dockerCLI(opts.Docker, bin)
	if err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("starting dockerd: DockerdOptions.Dir is required")
	}
	d := &Dockerd{
		Dir:  opts.Dir,
		Sock: filepath.Join(opts.Dir, "docker.sock"),
		Log:  filepath.Join(opts.Dir, "dockerd.log"),
		done: make(chan error, 1),
	}
	d.CLI = Runtime{Bin: cli, Global: []string{"-H", "unix://" + d.Sock}}
	args := []string{
		"--data-root", filepath.Join(opts.Dir, "data"),
		"--exec-root", filepath.Join(opts.Dir, "exec"),
		"--host", "unix://" + d.Sock,
		"--pidfile", filepath.Join(opts.Dir, "dockerd.pid"),
		"--iptables=true",
		// Private namespaces in case dockerd shares the system's containerd
		// (it does when /run/containerd/containerd.sock exists).
		"--containerd-namespace", "bw-" + filepath.Base(opts.Dir),
		"--containerd-plugins-namespace", "bw-plugins-" + filepath.Base(opts.Dir),
	}
	if opts.Config != "" {
		args = append(args, "--config-file", opts.Config)
	}
	if opts.StorageDriver != "" {
		args = append(args, "--storage-driver", opts.StorageDriver)
	}
	if opts.Bridge {
		if d.bridge, err = newBridge(); err != nil {
			return nil, err
		}
		args = append(args, "--bridge", d.bridge)
	}
	log, err := os.Create(d.Log)
	if err != nil {
		d.deleteBridge()
		return nil, fmt.Errorf("creating dockerd log: %w", err)
	}
	defer log.Close()
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = log, log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	logf("$ %s %s", bin, strings.Join(args, " "))
	if err := d.cmd.Start(); err != nil {
		d.deleteBridge()
		return nil, fmt.Errorf("starting dockerd: %w", err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	if err := d.waitReady(); err != nil {
		d.Stop()
		return nil, fmt.Errorf("%w; dockerd log %s ends with:\n%s", err, d.Log, Tail(d.Log, 20))
	}
	return d, nil
}

// dockerCLI finds the docker CLI: cli if given, else the docker installed
// next to dockerd (the same package, so the same API version), else $PATH.
func dockerCLI(cli, dockerd string) (string, error) {
	if cli != "" {
		return cli, nil
	}
	for _, dir := range []string{filepath.Dir(dockerd), "/usr/bin"} {
		p := filepath.Join(dir, "docker")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	p, err := exec.LookPath("docker")
	if err != nil {
		return "", fmt.Errorf("docker CLI not found (apt-get install docker.io): %w", err)
	}
	return p, nil
}

// waitReady polls `docker info` until it succeeds, dockerd exits or the
// start timeout passes.
func (d *Dockerd) waitReady() error {
	cli := d.CLI
	cli.Timeout = 10 * time.Second
	deadline := time.Now().Add(dockerdStartTimeout)
	for {
		res := cli.Run("info", "--format", "{{.ServerVersion}}")
		if res.ExitCode == 0 {
			return nil
		}
		select {
		case err := <-d.done:
			d.done <- err
			return fmt.Errorf("dockerd exited while starting: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer `docker info` within %v: %s", dockerdStartTimeout, res.Stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Reload sends SIGHUP, which makes dockerd re-read its configuration file
// (e.g. runtimes added by `runsc install`).
func (d *Dockerd) Reload() error {
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("reloading dockerd: %w", err)
	}
	return nil
}

// Stop sends SIGTERM, waits up to 30 seconds (then SIGKILLs the daemon's
// process group), unmounts whatever it left mounted under its directory and
// deletes its bridge. It does not remove the directory.
func (d *Dockerd) Stop() error {
	var errs []error
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-d.done:
			d.done <- err
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			err := <-d.done
			d.done <- err
			errs = append(errs, errors.New("dockerd did not stop within 30s of SIGTERM and was killed"))
		}
	}
	if err := unmountUnder(d.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := d.deleteBridge(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// newBridge creates an up bridge device bwd<random> with the address
// 172.29.<random>.1/24 for a private dockerd.
func newBridge() (string, error) {
	n := rand.IntN(250) + 1
	name := fmt.Sprintf("bwd%d-%d", n, os.Getpid()%10000)
	cmds := [][]string{
		{"link", "add", "name", name, "type", "bridge"},
		{"addr", "add", fmt.Sprintf("172.29.%d.1/24", n), "dev", name},
		{"link", "set", name, "up"},
	}
	for i, c := range cmds {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			if i > 0 {
				_ = exec.Command("ip", "link", "del", name).Run()
			}
			return "", fmt.Errorf("creating bridge %s (ip %s): %w: %s", name, strings.Join(c, " "), err, out)
		}
	}
	return name, nil
}

// deleteBridge removes the daemon's own bridge, if it has one.
func (d *Dockerd) deleteBridge() error {
	if d.bridge == "" {
		return nil
	}
	name := d.bridge
	d.bridge = ""
	var errs []error
	if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
		errs = append(errs, fmt.Errorf("deleting bridge %s: %w: %s", name, err, out))
	}
	if err := DeleteIptablesRules(name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// DeleteIptablesRules deletes the nat and filter rules that name one of
// the devices devs: dockerd leaves its bridge's rules behind when it stops
// (or dies).
func DeleteIptablesRules(devs ...string) error {
	if len(devs) == 0 {
		return nil
	}
	var errs []error
	for _, table := range []string{"nat", "filter"} {
		out, err := exec.Command("iptables", "-t", table, "-S").Output()
		if err != nil {
			errs = append(errs, fmt.Errorf("listing iptables table %s: %w", table, err))
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			rule := strings.Fields(line)
			if len(rule) < 2 || rule[0] != "-A" || !slices.ContainsFunc(rule, func(w string) bool { return slices.Contains(devs, w) }) {
				continue
			}
			rule[0] = "-D"
			if msg, err := exec.Command("iptables", append([]string{"-t", table}, rule...)...).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("iptables -t %s %s: %w: %s", table, strings.Join(rule, " "), err, msg))
			}
		}
	}
	return errors.Join(errs...)
}

// Tail returns the last n lines of the file at path, or a note saying why
// it cannot be read.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("<reading %s: %v>", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// InstallDockerRuntime registers path as the Docker runtime name in the
// daemon.json config by running `runsc install --config config --runtime
// name --path path -- args...` with the runsc binary runsc.
func InstallDockerRuntime(runsc, config, name, path string, args ...string) error {
	cmd := []string{"install", "--config", config, "--runtime", name, "--path", path}
	if len(args) > 0 {
		cmd = append(append(cmd, "--"), args...)
	}
	res := Runtime{Bin: runsc}.Run(cmd...)
	if res.ExitCode != 0 || res.Err != nil {
		return fmt.Errorf("registering runtime %q: %s", name, res)
	}
	return nil
}

// ImportRootfs makes the image ref from the directory tree rootfs by
// piping `tar -C rootfs -c .` into `<cli> import - ref` (docker and podman
// both take this form; cli.Global selects the daemon or storage).
func ImportRootfs(cli Runtime, rootfs, ref string) error {
	tarCmd := exec.Command("tar", "-C", rootfs, "--numeric-owner", "-c", ".")
	imp := exec.Command(cli.Bin, append(append([]string(nil), cli.Global...), "import", "-", ref)...)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("importing %s: %w", ref, err)
	}
	imp.Stdin = pipe
	var tarErr, impOut strings.Builder
	tarCmd.Stderr = &tarErr
	imp.Stdout, imp.Stderr = &impOut, &impOut
	if err := tarCmd.Start(); err != nil {
		return fmt.Errorf("importing %s: starting tar: %w", ref, err)
	}
	ierr := imp.Run()
	terr := tarCmd.Wait()
	if ierr != nil {
		return fmt.Errorf("importing %s: %s import: %w: %s", ref, cli.Bin, ierr, impOut.String())
	}
	if terr != nil {
		return fmt.Errorf("importing %s: tar -C %s: %w: %s", ref, rootfs, terr, tarErr.String())
	}
	return nil
}

// UnmountAll detaches every mount at or below dir, deepest first: what a
// stopped dockerd or podman may leave behind (overlay layers, shm, netns).
func UnmountAll(dir string) error {
	return unmountUnder(dir)
}
