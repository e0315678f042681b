package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gofrs/flock"
)

// Files inside a container's state directory <root>/<id>.
const (
	metaFile = "meta.json" // the Container, replaced atomically
	lockFile = "meta.lock" // flock(2) serializing read-modify-write of meta.json
)

// maxIDLen keeps <root>/<id> a valid file name.
const maxIDLen = 255

// ValidateID checks id with runc's rule: one or more of [A-Za-z0-9_+.-],
// and not "." or "..".
func ValidateID(id string) error {
	bad := id == "" || id == "." || id == ".." || len(id) > maxIDLen
	for i := 0; i < len(id) && !bad; i++ {
		bad = !idChar(id[i])
	}
	if bad {
		return fmt.Errorf("invalid container id %q: must be 1 to %d characters of [A-Za-z0-9_+.-] and not \".\" or \"..\"", id, maxIDLen)
	}
	return nil
}

func idChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '+' || c == '-' || c == '.'
}

// IDs returns the ids of the containers under root, sorted. A missing root
// holds no containers.
func IDs(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state directory %q: %w", root, err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// FindID resolves a container id given in full or as a prefix: an exact
// match wins, otherwise the prefix must match exactly one container.
func FindID(root, partial string) (string, error) {
	if err := ValidateID(partial); err != nil {
		return "", err
	}
	if fi, err := os.Stat(filepath.Join(root, partial)); err == nil && fi.IsDir() {
		return partial, nil
	}
	ids, err := IDs(root)
	if err != nil {
		return "", err
	}
	var found []string
	for _, id := range ids {
		if strings.HasPrefix(id, partial) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", notExist(partial)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("container id %q is ambiguous: it is a prefix of %s", partial, strings.Join(found, ", "))
	}
}

// ErrNotExist is matched (errors.Is) by the error for an unknown container.
var ErrNotExist = errors.New("container does not exist")

type notExistError struct{ id string }

func (e notExistError) Error() string        { return fmt.Sprintf("container %q does not exist", e.id) }
func (e notExistError) Is(target error) bool { return target == ErrNotExist }

func notExist(id string) error { return notExistError{id} }

// lockDir takes the container's meta.lock, exclusive or shared, blocking.
// A missing directory means the container does not exist.
func lockDir(root, id string, exclusive bool) (*flock.Flock, error) {
	l := flock.New(filepath.Join(root, id, lockFile))
	lock := l.RLock
	if exclusive {
		lock = l.Lock
	}
	if err := lock(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notExist(id)
		}
		return nil, fmt.Errorf("locking container %q: %w", id, err)
	}
	return l, nil
}

// lockHeld reports whether some process holds the container's lock, i.e.
// a shared lock cannot be taken right now.
func lockHeld(root, id string) bool {
	l := flock.New(filepath.Join(root, id, lockFile))
	ok, err := l.TryRLock()
	if err != nil {
		return false
	}
	if ok {
		l.Unlock()
	}
	return !ok
}

// writeFileAtomic replaces path with data so that a crash at any point
// leaves the old or the new content: it writes a temp file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory.
// Leftover temp files (".<name>.tmp-*") are never read.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
