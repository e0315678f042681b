package linux

// Termios is struct termios as TCGETS/TCSETS use it (36 bytes on x86-64).
type Termios struct {
	InputFlags        uint32
	OutputFlags       uint32
	ControlFlags      uint32
	LocalFlags        uint32
	LineDiscipline    uint8
	ControlCharacters [19]uint8
}

// SizeofTermios is the size of struct termios in bytes.
const SizeofTermios = 36

// Winsize is struct winsize (TIOCGWINSZ/TIOCSWINSZ).
type Winsize struct {
	Row, Col, Xpixel, Ypixel uint16
}

// SizeofWinsize is the size of struct winsize in bytes.
const SizeofWinsize = 8
