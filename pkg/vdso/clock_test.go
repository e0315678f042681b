package vdso

import (
	"encoding/binary"
	"testing"
	"time"
)

// read computes CLOCK_MONOTONIC and CLOCK_REALTIME from page at tsc as
// src/vdso.c does; ok is false when the vDSO would make the system call.
func read(page []byte, tsc uint64) (mono, real int64, ok bool) {
	le := binary.LittleEndian
	if le.Uint32(page[offSeq:])&1 != 0 || le.Uint32(page[offEnabled:]) == 0 {
		return 0, 0, false
	}
	p := params{
		tscBase: le.Uint64(page[offTSCBase:]), monoNs: le.Uint64(page[offMonoNs:]),
		monoFrac: le.Uint64(page[offMonoFrac:]), mult: le.Uint64(page[offMult:]),
	}
	if d := tsc - p.tscBase; int64(d) > 0 && d > le.Uint64(page[offMaxDelta:]) {
		return 0, 0, false
	}
	ns, _ := p.at(tsc)
	return int64(ns), int64(ns) + int64(le.Uint64(page[offWallOff:])), true
}

// TestClockTracksHost calibrates against the real TSC and host clock and
// checks the page's times against time.Now.
func TestClockTracksHost(t *testing.T) {
	if !invariantTSC() {
		t.Skip("no invariant TSC: the vDSO makes system calls")
	}
	boot := time.Now()
	c := &clock{page: make([]byte, 4096), boot: boot}
	c.update(takeSample(boot))
	if _, _, ok := read(c.page, rdtsc()); ok {
		t.Fatal("page enabled before calibration")
	}
	for i := 0; i < 4; i++ {
		time.Sleep(20 * time.Millisecond)
		c.update(takeSample(boot))
		worstMono, worstReal := time.Duration(0), time.Duration(0)
		for j := 0; j < 1000; j++ {
			before := time.Now()
			mono, real, ok := read(c.page, rdtsc())
			after := time.Now()
			if !ok {
				t.Fatal("page not enabled after calibration")
			}
			gap := func(v int64, lo, hi int64) time.Duration {
				return time.Duration(max(lo-v, v-hi, 0))
			}
			worstMono = max(worstMono, gap(mono, int64(before.Sub(boot)), int64(after.Sub(boot))))
			worstReal = max(worstReal, gap(real, before.UnixNano(), after.UnixNano()))
		}
		if worstMono > 50*time.Microsecond || worstReal > time.Millisecond {
			t.Errorf("refresh %d: monotonic off by up to %v, realtime by %v", i, worstMono, worstReal)
		}
	}
	if seq := binary.LittleEndian.Uint32(c.page[offSeq:]); seq&1 != 0 || seq == 0 {
		t.Errorf("sequence count %d after updates, want even and non-zero", seq)
	}
	c.disable()
	if _, _, ok := read(c.page, rdtsc()); ok {
		t.Error("disabled page still used")
	}
}

// TestClockDiscipline drives the clock with synthetic samples of a 1 GHz
// TSC: updates continue the previous conversion without a jump, slew at
// most maxSlew toward the host, step forward beyond maxLag, and the page
// goes stale staleAfter after the last update.
func TestClockDiscipline(t *testing.T) {
	c := &clock{page: make([]byte, 4096)}
	const tick = 1 // ns per tick
	c.update(sample{tsc: 1000, mono: 1000})
	c.update(sample{tsc: 1000 + 1e8, mono: 1000 + 1e8})
	mono, _, ok := read(c.page, 1000+2e8)
	if !ok || mono != 1000+2e8 {
		t.Fatalf("after calibration: %d %v, want %d", mono, ok, int64(1000+2e8))
	}
	// The host is 10 µs ahead: no jump at the update, and a rate above 1
	// (bounded by maxSlew) afterwards.
	s := sample{tsc: 1000 + 3e8, mono: 1000 + 3e8 + 10000, wallOff: 5}
	before, _, _ := read(c.page, s.tsc)
	c.update(s)
	at, real, _ := read(c.page, s.tsc)
	if at != before || real != at+5 {
		t.Errorf("update moved the clock from %d to %d (realtime %d)", before, at, real)
	}
	later, _, _ := read(c.page, s.tsc+1e8)
	if rate := float64(later-at) / 1e8; rate <= 1 || rate > 1+maxSlew+1e-9 {
		t.Errorf("slewed rate %v, want in (1, 1+%v]", rate, maxSlew)
	}
	// Far behind the host: step forward.
	s = sample{tsc: 1000 + 4e8, mono: 1000 + 4e8 + 5e6}
	c.update(s)
	if got, _, _ := read(c.page, s.tsc); got != s.mono {
		t.Errorf("after a 5ms lag the clock reads %d, want a step to %d", got, s.mono)
	}
	// Stale: the vDSO falls back to the system call.
	if _, _, ok := read(c.page, s.tsc+uint64(staleAfter/tick)+1); ok {
		t.Error("page used past staleAfter")
	}
	// Monotonic across updates at every tick near the update.
	prev := int64(0)
	for tsc := uint64(1000 + 5e8 - 100); tsc < 1000+5e8+100; tsc++ {
		if tsc == 1000+5e8 {
			c.update(sample{tsc: tsc, mono: 1000 + 5e8 - 3000})
		}
		got, _, _ := read(c.page, tsc)
		if got < prev {
			t.Fatalf("clock went back from %d to %d at tsc %d", prev, got, tsc)
		}
		prev = got
	}
}
