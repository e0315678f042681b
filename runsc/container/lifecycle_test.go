package container

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLifecycle(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	args := env.args("web")
	args.PIDFile = pidFile
	c, err := New(env.conf, args)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if c.Status != Created || c.Pid() != 1001 {
		t.Fatalf("after New: status %s pid %d; want created 1001", c.Status, c.Pid())
	}
	if got, _ := os.ReadFile(pidFile); string(got) != "1001" {
		t.Errorf("pid file = %q, want 1001", got)
	}

	c, err = Load(env.conf.Root, "w") // by prefix
	if err != nil || c.ID != "web" || c.Status != Created {
		t.Fatalf("Load(w) = %+v, %v", c, err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := c.Start(); err == nil || err.Error() != "cannot start an already running container" {
		t.Errorf("second Start = %v", err)
	}
	if c, _ = Load(env.conf.Root, "web"); c.Status != Running {
		t.Errorf("status = %s, want running", c.Status)
	}

	done := make(chan int)
	go func() {
		st, err := c.Wait()
		if err != nil {
			t.Errorf("Wait: %v", err)
		}
		done <- st
	}()
	select {
	case <-done:
		t.Fatal("Wait returned before the init exited")
	case <-time.After(20 * time.Millisecond):
	}
	fake.exit("web", 3)
	if st := <-done; st != 3 {
		t.Errorf("Wait = %d, want 3", st)
	}

	// Reality wins: the stored status is running, the init has exited.
	c, err = Load(env.conf.Root, "web")
	if err != nil || c.Status != Stopped || c.Pid() != 0 {
		t.Fatalf("after exit: %+v, %v; want stopped, pid 0", c, err)
	}
	if err := c.Start(); err == nil || err.Error() != "cannot start a container that has stopped" {
		t.Errorf("Start of stopped = %v", err)
	}
	if err := c.Signal(15, false); err == nil || err.Error() != `container "web" is not running` {
		t.Errorf("Signal of stopped = %v", err)
	}
	if st, err := c.Wait(); err != nil || st != 3 {
		t.Errorf("Wait of stopped = %d, %v; want 3", st, err)
	}
	if err := c.Delete(false); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if fake.boxes["web"].destroys != 1 {
		t.Errorf("sandbox destroyed %d times, want 1", fake.boxes["web"].destroys)
	}
	if left := env.rootEntries(t); len(left) != 0 {
		t.Errorf("left under --root: %v", left)
	}
	if _, err := Load(env.conf.Root, "web"); !errors.Is(err, ErrNotExist) || err.Error() != `container "web" does not exist` {
		t.Errorf("Load after delete = %v", err)
	}
	if err := c.Delete(false); !errors.Is(err, ErrNotExist) {
		t.Errorf("second Delete = %v, want does not exist", err)
	}
}

func TestSignalRunning(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	c := env.mustNew(t, "c")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Signal(10, true); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	if err := c.Signal(0, false); err != nil {
		t.Fatalf("Signal 0: %v", err)
	}
	if got := fake.boxes["c"].signals; len(got) != 1 || got[0] != 10 {
		t.Errorf("signals delivered = %v, want [10]", got)
	}
	if err := c.Signal(65, false); err == nil {
		t.Error("Signal(65) succeeded")
	}
}

func TestSignalCreated(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	c := env.mustNew(t, "c")
	if err := c.Signal(18, false); err != nil { // SIGCONT: nothing happens
		t.Fatalf("SIGCONT: %v", err)
	}
	if c, _ := Load(env.conf.Root, "c"); c.Status != Created {
		t.Fatalf("after SIGCONT status = %s, want created", c.Status)
	}
	if err := c.Signal(9, false); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	if fake.boxes["c"].destroys != 1 {
		t.Errorf("sandbox not destroyed by SIGKILL of a created container")
	}
	c, err := Load(env.conf.Root, "c")
	if err != nil || c.Status != Stopped {
		t.Fatalf("after SIGKILL: %+v, %v", c, err)
	}
	if st, err := c.Wait(); err != nil || st != 137 {
		t.Errorf("Wait = %d, %v; want 137", st, err)
	}
	if err := c.Start(); err == nil || !strings.Contains(err.Error(), "has stopped") {
		t.Errorf("Start after kill = %v", err)
	}
}

func TestDeleteRunning(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	c := env.mustNew(t, "c")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(false); err == nil || err.Error() != `cannot delete container "c" that is not stopped: running` {
		t.Fatalf("Delete without force = %v", err)
	}
	if c, err := Load(env.conf.Root, "c"); err != nil || c.Status != Running {
		t.Fatalf("refused delete changed the container: %+v, %v", c, err)
	}
	if err := c.Delete(true); err != nil {
		t.Fatalf("Delete --force: %v", err)
	}
	b := fake.boxes["c"]
	if len(b.signals) != 1 || b.signals[0] != 9 || b.destroys != 1 {
		t.Errorf("force delete: signals %v destroys %d; want [9] and 1", b.signals, b.destroys)
	}
	if left := env.rootEntries(t); len(left) != 0 {
		t.Errorf("left under --root: %v", left)
	}
}

func TestDeleteCreated(t *testing.T) {
	newFake(t)
	env := newEnv(t)
	c := env.mustNew(t, "c")
	if err := c.Delete(false); err != nil {
		t.Fatalf("Delete of created: %v", err)
	}
	if left := env.rootEntries(t); len(left) != 0 {
		t.Errorf("left under --root: %v", left)
	}
}

func TestSandboxGoneIsStopped(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	env.mustNew(t, "c")
	fake.boxes["c"].running = false // the sandbox died behind our back
	c, err := Load(env.conf.Root, "c")
	if err != nil || c.Status != Stopped || c.Pid() != 0 {
		t.Fatalf("Load = %+v, %v; want stopped, pid 0", c, err)
	}
	if err := c.Start(); err == nil {
		t.Error("Start of a container whose sandbox died succeeded")
	}
}

func TestCreateFailureLeavesNothing(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	fake.createErr = errors.New("boom")
	if _, err := New(env.conf, env.args("c")); err == nil || err.Error() != "starting sandbox: boom" {
		t.Fatalf("New = %v, want starting sandbox: boom", err)
	}
	if left := env.rootEntries(t); len(left) != 0 {
		t.Errorf("left under --root after failed create: %v", left)
	}

	// A pid file that cannot be written fails the create after the sandbox
	// started: the sandbox is destroyed too.
	fake.createErr = nil
	args := env.args("d")
	args.PIDFile = filepath.Join(t.TempDir(), "missing", "pid")
	if _, err := New(env.conf, args); err == nil || !strings.Contains(err.Error(), "writing pid file") {
		t.Fatalf("New with bad pid file = %v", err)
	}
	if fake.boxes["d"].destroys != 1 {
		t.Error("sandbox not destroyed after a failed create")
	}
	if left := env.rootEntries(t); len(left) != 0 {
		t.Errorf("left under --root after failed create: %v", left)
	}

	if _, err := New(env.conf, env.args("../x")); err == nil || !strings.Contains(err.Error(), "invalid container id") {
		t.Errorf("New(../x) = %v", err)
	}
}

func TestCreatingStatus(t *testing.T) {
	fake := newFake(t)
	env := newEnv(t)
	inCreate, release := make(chan struct{}), make(chan struct{})
	fake.createHook = func() {
		close(inCreate)
		<-release
	}
	created := make(chan error)
	go func() {
		_, err := New(env.conf, env.args("c"))
		created <- err
	}()
	<-inCreate
	c, err := Load(env.conf.Root, "c")
	if err != nil || c.Status != Creating || c.Pid() != 0 {
		t.Errorf("Load during create = %+v, %v; want creating", c, err)
	}
	if err := c.Signal(9, false); err == nil || err.Error() != `container "c" is not running` {
		t.Errorf("Signal during create = %v", err)
	}
	// Start and delete wait for the lock, i.e. for create to finish.
	started := make(chan error)
	go func() { started <- c.Start() }()
	select {
	case err := <-started:
		t.Fatalf("Start during create returned %v before create finished", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := <-created; err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := <-started; err != nil {
		t.Fatalf("Start after create: %v", err)
	}
	if c, _ := Load(env.conf.Root, "c"); c.Status != Running {
		t.Errorf("after start status = %s, want running", c.Status)
	}
}

// A creator that died (lock free) before or after writing "creating" leaves
// a stopped container that delete removes.
func TestAbandonedCreation(t *testing.T) {
	newFake(t)
	env := newEnv(t)
	// Died right after mkdir.
	if err := os.MkdirAll(filepath.Join(env.conf.Root, "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	// Died after saving "creating".
	if err := os.MkdirAll(filepath.Join(env.conf.Root, "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(&Container{ID: "b", Status: Creating})
	if err := os.WriteFile(filepath.Join(env.conf.Root, "b", metaFile), meta, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		c, err := Load(env.conf.Root, id)
		if err != nil || c.Status != Stopped {
			t.Fatalf("Load(%s) = %+v, %v; want stopped", id, c, err)
		}
		if err := c.Delete(false); err != nil {
			t.Fatalf("Delete(%s): %v", id, err)
		}
	}
	if left := env.rootEntries(t); len(left) != 0 {
		t.Errorf("left under --root: %v", left)
	}
}

func TestState(t *testing.T) {
	newFake(t)
	env := newEnv(t)
	c := env.mustNew(t, "c")
	data, err := json.Marshal(c.State())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ociVersion": "1.2.0", "id": "c", "pid": float64(1001), "status": "created",
		"bundle": env.bundle, "rootfs": filepath.Join(env.bundle, "rootfs"),
		"owner": currentOwner(), "annotations": map[string]any{"k": "v"},
	}
	for k, v := range want {
		if gv, _ := json.Marshal(got[k]); string(gv) != mustJSON(v) {
			t.Errorf("state[%q] = %s, want %s", k, gv, mustJSON(v))
		}
	}
	created, err := time.Parse(time.RFC3339Nano, got["created"].(string))
	if err != nil || time.Since(created) > time.Minute {
		t.Errorf("created = %v, %v", got["created"], err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
