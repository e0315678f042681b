// Package fsproto is the gofer wire protocol: messages exchanged over one
// SOCK_SEQPACKET socketpair per mount, the client half used by the sandbox's
// gofer filesystem and the server half used by the gofer, with host fds
// donated by SCM_RIGHTS.
//
// # Messages
//
// Every message is one SOCK_SEQPACKET record of at most MaxMessage bytes: a
// 12-byte little-endian header followed by a body.
//
//	offset 0  uint32 length of the whole message, header included
//	offset 4  uint32 tag: chosen by the client, echoed in the reply
//	offset 8  uint16 type: the operation; a reply carries its request's type
//	offset 10 uint16 errno: 0 in requests; in a reply 0 (the body holds the
//	                 result) or a Linux errno (the body is empty)
//
// Bodies are fixed sequences of little-endian fields: FIDs are uint64,
// strings are a uint16 length and the bytes, an Attr is 4 uint32 (mode,
// uid, gid, blksize) then 9 uint64/int64 (nlink, size, blocks, ino, dev,
// rdev, atime, mtime, ctime in unix nanoseconds).
//
//	type        request                              reply
//	attach      -                                    fid attr
//	walk        dir name                             fid attr
//	walkparent  fid                                  fid attr
//	stat        fid                                  attr
//	open        fid flags:u32                        - (+ fd)
//	readdir     dir cookie:u64                       cookie:u64 eof:u8 n:u32 n×(ino:u64 type:u8 name)
//	readlink    fid                                  target
//	create      dir name flags mode uid gid (u32s)   fid attr (+ fd)
//	mkdir       dir name mode uid gid                fid attr
//	mknod       dir name mode uid gid                fid attr
//	symlink     dir name target uid gid              fid attr
//	link        dir name target:fid                  attr
//	unlink      dir name flags:u32                   -
//	rename      olddir oldname newdir newname        -
//	setattr     fid mask mode uid gid (u32s) size:u64 atime mtime (i64s)   -
//	statfs      fid                                  8×u64
//	release     fid                                  -
//
// Open and create donate one host fd with SCM_RIGHTS alongside the reply.
// Readdir pages: the client starts with cookie 0 and repeats with the
// returned cookie until eof is set. Requests never carry fds. Tags let a
// client have many requests outstanding; the server serves up to 8 of a
// connection's requests at once and replies in any order.
//
// # Server rules
//
// The server holds an O_PATH fd for every FID and never resolves a host
// path of more than one component: a walk is openat(dirfd, name,
// O_PATH|O_NOFOLLOW), a name that is empty, ".", ".." or contains "/" is
// refused with EINVAL, walkparent is answered from the server's own record
// of parents and never climbs above the mount root, and files are opened
// for I/O by openat(parentfd, name, flags|O_NOFOLLOW) and checked to still
// be the same inode. Symlinks are never followed: their targets are
// returned by readlink for the sandbox to resolve in its own mount tree.
// Device nodes are never opened (EPERM), FIFOs are opened non-blocking, and
// a read-only server fails every change with EROFS.
package fsproto
