package container

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/runsc/config"
	"bulwark.dev/sandbox"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeSandbox is the state of one fake sandbox.
type fakeSandbox struct {
	running  bool
	started  bool
	exited   bool
	status   int
	signals  []int
	destroys int
	paused   bool
	execs    []*specs.Process
	done     chan struct{} // closed when the init exits
}

// fakeBackend stands in for package sandbox. Sandboxes are keyed by id.
type fakeBackend struct {
	mu         sync.Mutex
	boxes      map[string]*fakeSandbox
	createErr  error
	createHook func() // runs inside create, e.g. to block
	nextPid    int
}

func newFake(t *testing.T) *fakeBackend {
	f := &fakeBackend{boxes: map[string]*fakeSandbox{}, nextPid: 1000}
	old := sandboxes
	sandboxes = f
	t.Cleanup(func() { sandboxes = old })
	return f
}

func (f *fakeBackend) box(s *sandbox.Sandbox) *fakeSandbox {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.boxes[s.ID]
}

func (f *fakeBackend) create(args sandbox.CreateArgs) (*sandbox.Sandbox, error) {
	if f.createHook != nil {
		f.createHook()
	}
	if f.createErr != nil {
		return nil, f.createErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextPid++
	f.boxes[args.ID] = &fakeSandbox{running: true, done: make(chan struct{})}
	return &sandbox.Sandbox{ID: args.ID, Pid: f.nextPid}, nil
}

func (f *fakeBackend) startRoot(s *sandbox.Sandbox) error {
	b := f.box(s)
	if b.started {
		return errors.New("already started")
	}
	b.started = true
	return nil
}

func (f *fakeBackend) signal(s *sandbox.Sandbox, sig int, all bool) error {
	b := f.box(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	b.signals = append(b.signals, sig)
	if sig == 9 || sig == 15 {
		f.exitLocked(b, 128+sig)
	}
	return nil
}

// exit makes the init of the sandbox with id exit with status.
func (f *fakeBackend) exit(id string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exitLocked(f.boxes[id], status)
}

func (f *fakeBackend) exitLocked(b *fakeSandbox, status int) {
	if !b.exited {
		b.exited, b.status = true, status
		close(b.done)
	}
}

func (f *fakeBackend) wait(s *sandbox.Sandbox) (int, error) {
	b := f.box(s)
	<-b.done
	return b.status, nil
}

func (f *fakeBackend) exitStatus(s *sandbox.Sandbox) (int, bool) {
	b := f.box(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	return b.status, b.exited
}

func (f *fakeBackend) isRunning(s *sandbox.Sandbox) bool {
	b := f.box(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	return b != nil && b.running
}

func (f *fakeBackend) destroy(s *sandbox.Sandbox) error {
	b := f.box(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	b.running = false
	b.destroys++
	f.exitLocked(b, 128+9)
	return nil
}

func (f *fakeBackend) processes(s *sandbox.Sandbox) ([]kernel.ProcessInfo, error) {
	return []kernel.ProcessInfo{{PID: 1, Cmd: "sh", Args: []string{"sh"}}}, nil
}

func (f *fakeBackend) exec(s *sandbox.Sandbox, p *specs.Process, files []*os.File) (*sandbox.Process, error) {
	b := f.box(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	b.execs = append(b.execs, p)
	return &sandbox.Process{PID: int32(100 + len(b.execs))}, nil
}

func (f *fakeBackend) pause(s *sandbox.Sandbox) error {
	b := f.box(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	if b.paused {
		return errors.New("already frozen")
	}
	b.paused = true
	return nil
}

func (f *fakeBackend) resume(s *sandbox.Sandbox) error {
	b := f.box(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	b.paused = false
	return nil
}

// testEnv is a --root and a bundle for tests.
type testEnv struct {
	conf   *config.Config
	bundle string
}

func newEnv(t *testing.T) testEnv {
	t.Helper()
	tmp := t.TempDir()
	bundle := filepath.Join(tmp, "bundle")
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return testEnv{conf: &config.Config{Root: filepath.Join(tmp, "root")}, bundle: bundle}
}

func (e testEnv) args(id string) Args {
	return Args{
		ID:        id,
		BundleDir: e.bundle,
		Spec: &specs.Spec{
			Version:     "1.2.0",
			Root:        &specs.Root{Path: "rootfs"},
			Process:     &specs.Process{Args: []string{"sh"}, Cwd: "/"},
			Annotations: map[string]string{"k": "v"},
		},
	}
}

// mustNew creates container id or fails the test.
func (e testEnv) mustNew(t *testing.T, id string) *Container {
	t.Helper()
	c, err := New(e.conf, e.args(id))
	if err != nil {
		t.Fatalf("New(%q): %v", id, err)
	}
	return c
}

// rootEntries lists what is left under the --root directory.
func (e testEnv) rootEntries(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(e.conf.Root)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, x := range ents {
		names = append(names, x.Name())
	}
	return names
}
