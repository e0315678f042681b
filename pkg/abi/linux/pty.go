package linux

// Pseudo-terminal and line-discipline ioctl(2) requests on x86-64 not in
// ioctl.go.
const (
	TCSBRK      = 0x5409
	TCFLSH      = 0x540b
	TIOCOUTQ    = 0x5411
	TIOCGPTLCK  = 0x80045439
	TIOCGPTPEER = 0x5441
)

// TCFLSH queue selectors.
const (
	TCIFLUSH  = 0
	TCOFLUSH  = 1
	TCIOFLUSH = 2
)

// termios c_iflag bits.
const (
	IGNBRK  = 0x1
	BRKINT  = 0x2
	ISTRIP  = 0x20
	INLCR   = 0x40
	IGNCR   = 0x80
	ICRNL   = 0x100
	IUCLC   = 0x200
	IXON    = 0x400
	IXANY   = 0x800
	IXOFF   = 0x1000
	IMAXBEL = 0x2000
	IUTF8   = 0x4000
)

// termios c_oflag bits.
const (
	OPOST  = 0x1
	OLCUC  = 0x2
	ONLCR  = 0x4
	OCRNL  = 0x8
	ONOCR  = 0x10
	ONLRET = 0x20
)

// termios c_cflag bits.
const (
	B38400 = 0xf
	CS8    = 0x30
	CREAD  = 0x80
	HUPCL  = 0x400
	CLOCAL = 0x800
)

// termios c_lflag bits.
const (
	ISIG    = 0x1
	ICANON  = 0x2
	ECHO    = 0x8
	ECHOE   = 0x10
	ECHOK   = 0x20
	ECHONL  = 0x40
	NOFLSH  = 0x80
	TOSTOP  = 0x100
	ECHOCTL = 0x200
	ECHOPRT = 0x400
	ECHOKE  = 0x800
	FLUSHO  = 0x1000
	PENDIN  = 0x4000
	IEXTEN  = 0x8000
)

// termios c_cc indices.
const (
	VINTR    = 0
	VQUIT    = 1
	VERASE   = 2
	VKILL    = 3
	VEOF     = 4
	VTIME    = 5
	VMIN     = 6
	VSWTC    = 7
	VSTART   = 8
	VSTOP    = 9
	VSUSP    = 10
	VEOL     = 11
	VREPRINT = 12
	VDISCARD = 13
	VWERASE  = 14
	VLNEXT   = 15
	VEOL2    = 16
)

// Unix98 pseudo-terminal device numbers and the line discipline's size.
const (
	TTYAUX_MAJOR           = 5   // /dev/tty (minor 0) and /dev/ptmx (minor 2)
	UNIX98_PTY_SLAVE_MAJOR = 136 // /dev/pts/N: major 136 + N/256, minor N%256
	UNIX98_PTY_MAJOR_COUNT = 8
	N_TTY_BUF_SIZE         = 4096 // the canonical line limit, delimiter included
)
