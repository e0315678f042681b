package kernel

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/platform"
)

// fpContext returns the task's context as an FPContext, or nil when the
// platform does not keep FPU state apart.
func (t *Task) fpContext() platform.FPContext {
	fc, _ := t.ctx.(platform.FPContext)
	return fc
}

// copyFPStateTo gives child the task's FPU state (fork, clone).
func (t *Task) copyFPStateTo(child *Task) {
	src, dst := t.fpContext(), child.fpContext()
	if src == nil || dst == nil {
		return
	}
	st, err := src.FPState()
	if err == nil {
		err = dst.SetFPState(st)
	}
	if err != nil {
		t.Debugf("clone: copying the FPU state: %v", err)
	}
}

// resetFPState gives the task the initial FPU state (execve).
func (t *Task) resetFPState() {
	if fc := t.fpContext(); fc != nil {
		if err := fc.SetFPState(nil); err != nil {
			t.Debugf("execve: resetting the FPU state: %v", err)
		}
	}
}

// pushFPState writes the FPU state below sp for a signal frame, 64-byte
// aligned and in Linux's layout (fpx_sw_bytes with FP_XSTATE_MAGIC1 and a
// trailing FP_XSTATE_MAGIC2 when the state is an XSAVE area). It returns
// the state's address (the new top for the rest of the frame), or 0 and sp
// when the platform does not keep FPU state.
func (t *Task) pushFPState(sp uint64) (uint64, error) {
	fc := t.fpContext()
	if fc == nil {
		return sp, nil
	}
	st, err := fc.FPState()
	if err != nil {
		return 0, err
	}
	size := uint64(len(st))
	total := size
	if size > linux.FXSaveSize {
		total += linux.FP_XSTATE_MAGIC2_SIZE
		sw := st[linux.FPSWBytesOffset:]
		le := binary.LittleEndian
		le.PutUint32(sw[0:], linux.FP_XSTATE_MAGIC1)
		le.PutUint32(sw[4:], uint32(total))
		if le.Uint64(sw[8:]) == 0 {
			le.PutUint64(sw[8:], le.Uint64(st[linux.FXSaveSize:]))
		}
		le.PutUint32(sw[16:], uint32(size))
		st = le.AppendUint32(st, linux.FP_XSTATE_MAGIC2)
	}
	addr := (sp - total) &^ 63
	if n, err := t.CopyOut(uintptr(addr), st); err != nil || n != len(st) {
		return 0, linux.EFAULT
	}
	return addr, nil
}

// restoreFPState loads the FPU state saved at addr by pushFPState (or
// written by the handler in the same layout); addr 0 resets it.
func (t *Task) restoreFPState(addr uint64) error {
	fc := t.fpContext()
	if fc == nil {
		return nil
	}
	if addr == 0 {
		return fc.SetFPState(nil)
	}
	if addr%16 != 0 {
		return linux.EFAULT
	}
	st := make([]byte, linux.FXSaveSize)
	if n, err := t.CopyIn(uintptr(addr), st); err != nil || n != len(st) {
		return linux.EFAULT
	}
	le := binary.LittleEndian
	sw := st[linux.FPSWBytesOffset:]
	if le.Uint32(sw[0:]) == linux.FP_XSTATE_MAGIC1 {
		size := le.Uint32(sw[16:])
		if size >= linux.XSaveHeaderEnd && size <= 1<<16 && le.Uint32(sw[4:]) == size+linux.FP_XSTATE_MAGIC2_SIZE {
			full := make([]byte, size+linux.FP_XSTATE_MAGIC2_SIZE)
			if n, err := t.CopyIn(uintptr(addr), full); err == nil && n == len(full) &&
				le.Uint32(full[size:]) == linux.FP_XSTATE_MAGIC2 {
				st = full[:size]
			}
		}
	}
	return fc.SetFPState(st)
}
