package vfs

import "bulwark.dev/pkg/abi/linux"

// AttrToStatx converts attributes to struct statx (all basic fields valid).
func AttrToStatx(a Attr) linux.Statx {
	blk := a.BlkSize
	if blk == 0 {
		blk = 4096
	}
	blocks := a.Blocks
	if blocks == 0 && a.Size > 0 && a.Type() == linux.S_IFREG {
		blocks = (a.Size + 511) / 512
	}
	ts := func(t linux.Timespec) linux.StatxTimestamp {
		return linux.StatxTimestamp{Sec: t.Sec, Nsec: uint32(t.Nsec)}
	}
	return linux.Statx{
		Mask:      linux.STATX_BASIC_STATS,
		Blksize:   blk,
		Nlink:     a.Nlink,
		UID:       a.UID,
		GID:       a.GID,
		Mode:      uint16(a.Mode),
		Ino:       a.Ino,
		Size:      uint64(a.Size),
		Blocks:    uint64(blocks),
		Atime:     ts(a.Atime),
		Ctime:     ts(a.Ctime),
		Mtime:     ts(a.Mtime),
		RdevMajor: DevMajor(a.Rdev),
		RdevMinor: DevMinor(a.Rdev),
		DevMajor:  DevMajor(a.Dev),
		DevMinor:  DevMinor(a.Dev),
	}
}

// StatxToStat converts struct statx to struct stat.
func StatxToStat(s linux.Statx) linux.Stat {
	ts := func(t linux.StatxTimestamp) linux.Timespec {
		return linux.Timespec{Sec: t.Sec, Nsec: int64(t.Nsec)}
	}
	return linux.Stat{
		Dev:     uint64(MakeDev(s.DevMajor, s.DevMinor)),
		Ino:     s.Ino,
		Nlink:   uint64(s.Nlink),
		Mode:    uint32(s.Mode),
		UID:     s.UID,
		GID:     s.GID,
		Rdev:    uint64(MakeDev(s.RdevMajor, s.RdevMinor)),
		Size:    int64(s.Size),
		Blksize: int64(s.Blksize),
		Blocks:  int64(s.Blocks),
		ATime:   ts(s.Atime),
		MTime:   ts(s.Mtime),
		CTime:   ts(s.Ctime),
	}
}
