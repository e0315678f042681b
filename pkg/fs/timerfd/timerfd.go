// Package timerfd implements timerfd_create(2) files: a timer whose
// expirations are counted, read(2) returning (and resetting) the count as
// 8 bytes, blocking or failing with EAGAIN under O_NONBLOCK, and pollable.
package timerfd

import (
	"encoding/binary"
	"sync"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// minDelay bounds how often the timer's callback runs, however short the
// interval: expirations in between are still counted.
const minDelay = 50 * time.Microsecond

// anonDev is the device of anonymous-inode files.
var anonDev = vfs.MakeDev(0, 13)

// anonInode is the inode of a timerfd: mode 0600 without a type.
type anonInode struct{ attr vfs.Attr }

func (i *anonInode) Stat(vfs.Context) (vfs.Attr, error) { return i.attr, nil }

func (i *anonInode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return nil, linux.ENXIO }

// Clock reads the timer's clock, as a duration since the clock's epoch.
type Clock func() time.Duration

// TimerFD is a timerfd's timer. It implements vfs.FileImpl, vfs.Waiter and
// vfs.StreamImpl.
type TimerFD struct {
	clockID int32
	now     Clock

	mu       sync.Mutex // guards the fields below
	count    uint64     // expirations not yet read
	armed    bool
	next     time.Time // real time of the next expiry when armed
	interval time.Duration
	timer    *time.Timer
	gen      uint64        // bumped at every change: stale callbacks do nothing
	changed  chan struct{} // closed at the next expiry or read
}

// NewFile returns a new, disarmed timerfd file (one reference) of clock
// clockID read with now, named "anon_inode:[timerfd]" and opened O_RDWR.
// flags are timerfd_create's: TFD_NONBLOCK and TFD_CLOEXEC (which is per
// fd: the caller handles it); others fail with linux.EINVAL.
func NewFile(ctx vfs.Context, clockID int32, now Clock, flags uint32) (*vfs.File, error) {
	if flags&^(linux.TFD_NONBLOCK|linux.TFD_CLOEXEC) != 0 {
		return nil, linux.EINVAL
	}
	t := time.Now()
	ts := linux.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
	creds := ctx.Credentials()
	in := &anonInode{attr: vfs.Attr{
		Mode: 0o600, UID: creds.EffectiveUID, GID: creds.EffectiveGID, Nlink: 1, BlkSize: 4096,
		Ino: vfs.NewIno(), Dev: anonDev, Atime: ts, Mtime: ts, Ctime: ts,
	}}
	tf := &TimerFD{clockID: clockID, now: now, changed: make(chan struct{})}
	return vfs.NewFile(in, tf, linux.O_RDWR|flags&linux.TFD_NONBLOCK, "anon_inode:[timerfd]"), nil
}

// FromFile returns the timer behind a timerfd file.
func FromFile(f *vfs.File) (*TimerFD, bool) {
	tf, ok := f.Impl().(*TimerFD)
	return tf, ok
}

// Clock returns the id of the timer's clock.
func (tf *TimerFD) Clock() int32 { return tf.clockID }

// Set implements timerfd_settime: it arms the timer to expire at value
// (absolute on the clock when abs, else relative; zero disarms) and then
// every interval, resets the expiration count and returns the old setting.
func (tf *TimerFD) Set(abs bool, value, interval time.Duration) (oldValue, oldInterval time.Duration) {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	oldValue, oldInterval = tf.remainingLocked(), tf.interval
	tf.stopLocked()
	tf.count = 0
	if value == 0 {
		return oldValue, oldInterval
	}
	if abs {
		// A time already passed expires at once.
		value = max(value-tf.now(), time.Nanosecond)
	}
	tf.armed, tf.interval = true, interval
	tf.next = time.Now().Add(value)
	tf.scheduleLocked(value)
	return oldValue, oldInterval
}

// Get implements timerfd_gettime: the time to the next expiry (0 when
// disarmed) and the interval.
func (tf *TimerFD) Get() (value, interval time.Duration) {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	return tf.remainingLocked(), tf.interval
}

func (tf *TimerFD) remainingLocked() time.Duration {
	if !tf.armed {
		return 0
	}
	return max(time.Until(tf.next), time.Nanosecond)
}

func (tf *TimerFD) stopLocked() {
	tf.gen++
	tf.armed = false
	tf.interval = 0
	if tf.timer != nil {
		tf.timer.Stop()
		tf.timer = nil
	}
}

func (tf *TimerFD) scheduleLocked(d time.Duration) {
	gen := tf.gen
	tf.timer = time.AfterFunc(max(d, minDelay), func() { tf.expire(gen) })
}

// expire counts the expirations up to now and schedules the next one.
func (tf *TimerFD) expire(gen uint64) {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	if tf.gen != gen || !tf.armed {
		return
	}
	now := time.Now()
	if now.Before(tf.next) {
		tf.scheduleLocked(tf.next.Sub(now))
		return
	}
	n := uint64(1)
	if tf.interval > 0 {
		late := now.Sub(tf.next)
		n += uint64(late / tf.interval)
		tf.next = tf.next.Add(time.Duration(n) * tf.interval)
		tf.scheduleLocked(tf.next.Sub(now))
	} else {
		tf.armed = false
		tf.timer = nil
	}
	tf.count += n
	tf.changedLocked()
}

func (tf *TimerFD) changedLocked() {
	close(tf.changed)
	tf.changed = make(chan struct{})
}

// Read implements vfs.FileImpl: it stores the number of expirations since
// the last read (or settime) as 8 native-endian bytes and resets it,
// waiting while it is zero.
func (tf *TimerFD) Read(ctx vfs.Context, f *vfs.File, dst []byte, _ int64) (int, error) {
	if len(dst) < 8 {
		return 0, linux.EINVAL
	}
	tf.mu.Lock()
	defer tf.mu.Unlock()
	for tf.count == 0 {
		if f.StatusFlags()&linux.O_NONBLOCK != 0 {
			return 0, linux.EAGAIN
		}
		ch := tf.changed
		tf.mu.Unlock()
		err := ctx.Block(ch)
		tf.mu.Lock()
		if err != nil {
			return 0, linux.ERESTARTSYS
		}
	}
	binary.LittleEndian.PutUint64(dst, tf.count)
	tf.count = 0
	tf.changedLocked()
	return 8, nil
}

// Write implements vfs.FileImpl: a timerfd is not writable.
func (tf *TimerFD) Write(vfs.Context, *vfs.File, []byte, int64) (int, error) {
	return 0, linux.EINVAL
}

// Release implements vfs.FileImpl: the timer stops.
func (tf *TimerFD) Release() {
	tf.mu.Lock()
	tf.stopLocked()
	tf.mu.Unlock()
}

// Readiness implements vfs.Waiter: readable when it expired since the last
// read.
func (tf *TimerFD) Readiness(mask uint32) uint32 {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	if tf.count > 0 {
		return (linux.POLLIN | linux.POLLRDNORM) & mask
	}
	return 0
}

// Notify implements vfs.Waiter.
func (tf *TimerFD) Notify() <-chan struct{} {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	return tf.changed
}

// IsStream implements vfs.StreamImpl: a timerfd has no position.
func (tf *TimerFD) IsStream() bool { return true }

// Seek implements vfs.Seeker: lseek succeeds and changes nothing, like
// Linux's noop_llseek.
func (tf *TimerFD) Seek(vfs.Context, *vfs.File, int64, int) (int64, error) { return 0, nil }
