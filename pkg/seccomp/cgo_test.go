//go:build cgo

package seccomp

// With cgo the test binary starts threads through glibc's pthread_create
// (clone3, falling back to clone), which the install tests then cover.
import _ "runtime/cgo"
