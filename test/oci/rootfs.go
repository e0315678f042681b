package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// tarballName is the root filesystem tarball the validation programs unpack
// into every bundle, by this relative name.
var tarballName = fmt.Sprintf("rootfs-%s.tar.gz", runtime.GOARCH)

// writeRootfsTarball packs the tree at rootfs into dir/<tarballName>, in the
// shape of upstream's tarball: entries "./bin/busybox", "./bin/sh" ->
// busybox and so on, owned by root. The file is written under a temporary
// name and renamed into place.
func writeRootfsTarball(rootfs, dir string) error {
	dst := filepath.Join(dir, tarballName)
	f, err := os.CreateTemp(dir, tarballName+".tmp-")
	if err != nil {
		return fmt.Errorf("creating the rootfs tarball: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return addToTar(tw, rootfs, p, d)
	})
	if err != nil {
		return fmt.Errorf("packing %q: %w", rootfs, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", dst, err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", dst, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", dst, err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("installing %q: %w", dst, err)
	}
	return nil
}

// addToTar writes one entry of the tree rooted at root.
func addToTar(tw *tar.Writer, root, p string, d fs.DirEntry) error {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return err
	}
	info, err := d.Info()
	if err != nil {
		return err
	}
	var link string
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = "./" + filepath.ToSlash(rel)
	if rel == "." {
		hdr.Name = "./"
	} else if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "root", "root"
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	in, err := os.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = io.Copy(tw, in)
	return err
}
