package kernel

import (
	"errors"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

func TestSetCapabilitiesRules(t *testing.T) {
	k := newTestKernel(t)
	c := auth.NewUserCredentials(1000, 1000, nil)
	c.PermittedCaps, c.EffectiveCaps = 0b1110, 0b0110
	c.BoundingCaps = 0b1111
	c.InheritableCaps, c.AmbientCaps = 0b0100, 0b0100
	task := newTestProcess(t, k, nil, c)

	bad := []CapSets{
		{Permitted: 0b11110},                   // permitted grows
		{Permitted: 0b0110, Effective: 0b1000}, // effective outside permitted
		{Permitted: 0b0110, Inheritable: 0b10000},
	}
	for _, s := range bad {
		if err := task.SetCapabilities(s); !errors.Is(err, linux.EPERM) {
			t.Errorf("SetCapabilities(%+v) = %v, want EPERM", s, err)
		}
	}
	if err := task.SetCapabilities(CapSets{Permitted: 0b0110, Effective: 0b0010, Inheritable: 0b1100}); err != nil {
		t.Fatalf("SetCapabilities: %v", err)
	}
	got := task.Credentials()
	if got.PermittedCaps != 0b0110 || got.EffectiveCaps != 0b0010 || got.InheritableCaps != 0b1100 {
		t.Errorf("sets = %b/%b/%b", got.PermittedCaps, got.EffectiveCaps, got.InheritableCaps)
	}
	if got.AmbientCaps != 0b0100 {
		t.Errorf("ambient = %b, want 100 (still permitted and inheritable)", got.AmbientCaps)
	}
	if err := task.SetCapabilities(CapSets{Permitted: 0b0010, Inheritable: 0b1100}); err != nil {
		t.Fatalf("SetCapabilities: %v", err)
	}
	if a := task.Credentials().AmbientCaps; a != 0 {
		t.Errorf("ambient = %b after dropping the permitted bit, want 0", a)
	}
}

func TestBoundingAmbientSecurebits(t *testing.T) {
	k := newTestKernel(t)
	root := newTestProcess(t, k, nil, nil)
	if err := root.DropBoundingCap(auth.CapSysAdmin); err != nil {
		t.Fatalf("DropBoundingCap: %v", err)
	}
	if root.Credentials().BoundingCaps&(1<<auth.CapSysAdmin) != 0 {
		t.Error("CAP_SYS_ADMIN still in the bounding set")
	}
	if err := root.DropBoundingCap(auth.CapLast + 1); !errors.Is(err, linux.EINVAL) {
		t.Errorf("drop of an invalid cap = %v, want EINVAL", err)
	}
	if err := root.RaiseAmbientCap(auth.CapKill); !errors.Is(err, linux.EPERM) {
		t.Errorf("raise without inheritable = %v, want EPERM", err)
	}
	c := root.Credentials().Fork()
	c.InheritableCaps = 1 << auth.CapKill
	root.SetCredentials(c)
	if err := root.RaiseAmbientCap(auth.CapKill); err != nil {
		t.Fatalf("RaiseAmbientCap: %v", err)
	}
	root.LowerAmbientCaps(auth.AllCaps)
	if root.Credentials().AmbientCaps != 0 {
		t.Error("ambient set not cleared")
	}

	if err := root.SetKeepCaps(true); err != nil {
		t.Fatalf("SetKeepCaps: %v", err)
	}
	if err := root.SetUID(1000); err != nil {
		t.Fatalf("SetUID: %v", err)
	}
	if got := root.Credentials(); got.PermittedCaps == 0 || got.EffectiveCaps != 0 {
		t.Errorf("keepcaps setuid: permitted %x effective %x, want kept / cleared", got.PermittedCaps, got.EffectiveCaps)
	}

	other := newTestProcess(t, k, nil, nil)
	if err := other.SetSecureBits(linux.SECBIT_KEEP_CAPS_LOCKED); err != nil {
		t.Fatalf("SetSecureBits: %v", err)
	}
	if err := other.SetKeepCaps(true); !errors.Is(err, linux.EPERM) {
		t.Errorf("SetKeepCaps with the lock = %v, want EPERM", err)
	}
	if err := other.SetSecureBits(0); !errors.Is(err, linux.EPERM) {
		t.Errorf("unlocking = %v, want EPERM", err)
	}
	if err := other.SetSecureBits(1 << 20); !errors.Is(err, linux.EPERM) {
		t.Errorf("unknown bit = %v, want EPERM", err)
	}
}
