package devpts

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
)

// The line discipline of the sandbox's pseudo-terminals: a subset of
// Linux's N_TTY. It turns what the master writes into what the slave reads
// (input processing, canonical line editing, echo, keyboard signals) and
// what the slave writes into what the master reads (output processing).

// queueMax bounds each direction's queue (Linux's tty buffers hold about
// 64 KiB); a writer finding its queue full waits.
const queueMax = 64 << 10

// lineMax is how many characters a canonical line holds before its
// delimiter; further ones are dropped, as Linux does.
const lineMax = linux.N_TTY_BUF_SIZE - 1

// defaultTermios are the settings of a new slave: Linux's tty_std_termios
// without HUPCL, as its pty driver sets them.
func defaultTermios() linux.Termios {
	t := linux.Termios{
		InputFlags:   linux.ICRNL | linux.IXON,
		OutputFlags:  linux.OPOST | linux.ONLCR,
		ControlFlags: linux.B38400 | linux.CS8 | linux.CREAD,
		LocalFlags: linux.ISIG | linux.ICANON | linux.ECHO | linux.ECHOE | linux.ECHOK |
			linux.ECHOCTL | linux.ECHOKE | linux.IEXTEN,
	}
	// INIT_C_CC: ^C ^\ DEL ^U ^D, TIME 0, MIN 1, ^Q ^S ^Z, ^R ^O ^W ^V.
	copy(t.ControlCharacters[:], "\x03\x1c\x7f\x15\x04\x00\x01\x00\x11\x13\x1a\x00\x12\x0f\x17\x16\x00")
	return t
}

// masterTermios are the settings a new master reports: raw.
func masterTermios() linux.Termios {
	t := defaultTermios()
	t.InputFlags, t.OutputFlags, t.LocalFlags = 0, 0, 0
	return t
}

// encodeTermios and decodeTermios convert struct termios.
func encodeTermios(t linux.Termios) []byte {
	b := make([]byte, linux.SizeofTermios)
	for i, v := range []uint32{t.InputFlags, t.OutputFlags, t.ControlFlags, t.LocalFlags} {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	b[16] = t.LineDiscipline
	copy(b[17:], t.ControlCharacters[:])
	return b
}

func decodeTermios(b []byte) linux.Termios {
	var t linux.Termios
	for i, p := range []*uint32{&t.InputFlags, &t.OutputFlags, &t.ControlFlags, &t.LocalFlags} {
		*p = binary.LittleEndian.Uint32(b[4*i:])
	}
	t.LineDiscipline = b[16]
	copy(t.ControlCharacters[:], b[17:])
	return t
}

// keyboardSignals are the characters that, with ISIG, signal the
// foreground process group.
var keyboardSignals = []struct {
	cc  int
	sig int
}{
	{linux.VINTR, linux.SIGINT},
	{linux.VQUIT, linux.SIGQUIT},
	{linux.VSUSP, linux.SIGTSTP},
}

// eraseKind is what an editing character erases.
type eraseKind int

const (
	eraseChar eraseKind = iota // VERASE
	eraseWord                  // VWERASE
	eraseLine                  // VKILL
)

// ldisc is the line discipline of one pty. It keeps no lock: the pty's
// mutex guards it.
type ldisc struct {
	termios linux.Termios
	line    []byte // canonical mode: the line being edited
	readq   []byte // what the slave may read
	ends    []int  // canonical mode: offsets in readq where lines end
	outq    []byte // what the master may read: output and echoes
	col     int    // the output column
	lineCol int    // the output column where the edited line started
	stopped bool   // output stopped with VSTOP (IXON)
	lnext   bool   // the next input character is literal (VLNEXT)
}

func newLdisc() ldisc { return ldisc{termios: defaultTermios()} }

func (l *ldisc) iflag(f uint32) bool { return l.termios.InputFlags&f != 0 }
func (l *ldisc) lflag(f uint32) bool { return l.termios.LocalFlags&f != 0 }
func (l *ldisc) canonical() bool     { return l.lflag(linux.ICANON) }

// is reports whether c is the enabled control character cc.
func (l *ldisc) is(c byte, cc int) bool {
	v := l.termios.ControlCharacters[cc]
	return v != 0 && c == v
}

func isCntrl(c byte) bool { return c < 0x20 || c == 0x7f }

// inputRoom is how many more input characters fit.
func (l *ldisc) inputRoom() int { return queueMax - len(l.readq) - len(l.line) }

// input processes what the master writes while there is room, and
// returns how many bytes it took and the signals they ask for.
func (l *ldisc) input(src []byte) (n int, sigs []int) {
	for n < len(src) && l.inputRoom() > 0 {
		if sig := l.receive(src[n]); sig != 0 {
			sigs = append(sigs, sig)
		}
		n++
	}
	return n, sigs
}

// receive processes one input character and returns the signal it asks
// for, or 0.
func (l *ldisc) receive(c byte) int {
	if l.iflag(linux.ISTRIP) {
		c &= 0x7f
	}
	if l.lnext {
		l.lnext = false
		l.store(c)
		return 0
	}
	switch {
	case c == '\r' && l.iflag(linux.IGNCR):
		return 0
	case c == '\r' && l.iflag(linux.ICRNL):
		c = '\n'
	case c == '\n' && l.iflag(linux.INLCR):
		c = '\r'
	}
	if l.iflag(linux.IXON) {
		switch {
		case l.is(c, linux.VSTART):
			l.stopped = false
			return 0
		case l.is(c, linux.VSTOP):
			l.stopped = true
			return 0
		case l.iflag(linux.IXANY):
			l.stopped = false
		}
	}
	if l.lflag(linux.ISIG) {
		for _, k := range keyboardSignals {
			if l.is(c, k.cc) {
				l.signal(c)
				return k.sig
			}
		}
	}
	if l.canonical() {
		l.edit(c)
	} else {
		l.store(c)
	}
	return 0
}

// signal flushes the queues (unless NOFLSH) for a keyboard signal and
// echoes its character.
func (l *ldisc) signal(c byte) {
	if !l.lflag(linux.NOFLSH) {
		l.flushInput()
		l.outq = nil
	}
	l.stopped = false
	if l.lflag(linux.ECHO) {
		l.echo(c)
	}
}

// store queues an ordinary character: into the edited line in canonical
// mode (dropped once the line is full), else straight to the reader.
func (l *ldisc) store(c byte) {
	if l.canonical() {
		if len(l.line) >= lineMax {
			return
		}
		if len(l.line) == 0 {
			l.lineCol = l.col
		}
		l.line = append(l.line, c)
	} else {
		l.readq = append(l.readq, c)
	}
	if l.lflag(linux.ECHO) {
		l.echo(c)
	}
}

// edit handles a character in canonical mode.
func (l *ldisc) edit(c byte) {
	ext := l.lflag(linux.IEXTEN)
	switch {
	case l.is(c, linux.VERASE):
		l.erase(eraseChar, c)
	case l.is(c, linux.VKILL):
		l.erase(eraseLine, c)
	case ext && l.is(c, linux.VWERASE):
		l.erase(eraseWord, c)
	case ext && l.is(c, linux.VLNEXT):
		l.lnext = true
		if l.lflag(linux.ECHO) && l.lflag(linux.ECHOCTL) {
			l.put('^')
			l.put('\b')
		}
	case c == '\n':
		if l.lflag(linux.ECHO) || l.lflag(linux.ECHONL) {
			l.put('\n')
		}
		l.line = append(l.line, c)
		l.commit()
	case l.is(c, linux.VEOF):
		l.commit() // the EOF character itself is not read
	case l.is(c, linux.VEOL) || ext && l.is(c, linux.VEOL2):
		if l.lflag(linux.ECHO) {
			l.echo(c)
		}
		l.line = append(l.line, c)
		l.commit()
	default:
		l.store(c)
	}
}

// commit makes the edited line readable.
func (l *ldisc) commit() {
	l.readq = append(l.readq, l.line...)
	l.ends = append(l.ends, len(l.readq))
	l.line = l.line[:0]
}

// erase removes what kind erases from the end of the edited line and
// echoes the erasure; c is the editing character.
func (l *ldisc) erase(kind eraseKind, c byte) {
	if len(l.line) == 0 {
		return
	}
	echo := l.lflag(linux.ECHO)
	visual := l.lflag(linux.ECHOE)
	if kind == eraseLine {
		visual = visual && l.lflag(linux.ECHOK) && l.lflag(linux.ECHOKE)
	}
	if echo && !visual && kind != eraseWord {
		// Echo the editing character instead of rubbing characters out.
		l.erased(kind)
		l.echo(c)
		if kind == eraseLine && l.lflag(linux.ECHOK) {
			l.put('\n')
		}
		return
	}
	for _, r := range l.erased(kind) {
		if echo {
			l.rubout(r)
		}
	}
}

// erased removes what kind erases from the end of the line and returns
// the removed characters, last first, each as the bytes that make it up.
func (l *ldisc) erased(kind eraseKind) [][]byte {
	var out [][]byte
	words := 0
	for len(l.line) > 0 {
		end := len(l.line)
		start := end - 1
		if l.iflag(linux.IUTF8) {
			for start > 0 && l.line[start]&0xc0 == 0x80 {
				start--
			}
		}
		r := l.line[start:end]
		if kind == eraseWord {
			if c := r[0]; c == '_' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' || c >= 0x80 {
				words++
			} else if words > 0 {
				break
			}
		}
		out = append(out, append([]byte(nil), r...))
		l.line = l.line[:start]
		if kind == eraseChar {
			break
		}
	}
	return out
}

// rubout echoes the visual erasure of character r, the last one removed
// from the line.
func (l *ldisc) rubout(r []byte) {
	n := 1
	switch c := r[0]; {
	case c == '\t':
		n = l.width(l.line, true) - l.width(l.line, false)
		for ; n > 0; n-- {
			l.put('\b')
		}
		return
	case isCntrl(c):
		if !l.lflag(linux.ECHOCTL) {
			return
		}
		n = 2
	}
	for ; n > 0; n-- {
		l.put('\b')
		l.put(' ')
		l.put('\b')
	}
}

// width returns the output column after echoing line (and a tab after it
// if tab), from the column where the line started.
func (l *ldisc) width(line []byte, tab bool) int {
	col := l.lineCol
	for _, c := range line {
		switch {
		case c == '\t':
			col = col | 7 + 1
		case isCntrl(c):
			if l.lflag(linux.ECHOCTL) {
				col += 2
			}
		case c&0xc0 != 0x80 || !l.iflag(linux.IUTF8):
			col++
		}
	}
	if tab {
		col = col | 7 + 1
	}
	return col
}

// echo echoes an input character, a control character as ^X with
// ECHOCTL.
func (l *ldisc) echo(c byte) {
	if l.lflag(linux.ECHOCTL) && isCntrl(c) && c != '\t' {
		l.put('^')
		l.put(c ^ 0x40)
		return
	}
	l.put(c)
}

// put queues an output character for the master through output
// processing; echoes that do not fit are dropped.
func (l *ldisc) put(c byte) {
	if len(l.outq)+2 > queueMax {
		return
	}
	l.opost(c)
}

// output queues what the slave writes while there is room (and output
// is not stopped), and returns how many bytes it took.
func (l *ldisc) output(src []byte) int {
	n := 0
	for n < len(src) && !l.stopped && len(l.outq)+2 <= queueMax {
		l.opost(src[n])
		n++
	}
	return n
}

// opost appends c to the output queue with output processing (OPOST).
func (l *ldisc) opost(c byte) {
	o := l.termios.OutputFlags
	if o&linux.OPOST == 0 {
		l.outq = append(l.outq, c)
		return
	}
	switch {
	case c == '\n':
		if o&(linux.ONLRET|linux.ONLCR) != 0 {
			l.col = 0
		}
		if o&linux.ONLCR != 0 {
			l.outq = append(l.outq, '\r')
		}
	case c == '\r':
		if o&linux.ONOCR != 0 && l.col == 0 {
			return
		}
		if o&linux.OCRNL != 0 {
			c = '\n'
			if o&linux.ONLRET == 0 {
				break
			}
		}
		l.col = 0
	case c == '\t':
		l.col = l.col | 7 + 1
	case c == '\b':
		l.col = max(l.col-1, 0)
	case isCntrl(c):
	default:
		if o&linux.OLCUC != 0 && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c&0xc0 != 0x80 {
			l.col++
		}
	}
	l.outq = append(l.outq, c)
}

// readable returns how many bytes a read may take now: a whole line in
// canonical mode (0 with ok true for end of file), else whatever is queued
// once at least min bytes are.
func (l *ldisc) readable(min int) (n int, ok bool) {
	if l.canonical() {
		if len(l.ends) == 0 {
			return 0, false
		}
		return l.ends[0], true
	}
	return len(l.readq), len(l.readq) >= max(min, 1)
}

// read takes up to len(dst) readable bytes (one line at most in
// canonical mode).
func (l *ldisc) read(dst []byte) int {
	avail, ok := l.readable(1)
	if !ok {
		return 0
	}
	n := copy(dst, l.readq[:avail])
	l.readq = l.readq[n:]
	if len(l.readq) == 0 {
		l.readq = nil
	}
	if l.canonical() {
		for i := range l.ends {
			l.ends[i] -= n
		}
		if l.ends[0] == 0 {
			l.ends = l.ends[1:]
		}
	}
	return n
}

// setTermios changes the settings: leaving canonical mode makes the
// edited line readable; entering it makes what is queued one line.
func (l *ldisc) setTermios(t linux.Termios) {
	was := l.canonical()
	l.termios = t
	switch now := l.canonical(); {
	case was && !now:
		l.readq = append(l.readq, l.line...)
		l.line, l.ends = nil, nil
	case !was && now && len(l.readq) > 0:
		l.ends = []int{len(l.readq)}
	}
	if !l.iflag(linux.IXON) {
		l.stopped = false
	}
}

// flushInput discards what the slave has not read yet.
func (l *ldisc) flushInput() {
	l.line, l.readq, l.ends = nil, nil, nil
	l.lnext = false
}
