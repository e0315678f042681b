// Package gofer is the gofer process (`runsc gofer`): it serves the
// container's root filesystem and bind mounts to the sandbox over one
// SOCK_SEQPACKET connection per mount (the fsproto protocol), from inside
// an empty root where no host path resolves. It never follows a symlink
// on the host.
package gofer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sync"

	"bulwark.dev/pkg/fsproto"
	"bulwark.dev/runsc/config"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Args are the inputs of Run, as `runsc gofer` receives them.
type Args struct {
	ID        string         // container id, for the debug log's name
	BundleDir string         // spec.Root.Path and relative mount sources are relative to it
	SpecFD    int            // fd holding the OCI config.json; Run closes it
	IOFDs     []int          // one connected SOCK_SEQPACKET fd per served mount: root, then BindMounts order
	ReadOnly  bool           // serve every mount read-only
	Conf      *config.Config // global flags; nil means defaults
}

// Run is the gofer process: it reads the spec, opens every mount source,
// confines itself (the caller started it in new mount, pid, ipc, uts and
// net namespaces), installs its seccomp allowlist (see seccomp.go) and
// serves until the sandbox closes every connection.
// With Conf.Overlay the root is served read-only: the sandbox keeps its
// writes in memory. It returns nil when all connections closed normally.
func Run(args Args) error {
	conf := args.Conf
	if conf == nil {
		conf = &config.Config{}
	}
	spec, err := readSpec(args.SpecFD)
	if err != nil {
		return err
	}
	logFile, err := conf.OpenDebugLog(args.ID, "gofer")
	if err != nil {
		return err
	}
	if logFile != nil {
		defer logFile.Close()
	}
	var l *log.Logger
	if logFile != nil {
		l = conf.NewLogger(logFile, "")
	}
	err = run(runArgs{Args: args, spec: spec, log: l, debug: conf.Debug, rootRO: conf.Overlay, confine: true})
	if err != nil {
		logf(l, "gofer: %v", err)
	}
	return err
}

// runArgs are Run's inputs once read; confine is false only in tests.
type runArgs struct {
	Args
	spec    *specs.Spec
	log     *log.Logger
	debug   bool
	rootRO  bool
	confine bool
}

func run(a runArgs) error {
	srcs, err := sources(a.BundleDir, a.spec, a.rootRO, a.ReadOnly)
	if err != nil {
		return err
	}
	if len(a.IOFDs) != len(srcs) {
		return fmt.Errorf("got %d io fds for %d filesystems (the root and %d bind mounts)", len(a.IOFDs), len(srcs), len(srcs)-1)
	}
	for _, fd := range a.IOFDs {
		if err := checkSeqpacket(fd); err != nil {
			return err
		}
	}
	if a.confine {
		if err := makePrivate(); err != nil {
			return err
		}
	}
	servers := make([]*fsproto.Server, 0, len(srcs))
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	for _, src := range srcs {
		s, err := openServer(src, a.log, a.debug)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	if a.confine {
		if err := confine(srcs[0].path, a.log); err != nil {
			return fmt.Errorf("confining the gofer: %w", err)
		}
		if err := dropPrivileges(); err != nil {
			// Still confined to an empty root in its own namespaces.
			logf(a.log, "gofer: keeping capabilities: %v", err)
		}
		if err := installFilter(); err != nil {
			return err
		}
	}
	logf(a.log, "gofer: serving %d filesystems for %q", len(srcs), a.ID)
	return serveAll(servers, srcs, a.IOFDs, a.log)
}

// serveAll serves each connection in its own goroutine and returns once
// every one has closed.
func serveAll(servers []*fsproto.Server, srcs []source, fds []int, l *log.Logger) error {
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, s := range servers {
		wg.Go(func() {
			if err := s.Serve(fds[i]); err != nil {
				errs[i] = fmt.Errorf("serving %s: %w", srcs[i].what, err)
				logf(l, "gofer: %v", errs[i])
			}
		})
	}
	wg.Wait()
	logf(l, "gofer: all connections closed")
	return errors.Join(errs...)
}

// readSpec reads and closes the config.json at fd.
func readSpec(fd int) (*specs.Spec, error) {
	if fd < 0 {
		return nil, errors.New("no --spec-fd given")
	}
	f := os.NewFile(uintptr(fd), "spec")
	if f == nil {
		return nil, fmt.Errorf("invalid spec fd %d", fd)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the spec from fd %d: %w", fd, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("parsing the spec from fd %d: %w", fd, err)
	}
	return &spec, nil
}

// checkSeqpacket checks fd is a SOCK_SEQPACKET socket.
func checkSeqpacket(fd int) error {
	t, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("io fd %d: %w", fd, err)
	}
	if t != unix.SOCK_SEQPACKET {
		return fmt.Errorf("io fd %d is not a SOCK_SEQPACKET socket", fd)
	}
	return nil
}

func logf(l *log.Logger, format string, args ...any) {
	if l != nil {
		l.Printf(format, args...)
	}
}
