package gofer

import (
	"fmt"
	"log"
	"path/filepath"

	"bulwark.dev/pkg/fsproto"
	"golang.org/x/sys/unix"
)

// openServer opens src (following host symlinks in the path, which comes
// from the trusted spec) and returns a server for it. A directory is
// served from a detached clone of its mount tree made nodev and nosuid
// (and read-only for a read-only source) when the kernel allows, so the
// gofer's own view of the host never changes; otherwise from a plain
// O_PATH fd. A file is served through an O_PATH fd of its directory.
func openServer(src source, l *log.Logger, debug bool) (*fsproto.Server, error) {
	opts := fsproto.ServerOptions{ReadOnly: src.readOnly, Log: l, Debug: debug}
	path, err := filepath.EvalSymlinks(src.path)
	if err != nil {
		return nil, fmt.Errorf("%s source %q: %w", src.what, src.path, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, fmt.Errorf("%s source %q: %w", src.what, path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		dir := filepath.Dir(path)
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("%s source directory %q: %w", src.what, dir, err)
		}
		srv, err := fsproto.NewFileServer(fd, filepath.Base(path), opts)
		if err != nil {
			return nil, fmt.Errorf("%s source %q: %w", src.what, path, err)
		}
		return srv, nil
	}
	fd, err := cloneTree(path, src.readOnly)
	if err != nil {
		if l != nil {
			l.Printf("gofer: %s: no private mount clone of %q (%v); serving it directly", src.what, path, err)
		}
		fd, err = unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("%s source %q: %w", src.what, path, err)
		}
	}
	srv, err := fsproto.NewServer(fd, opts)
	if err != nil {
		return nil, fmt.Errorf("%s source %q: %w", src.what, path, err)
	}
	return srv, nil
}

// cloneTree returns an O_PATH fd of a detached copy of the mount tree at
// dir with device files and set-id bits disabled, and writes too when ro.
func cloneTree(dir string, ro bool) (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.O_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return -1, fmt.Errorf("open_tree: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID}
	if ro {
		attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
	}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("mount_setattr: %w", err)
	}
	return fd, nil
}
