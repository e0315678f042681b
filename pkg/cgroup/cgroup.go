// Package cgroup places a container's host processes (sandbox and gofer) in
// the cgroup its spec names (linux.cgroupsPath) with the cgroupfs driver,
// applies the spec's memory, cpu and pids limits and reads usage
// statistics. It handles cgroup v1 (one hierarchy per controller), v2
// (unified) and the hybrid layout (v1 controllers plus a controller-less
// v2 hierarchy, whose directory is created and joined but holds no limits).
//
// Path rules follow runc's cgroupfs driver: an absolute cgroupsPath is
// relative to each hierarchy's root, a relative one to runsc's own cgroup
// in that hierarchy. A spec without cgroupsPath gets no cgroup.
package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Cgroup is one container's cgroup, resolved to directories. It is stored
// in the container's meta.json: the directories depend on the host's mounts
// and on runsc's own cgroup when the container was created.
type Cgroup struct {
	Path    string            `json:"path"`              // the spec's cgroupsPath
	V1      map[string]string `json:"v1,omitempty"`      // v1 controller -> its directory
	Unified string            `json:"unified,omitempty"` // directory in the v2 hierarchy, if mounted
}

// Layout says where the cgroup hierarchies are mounted.
type Layout struct {
	V1      map[string]string // v1 controller ("memory", "cpu", ...) -> mount point
	V1Root  map[string]string // v1 controller -> root of the mount within its hierarchy
	Unified string            // the cgroup2 mount point, or ""
}

// unifiedKey is the /proc/self/cgroup "controller" of the v2 hierarchy.
const unifiedKey = ""

// HostLayout reads the cgroup mounts of this process's mount namespace.
func HostLayout() (Layout, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return Layout{}, fmt.Errorf("reading cgroup mounts: %w", err)
	}
	return parseMountinfo(string(data)), nil
}

// parseMountinfo extracts the cgroup mounts from /proc/self/mountinfo text.
// Named v1 hierarchies (name=systemd) carry no controller and are skipped.
func parseMountinfo(text string) Layout {
	l := Layout{V1: map[string]string{}, V1Root: map[string]string{}}
	for _, line := range strings.Split(text, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		root, mnt := f[3], unescape(f[4])
		switch g[0] {
		case "cgroup2":
			if l.Unified == "" {
				l.Unified = mnt
			}
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				if knownV1[opt] {
					if _, dup := l.V1[opt]; !dup {
						l.V1[opt], l.V1Root[opt] = mnt, root
					}
				}
			}
		}
	}
	return l
}

// knownV1 are the v1 controllers a container's cgroup is made in.
var knownV1 = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "pids": true,
	"blkio": true, "devices": true, "freezer": true, "hugetlb": true,
	"net_cls": true, "net_prio": true, "perf_event": true, "rdma": true, "misc": true,
}

// unescape undoes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroups parses /proc/self/cgroup text: controller -> path (the v2
// hierarchy under unifiedKey).
func ownCgroups(text string) map[string]string {
	own := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			own[unifiedKey] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			own[c] = parts[2]
		}
	}
	return own
}

// Resolve returns the cgroup for cgroupsPath on the host, without creating
// it. A path in systemd's "slice:prefix:name" form is refused.
func Resolve(cgroupsPath string) (*Cgroup, error) {
	l, err := HostLayout()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("reading own cgroup: %w", err)
	}
	return resolve(l, ownCgroups(string(data)), cgroupsPath)
}

// resolve is Resolve for a given layout and own cgroups.
func resolve(l Layout, own map[string]string, cgroupsPath string) (*Cgroup, error) {
	if err := checkPath(cgroupsPath); err != nil {
		return nil, err
	}
	if len(l.V1) == 0 && l.Unified == "" {
		return nil, errors.New("no cgroup hierarchy is mounted")
	}
	c := &Cgroup{Path: cgroupsPath, V1: map[string]string{}}
	inner := func(ctrl, mountRoot string) string {
		if path.IsAbs(cgroupsPath) {
			return path.Clean(cgroupsPath)
		}
		base := own[ctrl]
		if mountRoot != "" && mountRoot != "/" {
			base = strings.TrimPrefix(base, mountRoot)
		}
		return path.Join("/", base, cgroupsPath)
	}
	for ctrl, mnt := range l.V1 {
		c.V1[ctrl] = filepath.Join(mnt, inner(ctrl, l.V1Root[ctrl]))
	}
	if l.Unified != "" {
		c.Unified = filepath.Join(l.Unified, inner(unifiedKey, "/"))
	}
	return c, nil
}

// checkPath refuses cgroupsPath values the cgroupfs driver cannot use.
func checkPath(p string) error {
	switch {
	case p == "" || path.Clean("/"+p) == "/":
		return fmt.Errorf("invalid cgroupsPath %q: names no cgroup", p)
	case strings.Contains(p, ":"):
		return fmt.Errorf("cgroupsPath %q is in systemd's slice:prefix:name form, but --systemd-cgroup is not supported yet: use a cgroupfs path such as /bulwark/<id>", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("invalid cgroupsPath %q: \"..\" is not allowed", p)
		}
	}
	return nil
}

// dirs returns the distinct directories of the cgroup (co-mounted v1
// controllers share one), sorted.
func (c *Cgroup) dirs() []string {
	seen := map[string]bool{}
	var ds []string
	for _, d := range c.V1 {
		if !seen[d] {
			seen[d] = true
			ds = append(ds, d)
		}
	}
	if c.Unified != "" && !seen[c.Unified] {
		ds = append(ds, c.Unified)
	}
	sort.Strings(ds)
	return ds
}

// IsV2 reports whether limits and statistics use the v2 hierarchy (no v1
// controller is mounted).
func (c *Cgroup) IsV2() bool { return len(c.V1) == 0 && c.Unified != "" }

// mkdirs creates dir and its missing parents and returns those it created,
// outermost first. A new cpuset directory inherits its parent's cpus and
// mems, without which no process could join it.
func mkdirs(dir string, cpuset, v2 bool, logf func(string, ...any)) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append([]string{d}, missing...)
		if d == filepath.Dir(d) {
			break
		}
	}
	var made []string
	for _, d := range missing {
		if v2 {
			enableControllers(filepath.Dir(d), logf)
		}
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return made, fmt.Errorf("creating cgroup %s: %w", d, err)
		}
		made = append(made, d)
		if cpuset {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if err := inherit(d, f); err != nil {
					return made, err
				}
			}
		}
	}
	return made, nil
}

// v2Controllers are the v2 controllers a container's limits use.
var v2Controllers = []string{"cpu", "cpuset", "memory", "pids"}

// enableControllers makes the v2 controllers available to parent's
// children (cgroup.subtree_control), those the parent has. Failure leaves
// the limits of that controller a no-op, logged.
func enableControllers(parent string, logf func(string, ...any)) {
	have, err := readString(parent, "cgroup.controllers")
	if err != nil {
		logf("cgroup: %v", err)
		return
	}
	avail := strings.Fields(have)
	for _, c := range v2Controllers {
		if !slices.Contains(avail, c) {
			continue
		}
		if err := writeFile(parent, "cgroup.subtree_control", "+"+c); err != nil {
			logf("cgroup: enabling %s: %v", c, err)
		}
	}
}

// inherit copies the parent's value of file into dir when dir's is empty.
func inherit(dir, file string) error {
	cur, err := readString(dir, file)
	if err != nil || cur != "" {
		return err
	}
	parent, err := readString(filepath.Dir(dir), file)
	if err != nil {
		return err
	}
	return writeFile(dir, file, parent)
}

// Create makes the cgroup's directories and applies res (nil: no limits).
// On failure it removes the directories it made. logf receives debug
// messages (limits that this host cannot apply).
func (c *Cgroup) Create(res *specs.LinuxResources, logf func(string, ...any)) (err error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var made []string
	defer func() {
		if err != nil {
			for i := len(made) - 1; i >= 0; i-- {
				os.Remove(made[i])
			}
		}
	}()
	cpusetDir := c.V1["cpuset"]
	for _, d := range c.dirs() {
		m, err := mkdirs(d, d == cpusetDir, d == c.Unified && c.IsV2(), logf)
		made = append(made, m...)
		if err != nil {
			return err
		}
	}
	if res == nil {
		return nil
	}
	if c.IsV2() {
		return applyV2(c.Unified, res, logf)
	}
	if c.Unified != "" {
		logf("cgroup: the v2 hierarchy %s has no controllers here; limits apply through v1 only", c.Unified)
	}
	return applyV1(c.V1, res, logf)
}

// Join moves process pid into every directory of the cgroup.
func (c *Cgroup) Join(pid int) error {
	return c.join(pid, c.dirs())
}

// JoinV1 moves process pid into the v1 directories only, for a process
// that was cloned into the v2 directory already (CLONE_INTO_CGROUP).
func (c *Cgroup) JoinV1(pid int) error {
	var ds []string
	for _, d := range c.dirs() {
		if d != c.Unified {
			ds = append(ds, d)
		}
	}
	return c.join(pid, ds)
}

// EnterV1 moves the calling process into the cgroup's v1 directories, so
// that children it starts are in the cgroup from their first instruction
// (on v1 there is no CLONE_INTO_CGROUP, and a child moved after it started
// may already have forked helpers outside). restore moves the caller back
// to where it was. It does nothing when the cgroup has no v1 directories.
func (c *Cgroup) EnterV1() (restore func(), err error) {
	if len(c.V1) == 0 {
		return func() {}, nil
	}
	l, err := HostLayout()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("reading own cgroup: %w", err)
	}
	own := ownCgroups(string(data))
	back := map[string]bool{}
	for ctrl := range c.V1 {
		if mnt, ok := l.V1[ctrl]; ok {
			rel := own[ctrl]
			if root := l.V1Root[ctrl]; root != "" && root != "/" {
				rel = strings.TrimPrefix(rel, root)
			}
			back[filepath.Join(mnt, rel)] = true
		}
	}
	restore = func() {
		for d := range back {
			writeFile(d, "cgroup.procs", strconv.Itoa(os.Getpid()))
		}
	}
	if err := c.JoinV1(os.Getpid()); err != nil {
		restore()
		return nil, err
	}
	return restore, nil
}

func (c *Cgroup) join(pid int, dirs []string) error {
	for _, d := range dirs {
		if err := writeFile(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("moving pid %d into cgroup %s: %w", pid, d, err)
		}
	}
	return nil
}

// Pids returns the host pids in the cgroup (from its first directory).
func (c *Cgroup) Pids() ([]int, error) {
	ds := c.dirs()
	if len(ds) == 0 {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(ds[0], "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("reading cgroup %s: %w", ds[0], err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// deleteLimit bounds how long Delete waits for killed processes to leave.
const deleteLimit = 5 * time.Second

// Delete removes the cgroup's directories, killing whatever still runs in
// them (the container's processes only). Missing directories are fine.
func (c *Cgroup) Delete() error {
	var errs []error
	for _, d := range c.dirs() {
		if err := removeDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeDir rmdirs one cgroup directory, killing its processes while it
// is busy.
func removeDir(d string) error {
	deadline := time.Now().Add(deleteLimit)
	for {
		err := unix.Rmdir(d)
		switch {
		case err == nil || err == unix.ENOENT:
			return nil
		case err != unix.EBUSY || time.Now().After(deadline):
			return fmt.Errorf("removing cgroup %s: %w", d, err)
		}
		procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(procs)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeFile writes value to a cgroup control file, which must exist.
func writeFile(dir, file, value string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, p, err)
	}
	return nil
}

// readString reads a control file, trimmed.
func readString(dir, file string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", filepath.Join(dir, file), err)
	}
	return strings.TrimSpace(string(data)), nil
}

// exists reports whether a control file exists.
func exists(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

// Logger adapts a *log.Logger to Create's logf (nil: discard).
func Logger(l *log.Logger) func(string, ...any) {
	if l == nil {
		return func(string, ...any) {}
	}
	return l.Printf
}
