package syscalls

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"
)

// Capabilities: capget(2), capset(2) and the capability prctl options.

func init() {
	register(linux.SYS_CAPGET, sysCapget, kernel.Hex, kernel.Hex)
	register(linux.SYS_CAPSET, sysCapset, kernel.Hex, kernel.Hex)
	prctlFns[linux.PR_CAPBSET_READ] = prctlCapbsetRead
	prctlFns[linux.PR_CAPBSET_DROP] = prctlCapbsetDrop
	prctlFns[linux.PR_CAP_AMBIENT] = prctlCapAmbient
	prctlFns[linux.PR_GET_SECUREBITS] = prctlGetSecurebits
	prctlFns[linux.PR_SET_SECUREBITS] = prctlSetSecurebits
	prctlFns[linux.PR_GET_KEEPCAPS] = prctlGetKeepcaps
	prctlFns[linux.PR_SET_KEEPCAPS] = prctlSetKeepcaps
}

// capHeader reads the capget/capset header and returns it with the number
// of data words its version exchanges. An unknown version is answered like
// Linux: the preferred version is written back and EINVAL returned.
func capHeader(t *kernel.Task, addr uintptr) (linux.CapUserHeader, int, error) {
	var h linux.CapUserHeader
	if err := kernel.CopyObjectIn(t, addr, &h); err != nil {
		return h, 0, err
	}
	switch h.Version {
	case linux.LINUX_CAPABILITY_VERSION_1:
		return h, 1, nil
	case linux.LINUX_CAPABILITY_VERSION_2, linux.LINUX_CAPABILITY_VERSION_3:
		return h, 2, nil
	}
	v := uint32(linux.LINUX_CAPABILITY_VERSION_3)
	if err := kernel.CopyObjectOut(t, addr, &v); err != nil {
		return h, 0, err
	}
	return h, 0, linux.EINVAL
}

// sysCapget: capget(hdr, data). A NULL data pointer only probes the
// version (and succeeds even for an unknown one, after writing it back).
func sysCapget(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	h, words, err := capHeader(t, a[0])
	if a[1] == 0 && (err == nil || err == linux.EINVAL) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if h.PID < 0 {
		return 0, linux.EINVAL
	}
	c := t.Credentials()
	if h.PID != 0 && h.PID != t.ThreadID() {
		tg := t.Kernel().ThreadGroup(h.PID)
		if tg == nil || tg.Leader() == nil {
			return 0, linux.ESRCH
		}
		c = tg.Leader().Credentials()
	}
	var data [2]linux.CapUserData
	for i := range data {
		shift := 32 * i
		data[i] = linux.CapUserData{
			Effective:   uint32(c.EffectiveCaps >> shift),
			Permitted:   uint32(c.PermittedCaps >> shift),
			Inheritable: uint32(c.InheritableCaps >> shift),
		}
	}
	if words == 1 {
		return 0, kernel.CopyObjectOut(t, a[1], &data[0])
	}
	return 0, kernel.CopyObjectOut(t, a[1], &data)
}

// sysCapset: capset(hdr, data) changes only the caller's own sets.
func sysCapset(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	h, words, err := capHeader(t, a[0])
	if err != nil {
		return 0, err
	}
	if h.PID != 0 && h.PID != t.ThreadID() {
		return 0, linux.EPERM
	}
	var data [2]linux.CapUserData
	if words == 1 {
		err = kernel.CopyObjectIn(t, a[1], &data[0])
	} else {
		err = kernel.CopyObjectIn(t, a[1], &data)
	}
	if err != nil {
		return 0, err
	}
	var s kernel.CapSets
	for i, d := range data[:words] {
		shift := 32 * i
		s.Effective |= uint64(d.Effective) << shift
		s.Permitted |= uint64(d.Permitted) << shift
		s.Inheritable |= uint64(d.Inheritable) << shift
	}
	return 0, t.SetCapabilities(s)
}

func prctlCapbsetRead(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if !auth.ValidCap(uint64(a[1])) {
		return 0, linux.EINVAL
	}
	return uintptr(t.Credentials().BoundingCaps>>a[1]) & 1, nil
}

func prctlCapbsetDrop(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.DropBoundingCap(uint64(a[1]))
}

// prctlCapAmbient: prctl(PR_CAP_AMBIENT, op, cap, 0, 0).
func prctlCapAmbient(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[3] != 0 || a[4] != 0 {
		return 0, linux.EINVAL
	}
	op, cap := a[1], uint64(a[2])
	if op == linux.PR_CAP_AMBIENT_CLEAR_ALL {
		if cap != 0 {
			return 0, linux.EINVAL
		}
		t.LowerAmbientCaps(auth.AllCaps)
		return 0, nil
	}
	if !auth.ValidCap(cap) {
		return 0, linux.EINVAL
	}
	switch op {
	case linux.PR_CAP_AMBIENT_IS_SET:
		return uintptr(t.Credentials().AmbientCaps>>cap) & 1, nil
	case linux.PR_CAP_AMBIENT_RAISE:
		return 0, t.RaiseAmbientCap(cap)
	case linux.PR_CAP_AMBIENT_LOWER:
		t.LowerAmbientCaps(1 << cap)
		return 0, nil
	}
	return 0, linux.EINVAL
}

func prctlGetSecurebits(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().SecureBits), nil
}

func prctlSetSecurebits(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[1] > 0xffffffff {
		return 0, linux.EPERM
	}
	return 0, t.SetSecureBits(uint32(a[1]))
}

func prctlGetKeepcaps(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().SecureBits&linux.SECBIT_KEEP_CAPS) >> 4, nil
}

func prctlSetKeepcaps(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a[1] > 1 {
		return 0, linux.EINVAL
	}
	return 0, t.SetKeepCaps(a[1] == 1)
}
