package net

import (
	"encoding/binary"
	"sync"

	"bulwark.dev/pkg/abi/linux"
)

// Buffer sizes: Linux's defaults (net.core.wmem_default, rmem_default),
// the limits setsockopt clamps to, and its minimums.
const (
	DefaultBufSize = 212992
	MaxBufSize     = 4 << 20
	minSndBuf      = 4608
	minRcvBuf      = 2304
)

// Options are the SOL_SOCKET options every family keeps the same way:
// flags that are accepted and reported, and the buffer sizes. Safe for
// concurrent use; the zero value is not ready: use NewOptions.
type Options struct {
	mu     sync.Mutex
	ints   map[int]int32 // boolean and integer options, guarded by mu
	linger [8]byte       // struct linger, guarded by mu
	rcvTO  [16]byte      // SO_RCVTIMEO struct timeval, guarded by mu
	sndTO  [16]byte      // SO_SNDTIMEO struct timeval, guarded by mu
}

// NewOptions returns options with Linux's defaults.
func NewOptions() *Options {
	return &Options{ints: map[int]int32{linux.SO_SNDBUF: DefaultBufSize, linux.SO_RCVBUF: DefaultBufSize}}
}

// boolOpts are the SOL_SOCKET flags that are stored as 0/1.
var boolOpts = map[int]bool{
	linux.SO_DEBUG: true, linux.SO_REUSEADDR: true, linux.SO_DONTROUTE: true, linux.SO_BROADCAST: true,
	linux.SO_KEEPALIVE: true, linux.SO_OOBINLINE: true, linux.SO_REUSEPORT: true, linux.SO_PASSCRED: true,
	linux.SO_PASSSEC: true,
}

// intOpts are the SOL_SOCKET integers stored as given.
var intOpts = map[int]bool{linux.SO_RCVLOWAT: true}

// bufOpts map the buffer-size options (including the *FORCE variants) to
// the option they set and its minimum.
var bufOpts = map[int]struct{ opt, min int }{
	linux.SO_SNDBUF: {linux.SO_SNDBUF, minSndBuf}, linux.SO_SNDBUFFORCE: {linux.SO_SNDBUF, minSndBuf},
	linux.SO_RCVBUF: {linux.SO_RCVBUF, minRcvBuf}, linux.SO_RCVBUFFORCE: {linux.SO_RCVBUF, minRcvBuf},
}

// Int returns an integer option's value (0 if never set).
func (o *Options) Int(name int) int32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ints[name]
}

// Bool reports whether a boolean option is set.
func (o *Options) Bool(name int) bool { return o.Int(name) != 0 }

// Get returns a SOL_SOCKET option it keeps, or ok false.
func (o *Options) Get(name int) (val []byte, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case boolOpts[name] || intOpts[name] || name == linux.SO_SNDBUF || name == linux.SO_RCVBUF:
		return Int32(o.ints[name]), true
	case name == linux.SO_LINGER:
		return append([]byte(nil), o.linger[:]...), true
	case name == linux.SO_RCVTIMEO:
		return append([]byte(nil), o.rcvTO[:]...), true
	case name == linux.SO_SNDTIMEO:
		return append([]byte(nil), o.sndTO[:]...), true
	}
	return nil, false
}

// Set sets a SOL_SOCKET option it keeps; ok is false for others.
func (o *Options) Set(name int, val []byte) (ok bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, isBuf := bufOpts[name]; isBuf {
		v, err := parseInt(val)
		if err != nil {
			return true, err
		}
		n := int64(v)
		n = min(max(n, 0), MaxBufSize) * 2
		o.ints[b.opt] = int32(max(n, int64(b.min)))
		return true, nil
	}
	switch {
	case boolOpts[name]:
		v, err := parseInt(val)
		if err != nil {
			return true, err
		}
		o.ints[name] = boolInt(v != 0)
		return true, nil
	case intOpts[name]:
		v, err := parseInt(val)
		if err != nil {
			return true, err
		}
		o.ints[name] = v
		return true, nil
	case name == linux.SO_LINGER:
		return true, copyOpt(o.linger[:], val)
	case name == linux.SO_RCVTIMEO:
		if err := checkTimeval(val); err != nil {
			return true, err
		}
		return true, copyOpt(o.rcvTO[:], val)
	case name == linux.SO_SNDTIMEO:
		if err := checkTimeval(val); err != nil {
			return true, err
		}
		return true, copyOpt(o.sndTO[:], val)
	}
	return false, nil
}

func copyOpt(dst, val []byte) error {
	if len(val) < len(dst) {
		return linux.EINVAL
	}
	copy(dst, val)
	return nil
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// parseInt reads an int option value (linux.EINVAL when shorter than 4
// bytes).
func parseInt(val []byte) (int32, error) {
	if len(val) < 4 {
		return 0, linux.EINVAL
	}
	return int32(binary.LittleEndian.Uint32(val)), nil
}

// Int32 encodes an int option value.
func Int32(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }

// Bool32 encodes a boolean option value.
func Bool32(b bool) []byte { return Int32(boolInt(b)) }

// EncodeUcred encodes struct ucred.
func EncodeUcred(c linux.Ucred) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(c.PID))
	b = binary.LittleEndian.AppendUint32(b, c.UID)
	return binary.LittleEndian.AppendUint32(b, c.GID)
}

// DecodeUcred decodes struct ucred (linux.EINVAL when short).
func DecodeUcred(b []byte) (linux.Ucred, error) {
	if len(b) < linux.SizeofUcred {
		return linux.Ucred{}, linux.EINVAL
	}
	return linux.Ucred{
		PID: int32(binary.LittleEndian.Uint32(b)),
		UID: binary.LittleEndian.Uint32(b[4:]),
		GID: binary.LittleEndian.Uint32(b[8:]),
	}, nil
}
