package proc

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// sysctls are the files of /proc/sys: path below sys/ → generator.
var sysctls = []struct {
	path string
	fn   func(k *kernel.Kernel) string
}{
	{"kernel/hostname", func(k *kernel.Kernel) string { return k.Config().Hostname }},
	{"kernel/osrelease", func(k *kernel.Kernel) string { return k.Config().Release }},
	{"kernel/ostype", fixed("Linux")},
	{"kernel/version", func(k *kernel.Kernel) string { return k.Config().Version }},
	{"kernel/pid_max", fixed(strconv.Itoa(1 << 22))},
	{"kernel/ngroups_max", fixed("65536")},
	{"kernel/cap_last_cap", fixed("40")},
	{"kernel/threads-max", fixed("126608")},
	{"kernel/random/boot_id", fixed(newUUID())},
	{"kernel/random/uuid", func(*kernel.Kernel) string { return newUUID() }},
	{"kernel/random/entropy_avail", fixed("256")},
	{"vm/overcommit_memory", fixed("0")},
	{"vm/max_map_count", fixed("65530")},
	{"fs/file-max", fixed("9223372036854775807")},
	{"fs/nr_open", fixed("1048576")},
	{"net/core/somaxconn", fixed("4096")},
}

// fixed returns a generator of constant text.
func fixed(s string) func(*kernel.Kernel) string { return func(*kernel.Kernel) string { return s } }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// newSysDir builds /proc/sys from sysctls and the spec's values (keys
// with dots or slashes).
func newSysDir(k *kernel.Kernel, spec map[string]string) vfs.Inode {
	root := vfs.NewStaticDir(0o555, nil)
	values := map[string]string{}
	for key, v := range spec {
		path := strings.ReplaceAll(key, ".", "/")
		if slices.Contains(strings.Split(path, "/"), "") {
			continue // not a file name
		}
		values[path] = v
	}
	for _, s := range sysctls {
		fn := s.fn
		if v, ok := values[s.path]; ok {
			fn = fixed(v)
			delete(values, s.path)
		}
		addPath(root, s.path, vfs.NewFuncFile(0o444, func(vfs.Context) ([]byte, error) {
			return []byte(fn(k) + "\n"), nil
		}))
	}
	for _, path := range slices.Sorted(maps.Keys(values)) {
		addPath(root, path, vfs.NewStaticFile(0o444, []byte(values[path]+"\n")))
	}
	return root
}

// addPath adds in at path below root, creating directories on the way.
func addPath(root *vfs.StaticDir, path string, in vfs.Inode) {
	dir := root
	for {
		i := 0
		for i < len(path) && path[i] != '/' {
			i++
		}
		if i == len(path) {
			dir.Add(path, in)
			return
		}
		name := path[:i]
		path = path[i+1:]
		child, err := dir.Lookup(nil, name)
		sub, ok := child.(*vfs.StaticDir)
		if err != nil || !ok {
			sub = vfs.NewStaticDir(0o555, nil)
			dir.Add(name, sub)
		}
		dir = sub
	}
}
