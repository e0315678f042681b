package kernel

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
)

// WaitStatus returns the wait4 status word of an exited process.
func (s ExitStatus) WaitStatus() uint32 {
	if s.Signo != 0 {
		st := uint32(s.Signo & 0x7f)
		if s.Cored {
			st |= 0x80
		}
		return st
	}
	return uint32(s.Code&0xff) << 8
}

// stoppedStatus is the wait4 status of a process stopped by sig.
func stoppedStatus(sig int) uint32 { return uint32(sig&0xff)<<8 | 0x7f }

// continuedStatus is the wait4 status of a continued process.
const continuedStatus = 0xffff

// cldCode returns the CLD_* code and si_status of an exit.
func (s ExitStatus) cldCode() (int32, int32) {
	switch {
	case s.Signo != 0 && s.Cored:
		return linux.CLD_DUMPED, int32(s.Signo)
	case s.Signo != 0:
		return linux.CLD_KILLED, int32(s.Signo)
	}
	return linux.CLD_EXITED, int32(s.Code)
}

func putInt32(b []byte, v int32) { binary.LittleEndian.PutUint32(b, uint32(v)) }

// childInfo is the siginfo of the signal a zombie child sends its parent.
func childInfo(tg *ThreadGroup, sig int) linux.SignalInfo {
	info := linux.SignalInfo{Signo: int32(sig)}
	code, status := tg.status.cldCode()
	info.Code = code
	putInt32(info.Data[linux.SigInfoPidOff:], tg.pid)
	putInt32(info.Data[linux.SigInfoUIDOff:], int32(tg.leader.Credentials().RealUID))
	putInt32(info.Data[linux.SigInfoStatusOff:], status)
	u, s := tg.leader.cpuTimes()
	binary.LittleEndian.PutUint64(info.Data[linux.SigInfoUtimeOff:], uint64(ticks(u)))
	binary.LittleEndian.PutUint64(info.Data[linux.SigInfoStimeOff:], uint64(ticks(s)))
	return info
}

// WaitTarget selects the children a wait may report.
type WaitTarget struct {
	Type int   // linux.P_ALL, P_PID or P_PGID
	ID   int32 // pid or pgid; a pgid of 0 means the caller's group
}

// WaitResult is what one successful wait reports.
type WaitResult struct {
	PID      int32
	UID      uint32
	Status   uint32 // wait4 status word
	Code     int32  // CLD_* for waitid
	SiStatus int32  // si_status for waitid
}

// Wait implements wait4 and waitid. options are WEXITED, WUNTRACED,
// WCONTINUED, WNOHANG, WNOWAIT, __WALL and __WCLONE. It returns nil when
// WNOHANG is set and no child is ready, linux.ECHILD when no child matches,
// and linux.ERESTARTSYS when a signal interrupts the wait.
func (t *Task) Wait(target WaitTarget, options int) (*WaitResult, error) {
	const known = linux.WNOHANG | linux.WUNTRACED | linux.WEXITED | linux.WCONTINUED |
		linux.WNOWAIT | linux.WNOTHREAD | linux.WALL | linux.WCLONE
	if options&^known != 0 || options&(linux.WEXITED|linux.WUNTRACED|linux.WCONTINUED) == 0 {
		return nil, linux.EINVAL
	}
	k := t.k
	for {
		k.mu.Lock()
		if target.Type == linux.P_PGID && target.ID == 0 {
			target.ID = t.tg.pgid
		}
		res, matched := t.tg.pollChildrenLocked(target, options)
		ch := t.tg.childEvent
		k.mu.Unlock()
		if res != nil {
			return res, nil
		}
		if !matched {
			return nil, linux.ECHILD
		}
		if options&linux.WNOHANG != 0 {
			return nil, nil
		}
		if err := t.Block(ch); err != nil {
			// Like Linux, a child that changed state together with the
			// signal (SIGCHLD) is still reported.
			k.mu.Lock()
			res, _ := t.tg.pollChildrenLocked(target, options)
			k.mu.Unlock()
			if res != nil {
				return res, nil
			}
			return nil, err
		}
	}
}

// waitMatches reports whether child is selected by target and the
// __WALL/__WCLONE options.
func waitMatches(child *ThreadGroup, target WaitTarget, options int) bool {
	switch target.Type {
	case linux.P_PID:
		if child.pid != target.ID {
			return false
		}
	case linux.P_PGID:
		if child.pgid != target.ID {
			return false
		}
	}
	if options&linux.WALL != 0 {
		return true
	}
	clone := child.exitSignal != linux.SIGCHLD
	return clone == (options&linux.WCLONE != 0)
}

// pollChildrenLocked looks for a child with something to report; matched
// says whether any child matched at all.
func (tg *ThreadGroup) pollChildrenLocked(target WaitTarget, options int) (*WaitResult, bool) {
	matched := false
	for _, c := range tg.children {
		if !waitMatches(c, target, options) {
			continue
		}
		matched = true
		res := &WaitResult{PID: c.pid, UID: c.leader.Credentials().RealUID}
		consume := options&linux.WNOWAIT == 0
		switch {
		case c.zombie && options&linux.WEXITED != 0:
			res.Status = c.status.WaitStatus()
			res.Code, res.SiStatus = c.status.cldCode()
			if consume {
				tg.k.reapLocked(c)
			}
			return res, true
		case c.stopped && c.stopReport && options&linux.WUNTRACED != 0:
			res.Status = stoppedStatus(c.stopSignal)
			res.Code, res.SiStatus = linux.CLD_STOPPED, int32(c.stopSignal)
			if consume {
				c.stopReport = false
			}
			return res, true
		case c.contReport && options&linux.WCONTINUED != 0:
			res.Status = continuedStatus
			res.Code, res.SiStatus = linux.CLD_CONTINUED, linux.SIGCONT
			if consume {
				c.contReport = false
			}
			return res, true
		}
	}
	return nil, matched
}
