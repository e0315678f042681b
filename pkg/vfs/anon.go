package vfs

// Support for anonymous-inode files (epoll, eventfd): weak references and
// position-less I/O.

// TryIncRef takes a reference unless the file was already released, and
// reports whether it did. Holders of non-owning pointers (an epoll
// interest list, which must not keep a file open) use it.
func (f *File) TryIncRef() bool {
	for {
		n := f.refs.Load()
		if n <= 0 {
			return false
		}
		if f.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// StreamImpl is implemented by FileImpls that have no file position
// whatever their inode's type (eventfd, epoll): reads and writes do not
// take the position lock (so they may block) and pread/pwrite fail with
// linux.ESPIPE, as for FIFOs and sockets.
type StreamImpl interface {
	IsStream() bool
}
