package vfs

import (
	"strings"

	"bulwark.dev/pkg/abi/linux"
)

// resolver walks paths one component at a time in a mount namespace,
// following symlinks in the sandbox's own tree.
type resolver struct {
	ctx   Context
	ns    *MountNamespace
	root  Location // the caller's root: ".." stops here
	links int      // symlinks followed so far
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// attrOf returns the attributes of l's inode used during walks.
func (r *resolver) attrOf(l Location) (Attr, error) {
	return cachedStat(r.ctx, l.Dentry.inode)
}

// checkSearch checks that dir is a directory the caller may search.
func (r *resolver) checkSearch(dir Location) error {
	a, err := r.attrOf(dir)
	if err != nil {
		return err
	}
	if a.Type() != linux.S_IFDIR {
		return linux.ENOTDIR
	}
	return CheckPermission(r.ctx.Credentials(), a, MayExec)
}

// parentOf returns the location of ".." of l.
func (r *resolver) parentOf(l Location) Location {
	for {
		if l == r.root {
			return l
		}
		if l.Dentry == l.Mount.root {
			if l.Mount.parent == nil {
				return l
			}
			l = Location{l.Mount.parent, l.Mount.point}
			continue
		}
		renameMu.RLock()
		p := l.Dentry.parent
		renameMu.RUnlock()
		if p == nil {
			return l
		}
		return r.ns.followMounts(Location{l.Mount, p})
	}
}

// step moves from directory dir to its component name. It follows a
// symlink at name when follow is set, and requires a directory when
// mustDir is set.
func (r *resolver) step(dir Location, name string, follow, mustDir bool) (Location, error) {
	if err := r.checkSearch(dir); err != nil {
		return Location{}, err
	}
	var next Location
	switch name {
	case ".":
		next = dir
	case "..":
		next = r.parentOf(dir)
	default:
		if len(name) > linux.NAME_MAX {
			return Location{}, linux.ENAMETOOLONG
		}
		d, err := dir.Dentry.lookup(r.ctx, name)
		if err != nil {
			return Location{}, err
		}
		next = r.ns.followMounts(Location{dir.Mount, d})
	}
	a, err := r.attrOf(next)
	if err != nil {
		return Location{}, err
	}
	if a.Type() == linux.S_IFLNK && follow {
		return r.followLink(dir, next, mustDir)
	}
	if mustDir && a.Type() != linux.S_IFDIR {
		return Location{}, linux.ENOTDIR
	}
	return next, nil
}

// followLink resolves the symlink at link found in directory dir.
func (r *resolver) followLink(dir, link Location, mustDir bool) (Location, error) {
	r.links++
	if r.links > linux.MAXSYMLINKS {
		return Location{}, linux.ELOOP
	}
	if m, ok := link.Dentry.inode.(MagicLink); ok {
		return r.followMagic(m, mustDir)
	}
	sl, ok := link.Dentry.inode.(SymlinkInode)
	if !ok {
		return Location{}, linux.EIO
	}
	target, err := sl.Readlink(r.ctx)
	if err != nil {
		return Location{}, err
	}
	if target == "" {
		return Location{}, linux.ENOENT
	}
	if mustDir && !strings.HasSuffix(target, "/") {
		target += "/"
	}
	return r.resolve(dir, target, true)
}

// resolveParent walks all but the last component of p from start (or the
// root when p is absolute). It returns the directory, the last component
// ("" when p names the root or only slashes) and whether p ends in "/".
func (r *resolver) resolveParent(start Location, p string) (Location, string, bool, error) {
	if p == "" {
		return Location{}, "", false, linux.ENOENT
	}
	if len(p) >= linux.PATH_MAX {
		return Location{}, "", false, linux.ENAMETOOLONG
	}
	cur := start
	if p[0] == '/' {
		cur = r.root
	}
	if !cur.ok() {
		return Location{}, "", false, linux.ENOTDIR
	}
	comps := splitPath(p)
	trailing := strings.HasSuffix(p, "/")
	if len(comps) == 0 {
		return cur, "", true, nil
	}
	for _, c := range comps[:len(comps)-1] {
		next, err := r.step(cur, c, true, true)
		if err != nil {
			return Location{}, "", false, err
		}
		cur = next
	}
	if err := r.checkSearch(cur); err != nil {
		return Location{}, "", false, err
	}
	return cur, comps[len(comps)-1], trailing, nil
}

// resolve walks p from start. follow says whether a final symlink is
// followed (always when p ends in "/", which also requires a directory).
func (r *resolver) resolve(start Location, p string, follow bool) (Location, error) {
	dir, last, trailing, err := r.resolveParent(start, p)
	if err != nil {
		return Location{}, err
	}
	if last == "" {
		return dir, nil
	}
	return r.step(dir, last, follow || trailing, trailing)
}
