package main

import (
	"path/filepath"
	"testing"
	"time"
)

func TestLockRunExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.lock")
	unlock, err := lockRun(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func())
	go func() {
		u, err := lockRun(path)
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("a second lockRun succeeded while the first holds the lock")
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case u := <-got:
		if u != nil {
			u()
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second lockRun did not get the lock after the first released it")
	}
}
