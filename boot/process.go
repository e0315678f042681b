package boot

import (
	"fmt"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultUmask is the init's umask when the spec names none (runc's).
const defaultUmask = 0o022

// rlimitNumbers maps the spec's rlimit names to RLIMIT_* numbers.
var rlimitNumbers = map[string]int{
	"RLIMIT_CPU":        linux.RLIMIT_CPU,
	"RLIMIT_FSIZE":      linux.RLIMIT_FSIZE,
	"RLIMIT_DATA":       linux.RLIMIT_DATA,
	"RLIMIT_STACK":      linux.RLIMIT_STACK,
	"RLIMIT_CORE":       linux.RLIMIT_CORE,
	"RLIMIT_RSS":        linux.RLIMIT_RSS,
	"RLIMIT_NPROC":      linux.RLIMIT_NPROC,
	"RLIMIT_NOFILE":     linux.RLIMIT_NOFILE,
	"RLIMIT_MEMLOCK":    linux.RLIMIT_MEMLOCK,
	"RLIMIT_AS":         linux.RLIMIT_AS,
	"RLIMIT_LOCKS":      linux.RLIMIT_LOCKS,
	"RLIMIT_SIGPENDING": linux.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE":   linux.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       linux.RLIMIT_NICE,
	"RLIMIT_RTPRIO":     linux.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     linux.RLIMIT_RTTIME,
}

// InitArgs builds the arguments of the container's init process from the
// spec: argv, env, cwd, credentials (ids and capability sets), umask and
// rlimits. The caller adds the FDTable and FSContext. Unknown capability
// names are ignored, as runc does, and returned for a warning.
func InitArgs(spec *specs.Spec) (kernel.CreateProcessArgs, []string, error) {
	p := spec.Process
	if p == nil || len(p.Args) == 0 {
		return kernel.CreateProcessArgs{}, nil, fmt.Errorf("spec has no process arguments")
	}
	limits := map[int]kernel.Rlimit{}
	for _, r := range p.Rlimits {
		n, ok := rlimitNumbers[r.Type]
		if !ok {
			return kernel.CreateProcessArgs{}, nil, fmt.Errorf("unknown rlimit type %q", r.Type)
		}
		if r.Soft > r.Hard {
			return kernel.CreateProcessArgs{}, nil, fmt.Errorf("%s: soft limit %d exceeds hard limit %d", r.Type, r.Soft, r.Hard)
		}
		limits[n] = kernel.Rlimit{Cur: r.Soft, Max: r.Hard}
	}
	umask := uint32(defaultUmask)
	if p.User.Umask != nil {
		umask = *p.User.Umask & 0o777
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	creds := auth.NewUserCredentials(p.User.UID, p.User.GID, p.User.AdditionalGids)
	unknown := applyCaps(creds, p.Capabilities)
	return kernel.CreateProcessArgs{
		Argv:       append([]string(nil), p.Args...),
		Envv:       append([]string(nil), p.Env...),
		WorkingDir: cwd,
		Creds:      creds,
		Umask:      umask,
		Limits:     limits,
		NoNewPrivs: p.NoNewPrivileges,
		OOMScore:   oomScore(p),
	}, unknown, nil
}

// oomScore is the spec's process.oomScoreAdj (0 when absent).
func oomScore(p *specs.Process) int {
	if p.OOMScoreAdj == nil {
		return 0
	}
	return *p.OOMScoreAdj
}
