// Package config holds runsc's global flags as a Config struct that can be
// turned back into flags for the child processes (gofer and sandbox).
package config

import (
	"flag"
	"fmt"
	"strconv"
)

// Config is the parsed global configuration of one runsc invocation.
type Config struct {
	Root          string // state directory, default /var/run/runsc
	Debug         bool
	DebugLog      string // file, or directory (ends in "/" or exists as a dir): one file per process
	Log           string // runsc's own log file (runc's --log)
	LogFormat     string // text or json
	Platform      string // ptrace (default) or systrap
	Network       string // none, host (or "" meaning: host when the spec names a netns path, else none)
	Strace        bool
	SystemdCgroup bool
	Rootless      bool
	Overlay       bool // root filesystem gets an in-memory writable upper layer
	// FileAccess is the root filesystem's cache policy and
	// FileAccessMounts the bind mounts': FileAccessExclusive or
	// FileAccessShared.
	FileAccess       string
	FileAccessMounts string
	// ProfileCPU is a file for the sandbox's Go CPU profile, written when
	// the sandbox exits; "" for none.
	ProfileCPU string
}

// File access policies (--file-access, --file-access-mounts).
const (
	// FileAccessExclusive: only the sandbox changes the files, so it
	// caches what it learns of them.
	FileAccessExclusive = "exclusive"
	// FileAccessShared: the host may change the files at any time, so
	// the sandbox asks the gofer every time.
	FileAccessShared = "shared"
)

// RegisterFlags defines the global flags on fs, writing into c.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Root, "root", "/var/run/runsc", "root directory for storage of container state")
	fs.BoolVar(&c.Debug, "debug", false, "enable debug logging")
	fs.StringVar(&c.DebugLog, "debug-log", "", "debug log file, or a directory (trailing /) for one file per process and command")
	fs.StringVar(&c.Log, "log", "", "log file for runsc's own messages (default stderr)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.Platform, "platform", "ptrace", "platform that runs application code: ptrace, or systrap (seccomp traps, faster syscalls)")
	fs.StringVar(&c.Network, "network", "", "network mode: none or host (default: host if the spec names a network namespace, else none)")
	fs.BoolVar(&c.Strace, "strace", false, "log every application system call to the debug log")
	fs.BoolVar(&c.SystemdCgroup, "systemd-cgroup", false, "use systemd for cgroups (not supported yet)")
	fs.BoolVar(&c.Rootless, "rootless", false, "run without root (not supported yet)")
	fs.BoolVar(&c.Overlay, "overlay", true, "give the root filesystem an in-memory writable layer; writes never reach the bundle")
	fs.StringVar(&c.FileAccess, "file-access", FileAccessExclusive,
		"root filesystem access: exclusive (only the container changes it: file attributes, names and open files are cached) or shared (the host may change it too)")
	fs.StringVar(&c.FileAccessMounts, "file-access-mounts", FileAccessShared,
		"bind mount access: shared (the host may change them while the container runs) or exclusive (only the container changes them: cached)")
	fs.StringVar(&c.ProfileCPU, "profile-cpu", "", "write a CPU profile of the sandbox process (pprof format) to this file when it exits")
}

// Validate checks values that flag parsing cannot.
func (c *Config) Validate() error {
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("invalid --log-format %q: must be text or json", c.LogFormat)
	}
	switch c.Platform {
	case "ptrace", "systrap":
	default:
		return fmt.Errorf("invalid --platform %q: must be ptrace or systrap", c.Platform)
	}
	switch c.Network {
	case "", "none", "host":
	default:
		return fmt.Errorf("invalid --network %q: must be none or host", c.Network)
	}
	for _, f := range []struct{ name, value string }{
		{"--file-access", c.FileAccess}, {"--file-access-mounts", c.FileAccessMounts},
	} {
		if f.value != FileAccessExclusive && f.value != FileAccessShared {
			return fmt.Errorf("invalid %s %q: must be %s or %s", f.name, f.value, FileAccessExclusive, FileAccessShared)
		}
	}
	if c.SystemdCgroup {
		return fmt.Errorf("--systemd-cgroup is not supported yet: use the cgroupfs driver")
	}
	if c.Rootless {
		return fmt.Errorf("--rootless is not supported yet: run runsc as root")
	}
	return nil
}

// ToFlags turns c back into global flags for a child runsc process.
func (c *Config) ToFlags() []string {
	return []string{
		"--root=" + c.Root,
		"--debug=" + strconv.FormatBool(c.Debug),
		"--debug-log=" + c.DebugLog,
		"--log=" + c.Log,
		"--log-format=" + c.LogFormat,
		"--platform=" + c.Platform,
		"--network=" + c.Network,
		"--strace=" + strconv.FormatBool(c.Strace),
		"--overlay=" + strconv.FormatBool(c.Overlay),
		"--file-access=" + c.FileAccess,
		"--file-access-mounts=" + c.FileAccessMounts,
		"--profile-cpu=" + c.ProfileCPU,
	}
}
