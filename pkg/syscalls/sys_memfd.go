package syscalls

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/vfs"
)

// memfd_create: anonymous tmpfs files whose data lives in the memory file,
// so MAP_SHARED mappings of them share pages between processes.

func init() {
	register(linux.SYS_MEMFD_CREATE, sysMemfdCreate, kernel.Path, kernel.Hex)
}

// memfdFlags are the flags memfd_create accepts. MFD_ALLOW_SEALING is
// accepted but seals are not implemented (F_ADD_SEALS fails).
const memfdFlags = linux.MFD_CLOEXEC | linux.MFD_ALLOW_SEALING | linux.MFD_NOEXEC_SEAL | linux.MFD_EXEC

// memfdFS holds every memfd file of the sandbox: a tmpfs never mounted,
// one per memory file.
var memfdFS struct {
	sync.Mutex
	byMF map[*mm.MemoryFile]*tmpfs.FS
}

func memfdFilesystem(mf *mm.MemoryFile) *tmpfs.FS {
	memfdFS.Lock()
	defer memfdFS.Unlock()
	if memfdFS.byMF == nil {
		memfdFS.byMF = map[*mm.MemoryFile]*tmpfs.FS{}
	}
	fs, ok := memfdFS.byMF[mf]
	if !ok {
		fs = tmpfs.New(tmpfs.Options{MemoryFile: mf})
		memfdFS.byMF[mf] = fs
	}
	return fs
}

// sysMemfdCreate: memfd_create(name, flags).
func sysMemfdCreate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := uint32(a[1])
	if flags&^memfdFlags != 0 || (flags&linux.MFD_NOEXEC_SEAL != 0 && flags&linux.MFD_EXEC != 0) {
		return 0, linux.EINVAL
	}
	name, err := t.CopyInString(a[0], linux.MFD_NAME_MAX+1)
	if err == linux.ENAMETOOLONG {
		return 0, linux.EINVAL
	}
	if err != nil {
		return 0, err
	}
	creds := t.Credentials()
	fs := memfdFilesystem(t.MemoryManager().MemoryFile())
	in, impl := fs.NewUnlinkedFile(vfs.CreateOpts{Mode: linux.S_IFREG | 0o777, UID: creds.EffectiveUID, GID: creds.EffectiveGID})
	f := vfs.NewFile(in, impl, linux.O_RDWR|linux.O_LARGEFILE, "/memfd:"+name+" (deleted)")
	return installFile(t, f, flags&linux.MFD_CLOEXEC != 0)
}
