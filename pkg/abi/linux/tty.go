package linux

// Terminal job-control ioctl(2) requests on x86-64 not in ioctl.go.
const (
	TIOCGSID = 0x5429
)
