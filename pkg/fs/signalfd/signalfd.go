// Package signalfd implements signalfd(2) files: reading one takes pending
// signals of its mask from the reading task (so they are not delivered) and
// returns them as struct signalfd_siginfo records; it is readable while one
// is pending.
package signalfd

import (
	"bytes"
	"encoding/binary"
	"sync"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// recordSize is the size of struct signalfd_siginfo.
const recordSize = 128

// unblockable are the signals a signalfd never takes.
const unblockable = linux.SignalSet(1<<(linux.SIGKILL-1) | 1<<(linux.SIGSTOP-1))

// anonDev is the device of anonymous-inode files.
var anonDev = vfs.MakeDev(0, 13)

// Target is the signal state of a task, as a signalfd sees it. The
// kernel's Task implements it.
type Target interface {
	// DequeueSignal takes the next pending signal of set.
	DequeueSignal(set linux.SignalSet) (linux.SignalInfo, bool)
	// PendingSignals returns every pending signal, blocked or not.
	PendingSignals() linux.SignalSet
	// SignalNotify returns a channel closed when a signal is next queued.
	SignalNotify() <-chan struct{}
}

// anonInode is the inode of a signalfd: mode 0600 without a type.
type anonInode struct{ attr vfs.Attr }

func (i *anonInode) Stat(vfs.Context) (vfs.Attr, error) { return i.attr, nil }

func (i *anonInode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ENXIO }

// SignalFD is a signalfd's state. It implements vfs.FileImpl, vfs.Waiter
// and vfs.StreamImpl. Reads take signals of the reading task when the
// reader's context is a Target; readiness looks at the creator's signals
// (poll has no reader), which is the same task in the common case.
type SignalFD struct {
	owner Target

	mu   sync.Mutex
	mask linux.SignalSet // guarded by mu
}

// NewFile returns a new signalfd file (one reference) for mask, named
// "anon_inode:[signalfd]" and opened O_RDONLY. owner is the creating task.
// flags are signalfd4's: SFD_NONBLOCK and SFD_CLOEXEC (which is per fd: the
// caller handles it); others fail with linux.EINVAL.
func NewFile(ctx vfs.Context, owner Target, mask linux.SignalSet, flags uint32) (*vfs.File, error) {
	if flags&^(linux.SFD_NONBLOCK|linux.SFD_CLOEXEC) != 0 {
		return nil, linux.EINVAL
	}
	now := time.Now()
	ts := linux.Timespec{Sec: now.Unix(), Nsec: int64(now.Nanosecond())}
	creds := ctx.Credentials()
	in := &anonInode{attr: vfs.Attr{
		Mode: 0o600, UID: creds.EffectiveUID, GID: creds.EffectiveGID, Nlink: 1, BlkSize: 4096,
		Ino: vfs.NewIno(), Dev: anonDev, Atime: ts, Mtime: ts, Ctime: ts,
	}}
	s := &SignalFD{owner: owner, mask: mask &^ unblockable}
	return vfs.NewFile(in, s, linux.O_RDONLY|flags&linux.SFD_NONBLOCK, "anon_inode:[signalfd]"), nil
}

// FromFile returns the signalfd behind f.
func FromFile(f *vfs.File) (*SignalFD, bool) {
	s, ok := f.Impl().(*SignalFD)
	return s, ok
}

// Mask returns the set of signals the signalfd takes.
func (s *SignalFD) Mask() linux.SignalSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mask
}

// SetMask replaces the set of signals the signalfd takes (signalfd(2) on
// an existing signalfd). SIGKILL and SIGSTOP are dropped from it.
func (s *SignalFD) SetMask(mask linux.SignalSet) {
	s.mu.Lock()
	s.mask = mask &^ unblockable
	s.mu.Unlock()
}

// Read implements vfs.FileImpl: it fills dst with as many records as fit
// and are pending, waiting for the first one unless O_NONBLOCK.
func (s *SignalFD) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	if len(dst) < recordSize {
		return 0, linux.EINVAL
	}
	target := s.owner
	if t, ok := ctx.(Target); ok {
		target = t
	}
	n := 0
	for n+recordSize <= len(dst) {
		ch := target.SignalNotify()
		info, ok := target.DequeueSignal(s.Mask())
		if ok {
			rec := ToSiginfo(info)
			var buf bytes.Buffer
			binary.Write(&buf, binary.LittleEndian, &rec)
			n += copy(dst[n:], buf.Bytes())
			continue
		}
		if n > 0 {
			break
		}
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return 0, linux.EAGAIN
		}
		if err := ctx.Block(ch); err != nil {
			return 0, linux.ERESTARTSYS
		}
	}
	return n, nil
}

// Write implements vfs.FileImpl: a signalfd is not writable.
func (s *SignalFD) Write(vfs.Context, *vfs.File, []byte, int64) (int, error) {
	return 0, linux.EINVAL
}

// Release implements vfs.FileImpl.
func (s *SignalFD) Release() {}

// Readiness implements vfs.Waiter: readable while a signal of the mask is
// pending for the creator.
func (s *SignalFD) Readiness(mask uint32) uint32 {
	if s.owner.PendingSignals()&s.Mask() != 0 {
		return (linux.POLLIN | linux.POLLRDNORM) & mask
	}
	return 0
}

// Notify implements vfs.Waiter.
func (s *SignalFD) Notify() <-chan struct{} { return s.owner.SignalNotify() }

// IsStream implements vfs.StreamImpl.
func (s *SignalFD) IsStream() bool { return true }

// Seek implements vfs.Seeker: lseek succeeds and changes nothing, like
// Linux's noop_llseek.
func (s *SignalFD) Seek(vfs.Context, *vfs.File, int64, int) (int64, error) { return 0, nil }

// fault signals carry si_addr.
var faultSignals = map[int32]bool{
	linux.SIGSEGV: true, linux.SIGBUS: true, linux.SIGILL: true, linux.SIGFPE: true, linux.SIGTRAP: true,
}

// ToSiginfo converts a siginfo_t to the signalfd_siginfo a read returns,
// copying the members that the siginfo's layout (by si_code) has.
func ToSiginfo(info linux.SignalInfo) linux.SignalfdSiginfo {
	d := info.Data[:]
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(d[off:]) }
	u64 := func(off int) uint64 { return binary.LittleEndian.Uint64(d[off:]) }
	r := linux.SignalfdSiginfo{Signo: uint32(info.Signo), Errno: info.Errno, Code: info.Code}
	switch {
	case info.Code == linux.SI_TIMER:
		r.TID = u32(linux.SigInfoTimerIDOff)
		r.Overrun = u32(linux.SigInfoOverrunOff)
		r.Ptr = u64(linux.SigInfoValueOff)
		r.Int = int32(u32(linux.SigInfoValueOff))
	case info.Code < 0:
		r.PID, r.UID = u32(linux.SigInfoPidOff), u32(linux.SigInfoUIDOff)
		r.Ptr = u64(linux.SigInfoValueOff)
		r.Int = int32(u32(linux.SigInfoValueOff))
	case info.Code > 0 && info.Code != linux.SI_KERNEL && faultSignals[info.Signo]:
		r.Addr = u64(linux.SigInfoAddrOff)
	case info.Code > 0 && info.Code != linux.SI_KERNEL && info.Signo == linux.SIGCHLD:
		r.PID, r.UID = u32(linux.SigInfoPidOff), u32(linux.SigInfoUIDOff)
		r.Status = int32(u32(linux.SigInfoStatusOff))
		r.Utime, r.Stime = u64(linux.SigInfoUtimeOff), u64(linux.SigInfoStimeOff)
	default:
		r.PID, r.UID = u32(linux.SigInfoPidOff), u32(linux.SigInfoUIDOff)
	}
	return r
}
