package devpts

import (
	"slices"
	"testing"

	"bulwark.dev/pkg/abi/linux"
)

// readAll reads everything the slave may read now, line by line.
func (l *ldisc) readAll() string {
	var out []byte
	buf := make([]byte, 64)
	for {
		if _, ok := l.readable(1); !ok {
			return string(out)
		}
		n := l.read(buf)
		if n == 0 {
			out = append(out, "<EOF>"...)
		}
		out = append(out, buf[:n]...)
	}
}

// takeOut returns and clears what the master may read.
func (l *ldisc) takeOut() string {
	s := string(l.outq)
	l.outq = nil
	return s
}

// Canonical editing with the default settings: what the slave reads and
// what the master sees echoed.
func TestCanonical(t *testing.T) {
	for _, c := range []struct {
		name, in, read, echo string
	}{
		{"line", "abc\n", "abc\n", "abc\r\n"},
		{"partial", "abc", "", "abc"},
		{"two lines", "a\nb\n", "a\nb\n", "a\r\nb\r\n"},
		{"erase", "xy\x7fz\n", "xz\n", "xy\b \bz\r\n"},
		{"erase control", "a\x01\x7f\n", "a\n", "a^A\b \b\b \b\r\n"},
		{"erase empty", "\x7fa\n", "a\n", "a\r\n"},
		{"kill", "foo\x15bar\n", "bar\n", "foo\b \b\b \b\b \bbar\r\n"},
		{"werase", "one two\x17x\n", "one x\n", "one two\b \b\b \b\b \bx\r\n"},
		{"werase trailing blanks", "one two  \x17\n", "one \n", "one two  \b \b\b \b\b \b\b \b\b \b\r\n"},
		{"eof", "ab\x04", "ab", "ab"},
		{"eof alone", "\x04", "<EOF>", ""},
		{"icrnl", "cr\r", "cr\n", "cr\r\n"},
		{"echoctl", "\x01\n", "\x01\n", "^A\r\n"},
		{"lnext", "\x16\x03\n", "\x03\n", "^\b^C\r\n"},
		{"erase tab", "\t\x7f\n", "\n", "\t\b\b\b\b\b\b\b\b\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLdisc()
			n, sigs := l.input([]byte(c.in))
			if n != len(c.in) || len(sigs) != 0 {
				t.Fatalf("input = %d, %v", n, sigs)
			}
			if got := l.readAll(); got != c.read {
				t.Errorf("read %q, want %q", got, c.read)
			}
			if got := l.takeOut(); got != c.echo {
				t.Errorf("echo %q, want %q", got, c.echo)
			}
		})
	}
}

// A read takes one line at most, and the rest of a line that did not
// fit comes next.
func TestCanonicalReadSizes(t *testing.T) {
	l := newLdisc()
	l.input([]byte("abcdef\nxy\n"))
	buf := make([]byte, 4)
	var got []string
	for _, ok := l.readable(1); ok; _, ok = l.readable(1) {
		n := l.read(buf)
		got = append(got, string(buf[:n]))
	}
	if want := []string{"abcd", "ef\n", "xy\n"}; !slices.Equal(got, want) {
		t.Errorf("reads %q, want %q", got, want)
	}
}

// A canonical line holds N_TTY_BUF_SIZE-1 characters and its delimiter.
func TestCanonicalLineLimit(t *testing.T) {
	l := newLdisc()
	l.termios.LocalFlags &^= linux.ECHO
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	l.input(append(long, '\n'))
	if got := l.readAll(); len(got) != linux.N_TTY_BUF_SIZE || got[len(got)-1] != '\n' {
		t.Errorf("read %d bytes, want %d ending in a newline", len(got), linux.N_TTY_BUF_SIZE)
	}
}

// Input and output flags.
func TestFlags(t *testing.T) {
	for _, c := range []struct {
		name         string
		iflag, oflag uint32
		in, read     string
		out, master  string
	}{
		{"no icrnl", 0, linux.OPOST | linux.ONLCR, "a\r\n", "a\r\n", "x\ny", "x\r\ny"},
		{"inlcr", linux.INLCR | linux.ICRNL, linux.OPOST, "a\n\r\n", "a\r\n", "x\ny", "x\ny"},
		{"igncr", linux.IGNCR | linux.ICRNL, 0, "a\rb\n", "ab\n", "x\ny", "x\ny"},
		{"ocrnl onocr", linux.ICRNL, linux.OPOST | linux.OCRNL, "\n", "\n", "a\r", "a\n"},
		{"onocr", linux.ICRNL, linux.OPOST | linux.ONOCR, "\n", "\n", "\rb\r", "b\r"},
		{"olcuc", linux.ICRNL, linux.OPOST | linux.OLCUC, "\n", "\n", "ab1", "AB1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLdisc()
			l.termios.LocalFlags &^= linux.ECHO
			l.termios.InputFlags, l.termios.OutputFlags = c.iflag, c.oflag
			l.input([]byte(c.in))
			if got := l.readAll(); got != c.read {
				t.Errorf("read %q, want %q", got, c.read)
			}
			if n := l.output([]byte(c.out)); n != len(c.out) {
				t.Errorf("output took %d of %d bytes", n, len(c.out))
			}
			if got := l.takeOut(); got != c.master {
				t.Errorf("master reads %q, want %q", got, c.master)
			}
		})
	}
}

// Keyboard characters ask for signals, flush unless NOFLSH and echo.
func TestSignals(t *testing.T) {
	for _, c := range []struct {
		name  string
		lflag uint32
		in    string
		sigs  []int
		read  string
		echo  string
	}{
		{"intr", 0, "ab\x03cd\n", []int{linux.SIGINT}, "cd\n", "^Ccd\r\n"},
		{"quit", 0, "\x1c", []int{linux.SIGQUIT}, "", "^\\"},
		{"susp", 0, "\x1a\x03", []int{linux.SIGTSTP, linux.SIGINT}, "", "^C"}, // ^C flushes the echoed ^Z
		{"noflsh", linux.NOFLSH, "ab\x03cd\n", []int{linux.SIGINT}, "abcd\n", "ab^Ccd\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLdisc()
			l.termios.LocalFlags |= c.lflag
			_, sigs := l.input([]byte(c.in))
			if !slices.Equal(sigs, c.sigs) {
				t.Errorf("signals %v, want %v", sigs, c.sigs)
			}
			if got := l.readAll(); got != c.read {
				t.Errorf("read %q, want %q", got, c.read)
			}
			if got := l.takeOut(); got != c.echo {
				t.Errorf("echo %q, want %q", got, c.echo)
			}
		})
	}
	l := newLdisc()
	l.termios.LocalFlags &^= linux.ISIG
	if _, sigs := l.input([]byte("\x03\n")); len(sigs) != 0 {
		t.Errorf("without ISIG: signals %v", sigs)
	}
	if got := l.readAll(); got != "\x03\n" {
		t.Errorf("without ISIG: read %q", got)
	}
}

// Raw mode: every byte is readable at once, with VMIN as the poll
// threshold; leaving canonical mode makes the edited line readable.
func TestRaw(t *testing.T) {
	l := newLdisc()
	l.input([]byte("ab"))
	raw := l.termios
	raw.LocalFlags &^= linux.ICANON | linux.ECHO | linux.ISIG
	raw.InputFlags &^= linux.ICRNL
	l.setTermios(raw)
	if n, ok := l.readable(1); !ok || n != 2 {
		t.Errorf("the edited line after leaving canonical mode: %d, %v", n, ok)
	}
	l.input([]byte("\r\x03"))
	if _, ok := l.readable(5); ok {
		t.Error("4 bytes satisfy VMIN 5")
	}
	if got := l.readAll(); got != "ab\r\x03" {
		t.Errorf("read %q", got)
	}
	l.takeOut()
	l.input([]byte("q"))
	if got := l.takeOut(); got != "" {
		t.Errorf("echo without ECHO: %q", got)
	}
}

// VSTOP stops output until VSTART (IXON).
func TestFlowControl(t *testing.T) {
	l := newLdisc()
	l.input([]byte{0x13})
	if n := l.output([]byte("x")); n != 0 {
		t.Errorf("stopped output took %d bytes", n)
	}
	l.input([]byte{0x11})
	if n := l.output([]byte("x")); n != 1 {
		t.Errorf("restarted output took %d bytes", n)
	}
	if got := l.readAll(); got != "" {
		t.Errorf("flow characters were read: %q", got)
	}
}

// Input stops when the queue is full; the writer waits for room.
func TestInputBound(t *testing.T) {
	l := newLdisc()
	raw := l.termios
	raw.LocalFlags &^= linux.ICANON | linux.ECHO
	l.setTermios(raw)
	big := make([]byte, queueMax+10)
	if n, _ := l.input(big); n != queueMax {
		t.Errorf("input took %d bytes, want %d", n, queueMax)
	}
}

func TestTermiosEncoding(t *testing.T) {
	tt := defaultTermios()
	b := encodeTermios(tt)
	if len(b) != linux.SizeofTermios || b[0] != 0x00 || b[1] != 0x05 || b[17+linux.VINTR] != 3 {
		t.Errorf("encoded %x", b)
	}
	if got := decodeTermios(b); got != tt {
		t.Errorf("round trip %+v, want %+v", got, tt)
	}
}
