package vfs

import (
	"strings"

	"bulwark.dev/pkg/abi/linux"
)

// OpenHow is struct open_how of openat2(2).
type OpenHow struct {
	Flags   uint64
	Mode    uint64
	Resolve uint64
}

// validOpenFlags are the flags openat2 accepts (it rejects the others,
// where open(2) ignores them).
const validOpenFlags = linux.O_ACCMODE | linux.O_CREAT | linux.O_EXCL | linux.O_NOCTTY | linux.O_TRUNC |
	linux.O_APPEND | linux.O_NONBLOCK | linux.O_DSYNC | linux.O_ASYNC | linux.O_DIRECT | linux.O_LARGEFILE |
	linux.O_DIRECTORY | linux.O_NOFOLLOW | linux.O_NOATIME | linux.O_CLOEXEC | linux.O_PATH | linux.O_TMPFILE |
	linux.O_SYNC

const validResolve = linux.RESOLVE_NO_XDEV | linux.RESOLVE_NO_MAGICLINKS | linux.RESOLVE_NO_SYMLINKS |
	linux.RESOLVE_BENEATH | linux.RESOLVE_IN_ROOT | linux.RESOLVE_CACHED

// OpenAt2 implements openat2(2). It validates how like Linux and
// approximates the RESOLVE_* rules: RESOLVE_IN_ROOT and RESOLVE_BENEATH
// resolve with dir as the root (BENEATH also fails with linux.EXDEV for
// absolute paths and ".." above dir); RESOLVE_NO_SYMLINKS,
// RESOLVE_NO_MAGICLINKS (symlinks of proc) and RESOLVE_NO_XDEV check each
// prefix of the path before opening it.
func OpenAt2(ctx Context, fs *FSContext, dir *File, path string, how OpenHow) (*File, error) {
	if how.Flags&^uint64(validOpenFlags) != 0 || how.Resolve&^uint64(validResolve) != 0 {
		return nil, linux.EINVAL
	}
	flags := uint32(how.Flags)
	if how.Mode&^uint64(linux.PermMask) != 0 {
		return nil, linux.EINVAL
	}
	if how.Mode != 0 && flags&linux.O_CREAT == 0 && flags&linux.O_TMPFILE != linux.O_TMPFILE {
		return nil, linux.EINVAL
	}
	if flags&linux.O_PATH != 0 && flags&^(linux.O_PATH|linux.O_DIRECTORY|linux.O_NOFOLLOW|linux.O_CLOEXEC) != 0 {
		return nil, linux.EINVAL
	}
	if flags&linux.O_TMPFILE == linux.O_TMPFILE && flags&linux.O_CREAT != 0 {
		return nil, linux.EINVAL
	}
	if tmp := uint32(linux.O_TMPFILE &^ linux.O_DIRECTORY); flags&tmp != 0 && flags&linux.O_DIRECTORY == 0 {
		return nil, linux.EINVAL // __O_TMPFILE without O_DIRECTORY
	}
	res := uint32(how.Resolve)
	if res&linux.RESOLVE_BENEATH != 0 && res&linux.RESOLVE_IN_ROOT != 0 {
		return nil, linux.EINVAL
	}
	if res&linux.RESOLVE_CACHED != 0 && flags&(linux.O_TRUNC|linux.O_CREAT|linux.O_TMPFILE) != 0 {
		return nil, linux.EAGAIN
	}
	if res&(linux.RESOLVE_BENEATH|linux.RESOLVE_IN_ROOT) != 0 {
		if res&linux.RESOLVE_BENEATH != 0 && escapes(path) {
			return nil, linux.EXDEV
		}
		start := fs.Cwd()
		if dir != nil {
			if start = dir.loc; !start.ok() {
				return nil, linux.ENOTDIR
			}
		}
		fs = &FSContext{ns: fs.ns, root: start, cwd: start, umask: fs.Umask()}
		dir = nil
		path = strings.TrimLeft(path, "/")
		if path == "" {
			path = "."
		}
	}
	if res&(linux.RESOLVE_NO_SYMLINKS|linux.RESOLVE_NO_MAGICLINKS|linux.RESOLVE_NO_XDEV) != 0 {
		if err := checkPrefixes(ctx, fs, dir, path, flags, res); err != nil {
			return nil, err
		}
	}
	return OpenAt(ctx, fs, dir, path, flags, uint32(how.Mode))
}

// escapes reports whether path is absolute or climbs above its start.
func escapes(path string) bool {
	if strings.HasPrefix(path, "/") {
		return true
	}
	depth := 0
	for _, c := range strings.Split(path, "/") {
		switch c {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// checkPrefixes looks up each prefix of path without following its last
// component and applies RESOLVE_NO_SYMLINKS (linux.ELOOP), NO_MAGICLINKS
// (linux.ELOOP for proc's links) and NO_XDEV (linux.EXDEV when the mount
// changes). A missing component ends the checks (open reports it).
func checkPrefixes(ctx Context, fs *FSContext, dir *File, path string, flags, res uint32) error {
	startMount := fs.Cwd().Mount
	if strings.HasPrefix(path, "/") {
		startMount = fs.RootDir().Mount
	} else if dir != nil {
		startMount = dir.loc.Mount
	}
	comps := strings.Split(path, "/")
	prefix := ""
	if strings.HasPrefix(path, "/") {
		prefix = "/"
	}
	for i, c := range comps {
		if c == "" {
			continue
		}
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		prefix += c
		l, err := lookupAt(ctx, fs, dir, prefix, linux.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return nil
		}
		if res&linux.RESOLVE_NO_XDEV != 0 && l.Mount != startMount {
			return linux.EXDEV
		}
		a, err := cachedStat(ctx, l.Dentry.inode)
		if err != nil || a.Type() != linux.S_IFLNK {
			continue
		}
		last := true
		for _, rest := range comps[i+1:] {
			if rest != "" {
				last = false
			}
		}
		if last && flags&linux.O_NOFOLLOW != 0 && flags&linux.O_PATH != 0 {
			continue
		}
		if res&linux.RESOLVE_NO_SYMLINKS != 0 {
			return linux.ELOOP
		}
		if res&linux.RESOLVE_NO_MAGICLINKS != 0 && l.Mount.fs.Name() == "proc" {
			return linux.ELOOP
		}
	}
	return nil
}
