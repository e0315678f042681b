package proc

import (
	"bytes"
	"fmt"
	"strings"

	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/vfs"
)

// Mount ids of mountinfo: the namespace's mounts are numbered from
// firstMountID in mount order; the root's parent (outside the namespace)
// and anonymous files (pipes) get ids no mount has.
const (
	firstMountID = 21
	anonMountID  = 12
)

// mountsText is /proc/[pid]/mounts.
func mountsText(_ *process, s kernel.ProcessSnapshot) ([]byte, error) {
	if s.FSContext == nil {
		return nil, nil
	}
	return []byte(s.FSContext.Namespace().MountsText()), nil
}

// parentMount returns the index of the mount below mounts[i]: the earlier
// mount with the longest target containing its target, or -1.
func parentMount(mounts []vfs.MountInfo, i int) int {
	best := -1
	for j := 0; j < i; j++ {
		if under(mounts[i].Target, mounts[j].Target) && mounts[j].Target != mounts[i].Target &&
			(best < 0 || len(mounts[j].Target) >= len(mounts[best].Target)) {
			best = j
		}
	}
	return best
}

// under reports whether path p is dir or below it.
func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// mountinfoText is /proc/[pid]/mountinfo.
func mountinfoText(_ *process, s kernel.ProcessSnapshot) ([]byte, error) {
	if s.FSContext == nil {
		return nil, nil
	}
	mounts := s.FSContext.Namespace().Mounts()
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	var b bytes.Buffer
	for i, m := range mounts {
		parent := firstMountID - 1
		if j := parentMount(mounts, i); j >= 0 {
			parent = firstMountID + j
		}
		var major, minor uint32
		if st, err := vfs.StatAt(ctx, s.FSContext, nil, m.Target, 0); err == nil {
			major, minor = st.DevMajor, st.DevMinor
		}
		super := "rw"
		if m.ReadOnly {
			super = "ro"
		}
		if m.Data != "" {
			super += "," + m.Data
		}
		opts := m.Options
		if m.Flags&(vfs.MountNoAtime|vfs.MountStrictAtime) == 0 {
			opts += ",relatime"
		}
		fmt.Fprintf(&b, "%d %d %d:%d %s %s %s - %s %s %s\n", firstMountID+i, parent, major, minor,
			escapeMount(m.Root), escapeMount(m.Target), opts, m.Type, escapeMount(m.Source), super)
	}
	return b.Bytes(), nil
}

// escapeMount escapes spaces, tabs, newlines and backslashes as octal,
// like Linux's mount tables.
func escapeMount(s string) string {
	return strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`).Replace(s)
}

// mountID is the mountinfo id of the mount f is on: the last mount whose
// target holds its path, or anonMountID for anonymous files.
func (p *process) mountID(f *vfs.File) int {
	s := p.tg.Snapshot()
	name := f.LinkName()
	if s.FSContext == nil || f.Location().Mount == nil || !strings.HasPrefix(name, "/") {
		return anonMountID
	}
	mounts := s.FSContext.Namespace().Mounts()
	best := -1
	for i, m := range mounts {
		if under(name, m.Target) && (best < 0 || len(m.Target) >= len(mounts[best].Target)) {
			best = i
		}
	}
	if best < 0 {
		return anonMountID
	}
	return firstMountID + best
}
