package main

import (
	"reflect"
	"testing"

	"bulwark.dev/test/testutil"
)

func TestContainerSpec(t *testing.T) {
	args := []string{"/usr/bin/python3", "-c", "pass"}
	rw := container{rootfs: "/r", args: args}.spec()
	if want := testutil.NewSpec(testutil.SpecOptions{Args: args, Rootfs: "/r"}); !reflect.DeepEqual(rw, want) {
		t.Errorf("writable spec differs from testutil.NewSpec:\n%+v\n%+v", rw, want)
	}
	ro := container{rootfs: "/r", readonly: true, args: args}.spec()
	if !ro.Root.Readonly || ro.Root.Path != "/r" || !reflect.DeepEqual(ro.Process.Args, args) {
		t.Errorf("read-only spec: root %+v, args %q", ro.Root, ro.Process.Args)
	}
	ro.Root.Readonly = false
	if !reflect.DeepEqual(ro, rw) {
		t.Errorf("read-only spec differs in more than Root.Readonly")
	}
}
