// Package container is runsc's container store and lifecycle: each container
// lives in <root>/<id>/meta.json, replaced atomically under <root>/<id>/meta.lock,
// and moves through creating → created → running (⇄ paused) → stopped. Loading a
// container reconciles the stored status with the real sandbox processes.
//
// Locking: one flock per container (meta.lock); no code holds two containers'
// locks at once. Commands that change a container take the lock exclusively,
// re-read meta.json under it, act and save. `create` holds it for the whole
// creation, so a status of "creating" with a free lock means the creator died.
// Reading needs no lock, since meta.json is only ever replaced by rename.
package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"bulwark.dev/pkg/cgroup"
	"bulwark.dev/runsc/config"
	"bulwark.dev/sandbox"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Status is a container's lifecycle state, as the OCI state reports it.
type Status string

// The statuses.
const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused" // every process frozen (pause/resume)
	Stopped  Status = "stopped"
)

// Container is one container as stored in its meta.json.
type Container struct {
	ID        string           `json:"id"`
	Spec      *specs.Spec      `json:"spec"`
	BundleDir string           `json:"bundleDir"` // absolute
	Created   time.Time        `json:"created"`
	Owner     string           `json:"owner"`
	Status    Status           `json:"status"`
	Sandbox   *sandbox.Sandbox `json:"sandbox,omitempty"`
	Cgroup    *cgroup.Cgroup   `json:"cgroup,omitempty"` // nil: the spec names no cgroupsPath

	// KilledStatus is the init's status when runsc ended the container
	// before its init ever ran (a signal to a created container), as a
	// shell reports it (128+signal); nil otherwise, the sandbox knows.
	KilledStatus *int `json:"killedStatus,omitempty"`

	root string // the --root directory holding <ID>/
}

// Args are the inputs of New.
type Args struct {
	ID            string
	Spec          *specs.Spec // validated, e.g. by specutils.LoadSpec
	BundleDir     string
	ConsoleSocket string     // unix socket to send the pty master to, or ""
	PIDFile       string     // written last with the sandbox pid, or ""
	Stdio         []*os.File // stdin, stdout, stderr of the container; nil: runsc's own
}

// New creates the container: it claims <root>/<id> exclusively, creates
// its cgroup (if the spec names one), starts the gofer and the sandbox in
// it, runs the prestart, createRuntime and createContainer hooks, records
// the container as created and finally writes the pid file. On any failure
// it destroys what it started (then runs the poststop hooks if the sandbox
// had started) and removes the cgroup and the directory again.
func New(conf *config.Config, args Args) (_ *Container, err error) {
	if err := ValidateID(args.ID); err != nil {
		return nil, err
	}
	if args.Spec == nil {
		return nil, errors.New("no spec given")
	}
	bundle, err := filepath.Abs(args.BundleDir)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", args.BundleDir, err)
	}
	if err := os.MkdirAll(conf.Root, 0o711); err != nil {
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	dir := filepath.Join(conf.Root, args.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("container with id %q already exists", args.ID)
		}
		return nil, fmt.Errorf("creating state directory: %w", err)
	}
	c := &Container{
		ID:        args.ID,
		Spec:      args.Spec,
		BundleDir: bundle,
		Created:   time.Now().UTC(),
		Owner:     currentOwner(),
		Status:    Creating,
		root:      conf.Root,
	}
	lock, err := lockDir(conf.Root, args.ID, true)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer lock.Unlock()
	defer func() {
		if err != nil {
			c.destroySandbox()
			c.deleteCgroup()
			if c.Sandbox != nil {
				c.Status = Stopped
				c.runHooksLogged(poststopHooks)
			}
			os.RemoveAll(dir)
		}
	}()
	stdio, sendMaster, closeTTY, err := terminalStdio(args)
	if err != nil {
		return nil, err
	}
	defer closeTTY()
	if err := c.setupCgroup(); err != nil {
		return nil, err
	}
	s, err := sandboxes.create(sandbox.CreateArgs{
		ID:        c.ID,
		Spec:      c.Spec,
		BundleDir: bundle,
		StateDir:  dir,
		Conf:      conf,
		Stdio:     stdio,
		Cgroup:    c.Cgroup,
	})
	if err != nil {
		return nil, fmt.Errorf("starting sandbox: %w", err)
	}
	c.Sandbox = s
	if err := sendMaster(); err != nil {
		return nil, err
	}
	if err := c.save(); err != nil {
		return nil, err
	}
	for _, kind := range []hookKind{prestartHooks, createRuntimeHooks, createContainerHooks} {
		if err := c.runHooks(kind); err != nil {
			return nil, err
		}
	}
	c.Status = Created
	if err := c.save(); err != nil {
		return nil, err
	}
	if args.PIDFile != "" {
		pid := []byte(strconv.Itoa(s.Pid))
		if err := writeFileAtomic(args.PIDFile, pid, 0o644); err != nil {
			return nil, fmt.Errorf("writing pid file %q: %w", args.PIDFile, err)
		}
	}
	return c, nil
}

// Load returns the container whose id is id or a unique prefix of it, with
// its status reconciled with reality.
func Load(root, id string) (*Container, error) {
	full, err := FindID(root, id)
	if err != nil {
		return nil, err
	}
	return load(root, full, false)
}

// LoadAll returns every container under root, sorted by id. Containers
// deleted while it runs are left out.
func LoadAll(root string) ([]*Container, error) {
	ids, err := IDs(root)
	if err != nil {
		return nil, err
	}
	var cs []*Container
	for _, id := range ids {
		c, err := load(root, id, false)
		if errors.Is(err, ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// load reads <root>/<id>/meta.json and reconciles it; locked says the
// caller holds the container's lock. A directory without meta.json is a
// creation that has not saved yet (or died before it did).
func load(root, id string, locked bool) (*Container, error) {
	dir := filepath.Join(root, id)
	path := filepath.Join(dir, metaFile)
	c := &Container{ID: id, Status: Creating}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, err := os.Stat(dir); err != nil {
			return nil, notExist(id)
		}
	case err != nil:
		return nil, fmt.Errorf("reading container %q: %w", id, err)
	default:
		if err := json.Unmarshal(data, c); err != nil {
			return nil, fmt.Errorf("reading container %q: %s: %w", id, path, err)
		}
		if c.ID != id {
			return nil, fmt.Errorf("reading container %q: %s names container %q", id, path, c.ID)
		}
	}
	c.root = root
	c.reconcile(locked)
	return c, nil
}

// reconcile makes Status agree with reality (DESIGN.md invariant 5): a
// creation whose creator is gone, a sandbox that no longer runs and an init
// that has exited all mean stopped.
func (c *Container) reconcile(locked bool) {
	switch c.Status {
	case Creating:
		if locked || !lockHeld(c.root, c.ID) {
			c.Status = Stopped
		}
	case Created, Running, Paused:
		switch {
		case c.Sandbox == nil || !sandboxes.isRunning(c.Sandbox):
			c.Status = Stopped
		case c.Status == Running || c.Status == Paused:
			if _, exited := sandboxes.exitStatus(c.Sandbox); exited {
				c.Status = Stopped
			}
		}
	}
}

// refresh re-reads the container without locking.
func (c *Container) refresh() error {
	fresh, err := load(c.root, c.ID, false)
	if err != nil {
		return err
	}
	*c = *fresh
	return nil
}

// update runs fn with the container's lock held exclusively and c freshly
// loaded under it. fn saves what it changes.
func (c *Container) update(fn func() error) error {
	lock, err := lockDir(c.root, c.ID, true)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	fresh, err := load(c.root, c.ID, true)
	if err != nil {
		return err
	}
	*c = *fresh
	return fn()
}

// save replaces meta.json atomically; the caller holds the lock.
func (c *Container) save() error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("saving container %q: %w", c.ID, err)
	}
	if err := writeFileAtomic(filepath.Join(c.dir(), metaFile), data, 0o600); err != nil {
		return fmt.Errorf("saving container %q: %w", c.ID, err)
	}
	return nil
}

// dir is the container's state directory.
func (c *Container) dir() string { return filepath.Join(c.root, c.ID) }

// destroySandbox kills the sandbox, if any.
func (c *Container) destroySandbox() error {
	if c.Sandbox == nil {
		return nil
	}
	if err := sandboxes.destroy(c.Sandbox); err != nil {
		return fmt.Errorf("destroying sandbox of container %q: %w", c.ID, err)
	}
	return nil
}

// currentOwner names the effective user, as runc's list does.
func currentOwner() string {
	uid := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "#" + uid
}
