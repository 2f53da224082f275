// Package reload keeps a value read from files up to date with them: a
// certificate and its key, an access file. Files mounted from a Kubernetes
// Secret are replaced in place when the Secret changes (cert-manager renews
// a certificate that way), and the edge must follow without restarting.
package reload

import (
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"
)

// checkEvery is how often, at most, the files are looked at: a stat per
// file on the first use after it, so a busy server does not stat on every
// request and an idle one does not poll at all.
const checkEvery = time.Second

// File is a value loaded from files, loaded again on first use after any
// of them changes (size, modification time or the file itself, as when a
// Secret's symlink is swapped). A load that fails keeps the previous value:
// a half-written pair of files is retried on the next change check. Safe
// for concurrent use.
type File[T any] struct {
	paths []string
	load  func() (T, error)
	log   *slog.Logger
	now   func() time.Time

	mu    sync.Mutex
	val   T
	stamp []stamp
	next  time.Time // no check before then
}

// stamp identifies a version of a file.
type stamp struct {
	size  int64
	mtime time.Time
	ino   any // os.FileInfo.Sys(): changes when the file is replaced
}

// New loads the value once (its error is returned: bad files at start are
// a configuration error) and returns the File that keeps it current.
func New[T any](log *slog.Logger, load func() (T, error), paths ...string) (*File[T], error) {
	f := &File[T]{paths: paths, load: load, log: log, now: time.Now}
	f.stamp = f.stat()
	v, err := load()
	if err != nil {
		return nil, err
	}
	f.val = v
	f.next = f.now().Add(checkEvery)
	return f, nil
}

// Get returns the current value, loading it again first when a file has
// changed since it was loaded.
func (f *File[T]) Get() T {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if now.Before(f.next) {
		return f.val
	}
	f.next = now.Add(checkEvery)
	st := f.stat()
	if slices.EqualFunc(st, f.stamp, stamp.same) {
		return f.val
	}
	v, err := f.load()
	if err != nil {
		// Not stored: the next check tries again, since the stamp differs.
		f.log.Warn("reload: keeping the previous version", "files", f.paths, "err", err)
		return f.val
	}
	f.val, f.stamp = v, st
	f.log.Info("reloaded", "files", f.paths)
	return f.val
}

func (f *File[T]) stat() []stamp {
	st := make([]stamp, len(f.paths))
	for i, p := range f.paths {
		if fi, err := os.Stat(p); err == nil {
			st[i] = stamp{size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi)}
		}
	}
	return st
}

func (a stamp) same(b stamp) bool {
	return a.size == b.size && a.mtime.Equal(b.mtime) && a.ino == b.ino
}
