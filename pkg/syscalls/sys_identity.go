package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

// User and group identity.

// ngroupsMax is NGROUPS_MAX.
const ngroupsMax = 65536

func init() {
	register(linux.SYS_GETUID, sysGetuid)
	register(linux.SYS_GETEUID, sysGeteuid)
	register(linux.SYS_GETGID, sysGetgid)
	register(linux.SYS_GETEGID, sysGetegid)
	register(linux.SYS_GETRESUID, sysGetresuid, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_GETRESGID, sysGetresgid, kernel.Hex, kernel.Hex, kernel.Hex)
	register(linux.SYS_SETUID, sysSetuid, kernel.Int)
	register(linux.SYS_SETGID, sysSetgid, kernel.Int)
	register(linux.SYS_SETREUID, sysSetreuid, kernel.Int, kernel.Int)
	register(linux.SYS_SETREGID, sysSetregid, kernel.Int, kernel.Int)
	register(linux.SYS_SETRESUID, sysSetresuid, kernel.Int, kernel.Int, kernel.Int)
	register(linux.SYS_SETRESGID, sysSetresgid, kernel.Int, kernel.Int, kernel.Int)
	register(linux.SYS_GETGROUPS, sysGetgroups, kernel.Int, kernel.Hex)
	register(linux.SYS_SETGROUPS, sysSetgroups, kernel.Int, kernel.Hex)
}

func sysGetuid(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().RealUID), nil
}

func sysGeteuid(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().EffectiveUID), nil
}

func sysGetgid(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().RealGID), nil
}

func sysGetegid(t *kernel.Task, _ kernel.SyscallArguments) (uintptr, error) {
	return uintptr(t.Credentials().EffectiveGID), nil
}

// putIDs writes three uint32 ids to three addresses.
func putIDs(t *kernel.Task, addrs [3]uintptr, ids [3]uint32) error {
	for i, addr := range addrs {
		v := ids[i]
		if err := kernel.CopyObjectOut(t, addr, &v); err != nil {
			return err
		}
	}
	return nil
}

func sysGetresuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	c := t.Credentials()
	return 0, putIDs(t, [3]uintptr{a[0], a[1], a[2]}, [3]uint32{c.RealUID, c.EffectiveUID, c.SavedUID})
}

func sysGetresgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	c := t.Credentials()
	return 0, putIDs(t, [3]uintptr{a[0], a[1], a[2]}, [3]uint32{c.RealGID, c.EffectiveGID, c.SavedGID})
}

func sysSetuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetUID(uint32(a[0]))
}

func sysSetgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetGID(uint32(a[0]))
}

func sysSetreuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetREUID(uint32(a[0]), uint32(a[1]))
}

func sysSetregid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetREGID(uint32(a[0]), uint32(a[1]))
}

func sysSetresuid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetRESUID(uint32(a[0]), uint32(a[1]), uint32(a[2]))
}

func sysSetresgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.SetRESGID(uint32(a[0]), uint32(a[1]), uint32(a[2]))
}

// sysGetgroups: getgroups(size, list); size 0 returns the count.
func sysGetgroups(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	size := int32(a[0])
	gids := t.Credentials().ExtraGIDs
	if size < 0 {
		return 0, linux.EINVAL
	}
	if size == 0 {
		return uintptr(len(gids)), nil
	}
	if int(size) < len(gids) {
		return 0, linux.EINVAL
	}
	b := make([]byte, 4*len(gids))
	for i, g := range gids {
		binary.LittleEndian.PutUint32(b[4*i:], g)
	}
	if _, err := t.CopyOut(a[1], b); err != nil {
		return 0, err
	}
	return uintptr(len(gids)), nil
}

// sysSetgroups: setgroups(size, list).
func sysSetgroups(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	size := int32(a[0])
	if size < 0 || size > ngroupsMax {
		return 0, linux.EINVAL
	}
	b := make([]byte, 4*int(size))
	if _, err := t.CopyIn(a[1], b); err != nil && size > 0 {
		return 0, err
	}
	gids := make([]uint32, size)
	for i := range gids {
		gids[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return 0, t.SetGroups(gids)
}
