// Package sys is the sandbox's minimal /sys (sysfs): the CPU topology
// files programs read to count CPUs (devices/system/cpu/online, possible,
// present and one cpuN directory per CPU).
package sys

import (
	"fmt"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// New returns a sysfs for a sandbox with numCPU CPUs.
func New(numCPU int) *vfs.SyntheticFS {
	numCPU = max(numCPU, 1)
	list := "0"
	if numCPU > 1 {
		list = fmt.Sprintf("0-%d", numCPU-1)
	}
	file := func(s string) vfs.Inode { return vfs.NewStaticFile(0o444, []byte(s+"\n")) }
	cpu := vfs.NewStaticDir(0o755, []vfs.Entry{
		{Name: "online", Inode: file(list)},
		{Name: "possible", Inode: file(list)},
		{Name: "present", Inode: file(list)},
		{Name: "offline", Inode: file("")},
		{Name: "kernel_max", Inode: file("8191")},
	})
	for i := 0; i < numCPU; i++ {
		cpu.Add(fmt.Sprintf("cpu%d", i), vfs.NewStaticDir(0o755, []vfs.Entry{{Name: "online", Inode: file("1")}}))
	}
	dir := func(entries ...vfs.Entry) *vfs.StaticDir { return vfs.NewStaticDir(0o755, entries) }
	root := dir(
		vfs.Entry{Name: "devices", Inode: dir(vfs.Entry{Name: "system", Inode: dir(vfs.Entry{Name: "cpu", Inode: cpu})})},
		vfs.Entry{Name: "fs", Inode: dir(vfs.Entry{Name: "cgroup", Inode: dir()})},
		vfs.Entry{Name: "kernel", Inode: dir()},
		vfs.Entry{Name: "class", Inode: dir()},
		vfs.Entry{Name: "bus", Inode: dir()},
	)
	return vfs.NewSyntheticFS("sysfs", linux.SYSFS_MAGIC, root)
}
