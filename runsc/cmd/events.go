package cmd

import (
	"context"
	"encoding/json"
	"flag"
	"time"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// Events implements `runsc events`.
type Events struct {
	Conf *config.Config

	stats    bool
	interval time.Duration
}

// Name implements subcommands.Command.
func (*Events) Name() string { return "events" }

// Synopsis implements subcommands.Command.
func (*Events) Synopsis() string { return "print a container's resource usage statistics" }

// Usage implements subcommands.Command.
func (*Events) Usage() string {
	return usageWithFlags("events [flags] <container-id>", `
Prints the resource usage of a created or running container as runc does:
one JSON object per line, {"type":"stats","id":<id>,"data":{...}}, whose
data holds cpu (usage: total, percpu, kernel, user in nanoseconds;
throttling), memory (usage, swap: limit, usage, max, failcnt in bytes;
cache; raw: memory.stat) and pids (current, limit; 0 means none).

The numbers come from the container's cgroup (linux.cgroupsPath of the
spec), which holds the sandbox and gofer processes: they are the
sandbox's whole cost on the host, the sandbox kernel and the gofer
included, not only the application's. A container whose spec names no
cgroup has no statistics.

With --stats one object is printed and runsc exits; otherwise one is
printed every --interval until the container stops.

Exit status: 0 done (the container stopped), 1 error, 2 usage error.
`)
}

// SetFlags implements subcommands.Command.
func (e *Events) SetFlags(f *flag.FlagSet) {
	f.BoolVar(&e.stats, "stats", false, "print the statistics once and exit")
	f.DurationVar(&e.interval, "interval", 5*time.Second, "time between two statistics")
}

// event is runc's event JSON.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Execute implements subcommands.Command.
func (e *Events) Execute(_ context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	id, ok := oneID(f)
	if !ok {
		return errOneID(f)
	}
	if e.interval <= 0 {
		return usageError(f, "--interval must be positive, got %v", e.interval)
	}
	s, err := newSession(e.Conf, id, "events")
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	cont, err := container.Load(e.Conf.Root, id)
	if err != nil {
		return s.fail(err)
	}
	enc := json.NewEncoder(cliStdout)
	for first := true; ; first = false {
		st, err := cont.Stats()
		if err != nil {
			if !first && (cont.Status != container.Created && cont.Status != container.Running) {
				return subcommands.ExitSuccess // it stopped meanwhile
			}
			return s.fail(err)
		}
		if err := enc.Encode(event{Type: "stats", ID: cont.ID, Data: st}); err != nil {
			return s.fail(err)
		}
		if e.stats {
			return subcommands.ExitSuccess
		}
		time.Sleep(e.interval)
		if cont, err = container.Load(e.Conf.Root, id); err != nil {
			return subcommands.ExitSuccess // deleted meanwhile
		}
		if cont.Status != container.Created && cont.Status != container.Running {
			return subcommands.ExitSuccess
		}
	}
}
