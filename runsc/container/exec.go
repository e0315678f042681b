package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"bulwark.dev/pkg/specutils"
	"bulwark.dev/sandbox"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// alive reports whether a container in status s has a live init: running
// or paused.
func (s Status) alive() bool { return s == Running || s == Paused }

// ExecOptions are runc exec's flags that shape the process.
type ExecOptions struct {
	Args           []string // the command and its arguments
	ProcessFile    string   // --process: a runtime-spec Process as JSON; the flags below are then ignored
	Cwd            string   // --cwd; "" keeps the spec's
	Env            []string // -e: KEY=value added to (or replacing in) the spec's env
	User           string   // -u: uid[:gid]; "" keeps the spec's user
	AdditionalGids []string // --additional-gids: replace the spec's
	Caps           []string // --cap: added to every capability set
	NoNewPrivs     bool     // --no-new-privs
	TTY            bool     // -t
}

// ExecProcess builds the process to exec as runc does: with ProcessFile,
// the file's process as it is; otherwise the spec's process (env, cwd,
// user, capabilities, rlimits) with Args instead of its command and the
// flags applied over it.
func (c *Container) ExecProcess(o ExecOptions) (*specs.Process, error) {
	p, err := c.execProcess(o)
	if err != nil {
		return nil, err
	}
	if err := specutils.ValidateCapabilities(p.Capabilities); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	return p, nil
}

// execProcess builds ExecProcess's process before validation.
func (c *Container) execProcess(o ExecOptions) (*specs.Process, error) {
	if o.ProcessFile != "" {
		return readProcessFile(o.ProcessFile)
	}
	if len(o.Args) == 0 {
		return nil, errors.New("exec: no command given")
	}
	var p specs.Process
	if c.Spec != nil && c.Spec.Process != nil {
		// A deep copy, so nothing here changes the container's spec.
		data, err := json.Marshal(c.Spec.Process)
		if err != nil {
			return nil, fmt.Errorf("exec: copying the spec's process: %w", err)
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("exec: copying the spec's process: %w", err)
		}
	}
	p.Args = append([]string(nil), o.Args...)
	p.Terminal = o.TTY
	p.ConsoleSize = nil
	if o.Cwd != "" {
		p.Cwd = o.Cwd
	}
	env, err := MergeEnv(p.Env, o.Env)
	if err != nil {
		return nil, err
	}
	p.Env = env
	if o.User != "" {
		uid, gid, hasGID, err := ParseUser(o.User)
		if err != nil {
			return nil, err
		}
		p.User.UID = uid
		if hasGID {
			p.User.GID = gid
		}
	}
	if o.AdditionalGids != nil {
		gids := []uint32{}
		for _, g := range o.AdditionalGids {
			n, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("invalid --additional-gids value %q: want a number", g)
			}
			gids = append(gids, uint32(n))
		}
		p.User.AdditionalGids = gids
	}
	if len(o.Caps) > 0 {
		addCaps(&p, o.Caps)
	}
	if o.NoNewPrivs {
		p.NoNewPrivileges = true
	}
	return &p, nil
}

// readProcessFile reads a runtime-spec Process from path.
func readProcessFile(path string) (*specs.Process, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading process file: %w", err)
	}
	var p specs.Process
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parsing process file %q: %w", path, err)
	}
	if len(p.Args) == 0 {
		return nil, fmt.Errorf("process file %q: args must not be empty", path)
	}
	if p.Cwd == "" || !strings.HasPrefix(p.Cwd, "/") {
		return nil, fmt.Errorf("process file %q: cwd %q must be an absolute path", path, p.Cwd)
	}
	return &p, nil
}

// MergeEnv returns base with each KEY=value of add replacing the entry of
// the same key in place, or appended when base has none.
func MergeEnv(base, add []string) ([]string, error) {
	out := append([]string(nil), base...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		if _, dup := index[k]; !dup {
			index[k] = i
		}
	}
	for _, kv := range add {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid environment variable %q: want KEY=value", kv)
		}
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out, nil
}

// ParseUser parses -u's uid[:gid] (numbers, as runc takes them).
func ParseUser(s string) (uid, gid uint32, hasGID bool, err error) {
	us, gs, hasGID := strings.Cut(s, ":")
	u, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, 0, false, fmt.Errorf("invalid user %q: want uid[:gid] as numbers", s)
	}
	if !hasGID {
		return uint32(u), 0, false, nil
	}
	g, err := strconv.ParseUint(gs, 10, 32)
	if err != nil {
		return 0, 0, false, fmt.Errorf("invalid user %q: want uid[:gid] as numbers", s)
	}
	return uint32(u), uint32(g), true, nil
}

// addCaps adds caps (CAP_X or X, any case) to the bounding, effective,
// permitted and ambient sets of p, as runc's --cap does.
func addCaps(p *specs.Process, caps []string) {
	if p.Capabilities == nil {
		p.Capabilities = &specs.LinuxCapabilities{}
	}
	pc := p.Capabilities
	for _, c := range caps {
		name := strings.ToUpper(c)
		if !strings.HasPrefix(name, "CAP_") {
			name = "CAP_" + name
		}
		for _, set := range []*[]string{&pc.Bounding, &pc.Effective, &pc.Permitted, &pc.Ambient} {
			if !contains(*set, name) {
				*set = append(*set, name)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Exec starts p in the running container with files as its fds
// 0..len(files)-1. A paused container is refused unless ignorePaused (the
// process then starts frozen, like the others, until resume).
func (c *Container) Exec(p *specs.Process, files []*os.File, ignorePaused bool) (*sandbox.Process, error) {
	if err := c.refresh(); err != nil {
		return nil, err
	}
	switch {
	case c.Status == Paused && !ignorePaused:
		return nil, fmt.Errorf("cannot exec in paused container %q (use --ignore-paused to override)", c.ID)
	case c.Status == Stopped:
		return nil, fmt.Errorf("cannot exec in stopped container %q", c.ID)
	case !c.Status.alive():
		return nil, fmt.Errorf("container %q is not running", c.ID)
	}
	proc, err := sandboxes.exec(c.Sandbox, p, files)
	if err != nil {
		return nil, fmt.Errorf("exec in container %q: %w", c.ID, err)
	}
	return proc, nil
}

// Pause freezes every process of a running container: it becomes paused.
func (c *Container) Pause() error {
	return c.update(func() error {
		if c.Status != Running {
			return fmt.Errorf("container %q is not running", c.ID)
		}
		if err := sandboxes.pause(c.Sandbox); err != nil {
			return fmt.Errorf("pausing container %q: %w", c.ID, err)
		}
		c.Status = Paused
		return c.save()
	})
}

// Resume thaws a paused container: it is running again and the signals
// sent meanwhile are delivered.
func (c *Container) Resume() error {
	return c.update(func() error {
		if c.Status != Paused {
			return fmt.Errorf("container %q is not paused", c.ID)
		}
		if err := sandboxes.resume(c.Sandbox); err != nil {
			return fmt.Errorf("resuming container %q: %w", c.ID, err)
		}
		c.Status = Running
		return c.save()
	})
}

// WritePIDFile writes pid to path atomically (temp file, fsync, rename), as
// create's --pid-file is written.
func WritePIDFile(path string, pid int) error {
	if err := writeFileAtomic(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("writing pid file %q: %w", path, err)
	}
	return nil
}
