// Package conformance is Bulwark's syscall conformance suite. Small C
// programs under src/<area>/*.c (sharing the assertion macros of src/check.h)
// are compiled with `gcc -static -O1` into a copy of the cached busybox root
// filesystem, at /conformance/<area>/<name>, and each runs in its own
// container under the runtime under test. A program prints one TAP-like line
// per assertion (`ok N - description` or `not ok N - description: details`)
// and a final plan line `1..N`, and exits 0.
//
// The Go test fails for every `not ok` line (naming the program and the
// assertion), for a program that does not compile, crashes (no plan line),
// exits non-zero or times out, and prints per-area counts at the end (shown
// with -v or when the test fails). It must run as root:
//
//	go test -count=1 ./test/conformance                        # builds and tests runsc
//	go test -count=1 ./test/conformance -args -runsc=/usr/local/bin/runsc
//	go test -count=1 -v ./test/conformance -args -against-runc  # checks the programs themselves
//	go test -count=1 ./test/conformance -run 'TestConformance/signals/'
//
// Other flags: -prog-timeout (default 30s per program; a hung program is
// killed and reported with the results it printed), -max-timeouts (default
// 3; later programs then fail without running), -src DIR (run the programs of
// another tree laid out like src/, e.g. while writing a new one).
//
// Every assertion must pass under runc (-against-runc): that is how the
// expectations themselves are checked against Linux. The programs run as
// the container's init (pid 1) with the spec of testutil.NewSpec, and write
// only below /tmp (a tmpfs), so they share one copy of the rootfs.
package conformance
