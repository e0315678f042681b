package vdso

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
	"unsafe"
)

// Offsets of the fields of the vvar page (struct vvar in src/vdso.c).
const (
	offSeq      = 0  // uint32: odd while an update is in progress
	offEnabled  = 4  // uint32: 1 when the fields below may be used
	offTSCBase  = 8  // uint64: the TSC reading the times are taken at
	offMonoNs   = 16 // uint64: CLOCK_MONOTONIC at tscBase, whole ns
	offMonoFrac = 24 // uint64: its fraction in 2^-32 ns
	offMult     = 32 // uint64: ns per TSC tick, times 2^32
	offMaxDelta = 40 // uint64: ticks past tscBase the values are good for
	offWallOff  = 48 // int64: CLOCK_REALTIME - CLOCK_MONOTONIC in ns
)

// Clock discipline.
const (
	// calibration is the first measurement of the TSC's rate, before the
	// page is enabled; later refreshes measure it over the whole time
	// since.
	calibration = 10 * time.Millisecond
	// refreshPeriod is how often the page is brought back in line with
	// the host's clocks.
	refreshPeriod = 250 * time.Millisecond
	// staleAfter is how long after its last refresh the page is used;
	// past it (the refresher starved) the vDSO makes system calls.
	staleAfter = 4 * time.Second
	// maxSlew bounds the rate correction that steers the vDSO's
	// CLOCK_MONOTONIC back to the host's, so it never runs backwards.
	maxSlew = 500e-6
	// maxLag is how far behind the host the vDSO's clock may fall before
	// it is stepped forward rather than slewed.
	maxLag = time.Millisecond
	// samples is how many (TSC, host time) pairs are taken per refresh;
	// the most tightly bracketed one is used.
	samples = 5
)

// params are the conversion the vDSO applies: at TSC reading tsc,
// CLOCK_MONOTONIC is monoNs + ((tsc-tscBase)*mult + monoFrac) >> 32.
type params struct {
	tscBase, monoNs, monoFrac, mult uint64
}

// at returns the monotonic time the vDSO computes at tsc, whole ns and
// the fraction in 2^-32 ns, exactly as src/vdso.c does.
func (p params) at(tsc uint64) (ns, frac uint64) {
	delta := tsc - p.tscBase
	if int64(delta) < 0 {
		delta = 0
	}
	hi, lo := bits.Mul64(delta, p.mult)
	lo, carry := bits.Add64(lo, p.monoFrac, 0)
	hi += carry
	return p.monoNs + (hi<<32 | lo>>32), lo & math.MaxUint32
}

// sample is a TSC reading and the sandbox's clocks at that moment.
type sample struct {
	tsc     uint64
	mono    int64 // CLOCK_MONOTONIC (time since boot), ns
	wallOff int64 // CLOCK_REALTIME - CLOCK_MONOTONIC, ns
}

// takeSample reads the TSC around time.Now and keeps the reading with the
// tightest bracket, so the pair is accurate to a few tens of ns.
func takeSample(boot time.Time) sample {
	var best sample
	bestWidth := uint64(math.MaxUint64)
	for range samples {
		t1 := rdtsc()
		now := time.Now()
		t2 := rdtsc()
		if w := t2 - t1; w < bestWidth {
			bestWidth = w
			mono := int64(now.Sub(boot))
			best = sample{tsc: t1 + w/2, mono: mono, wallOff: now.UnixNano() - mono}
		}
	}
	return best
}

// clock computes and publishes the vvar page. Only its refresh goroutine
// (or a test) calls its methods.
type clock struct {
	page    []byte // the vvar page, through the sandbox's own mapping
	boot    time.Time
	first   sample // the calibration baseline
	cur     params
	enabled bool
}

// word returns a pointer to the 64-bit field at off.
func (c *clock) word(off int) *uint64 { return (*uint64)(unsafe.Pointer(&c.page[off])) }

// half returns a pointer to the 32-bit field at off.
func (c *clock) half(off int) *uint32 { return (*uint32)(unsafe.Pointer(&c.page[off])) }

// publish writes p, the staleness bound and the realtime offset under the
// sequence count, and enables the page.
func (c *clock) publish(p params, maxDelta uint64, wallOff int64) {
	seq := c.half(offSeq)
	s := atomic.LoadUint32(seq)
	atomic.StoreUint32(seq, s+1)
	atomic.StoreUint64(c.word(offTSCBase), p.tscBase)
	atomic.StoreUint64(c.word(offMonoNs), p.monoNs)
	atomic.StoreUint64(c.word(offMonoFrac), p.monoFrac)
	atomic.StoreUint64(c.word(offMult), p.mult)
	atomic.StoreUint64(c.word(offMaxDelta), maxDelta)
	atomic.StoreUint64(c.word(offWallOff), uint64(wallOff))
	atomic.StoreUint32(c.half(offEnabled), 1)
	atomic.StoreUint32(seq, s+2)
	c.cur, c.enabled = p, true
}

// disable makes the vDSO fall back to system calls.
func (c *clock) disable() {
	seq := c.half(offSeq)
	s := atomic.LoadUint32(seq)
	atomic.StoreUint32(seq, s+1)
	atomic.StoreUint32(c.half(offEnabled), 0)
	atomic.StoreUint32(seq, s+2)
	c.enabled = false
}

// update brings the page in line with sample s. The first call only
// records the calibration baseline; later ones measure the TSC rate over
// the whole time since, and publish parameters that continue the previous
// ones without a jump and steer toward the host's clock over the next two
// periods (a lag beyond maxLag is stepped forward).
func (c *clock) update(s sample) {
	if c.first.tsc == 0 {
		c.first = s
		return
	}
	if s.tsc <= c.first.tsc || s.mono <= c.first.mono {
		return // the TSC or the clock did not advance: keep what we have
	}
	nsPerTick := float64(s.mono-c.first.mono) / float64(s.tsc-c.first.tsc)
	p := params{tscBase: s.tsc, monoNs: uint64(s.mono)}
	slew := 0.0
	if c.enabled {
		ns, frac := c.cur.at(s.tsc)
		lag := s.mono - int64(ns)
		if lag <= int64(maxLag) {
			p.monoNs, p.monoFrac = ns, frac
			slew = max(-maxSlew, min(maxSlew, float64(lag)/float64(2*refreshPeriod)))
		}
	}
	p.mult = uint64(nsPerTick * (1 + slew) * (1 << 32))
	maxDelta := uint64(float64(staleAfter) / nsPerTick)
	c.publish(p, maxDelta, s.wallOff)
}
