// Package reload keeps a running capture's cameras in step with its camera
// file. It watches the directories holding the file and the credential
// files it references (${file:PATH}), and reloads on SIGHUP too. A reload
// that loads applies the cameras (the caller diffs them by id); one that
// does not (bad, half-written, missing file) changes nothing.
//
// It watches directories, not files: the kubelet updates a mounted
// ConfigMap or Secret by swapping a "..data" symlink, and editors write a
// new file and rename it over the old one; either replaces the file a
// watch on it would follow. Every event in a watched directory leads,
// after a short quiet time, to reading the files afresh (symlinks resolved
// anew); the reload happens only when what was read differs from the last
// attempt, so a swap, a rename-write and an in-place write each make one.
package reload

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
)

// Default quiet times: a reload waits for DefaultDebounce without events,
// but at most maxWait after the first one.
const (
	DefaultDebounce = 100 * time.Millisecond
	maxWait         = time.Second
)

// Observer is told the outcome of every reload (for metrics).
type Observer interface {
	ConfigReloaded(ok bool, at time.Time)
}

// Options configure a Reloader. Path, Apply and Logger are required.
type Options struct {
	// Path is the camera file.
	Path string
	// Getenv resolves ${NAME} in the file.
	Getenv func(string) string
	// Apply makes the loaded cameras the running ones.
	Apply  func([]config.Camera) camera.Changes
	Logger *slog.Logger
	// Observer, if set, is told each reload's outcome.
	Observer Observer
	// Debounce is the quiet time after an event before reading; 0 means
	// DefaultDebounce.
	Debounce time.Duration
}

// Reloader reloads the camera file. Its Run owns all its state.
type Reloader struct {
	opts Options
	log  *slog.Logger
	// last is the fingerprint of what the last attempt read.
	last [sha256.Size]byte
	// dirs are the directories of the files the last attempt read.
	dirs []string
}

// New returns a reloader; Run starts it.
func New(opts Options) *Reloader {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	return &Reloader{opts: opts, log: opts.Logger.With("file", opts.Path)}
}

// attempt is what one read of the camera file and its credential files
// gave.
type attempt struct {
	cams  []config.Camera
	err   error
	sum   [sha256.Size]byte // of every file read, its path and content
	paths []string          // the files read, as named and as resolved
}

// read loads the camera file, recording every file it reads.
func (r *Reloader) read() attempt {
	h := sha256.New()
	var a attempt
	readFile := func(path string) ([]byte, error) {
		data, err := os.ReadFile(path)
		fmt.Fprintf(h, "%q %d %v\n", path, len(data), err)
		h.Write(data)
		a.paths = append(a.paths, path)
		if resolved, rerr := filepath.EvalSymlinks(path); rerr == nil && resolved != path {
			a.paths = append(a.paths, resolved)
		}
		return data, err
	}
	data, err := readFile(r.opts.Path)
	if err != nil {
		a.err = fmt.Errorf("camera file: %w", err)
	} else if a.cams, err = config.Parse(data, config.Env{Getenv: r.opts.Getenv, ReadFile: readFile}); err != nil {
		a.err = fmt.Errorf("camera file %s: %w", r.opts.Path, err)
	}
	h.Sum(a.sum[:0])
	return a
}

// check reads the files and reloads when they differ from the last
// attempt, or always when forced (SIGHUP). The first check after start
// sets the baseline: the cameras were loaded a moment ago, so it reports
// only what changed since.
func (r *Reloader) check(why string, forced, baseline bool) {
	a := r.read()
	r.dirs = dirsOf(r.opts.Path, a.paths)
	if a.sum == r.last && !forced && !baseline {
		return
	}
	r.last = a.sum
	now := time.Now()
	if a.err != nil {
		r.log.Error("camera file not reloaded: the running cameras stay", "trigger", why, "error", a.err)
		r.observe(false, now)
		return
	}
	ch := r.opts.Apply(a.cams)
	if baseline && ch.Empty() {
		return
	}
	r.log.Info("camera file reloaded", "trigger", why, "cameras", len(a.cams),
		"added", ids(ch.Added), "changed", ids(ch.Changed), "removed", ids(ch.Removed))
	r.observe(true, now)
}

func (r *Reloader) observe(ok bool, at time.Time) {
	if r.opts.Observer != nil {
		r.opts.Observer.ConfigReloaded(ok, at)
	}
}

// ids prints no cameras as [], not null.
func ids(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// dirsOf is the directories to watch: the camera file's, and those of
// every file read, as named and as resolved, without repeats.
func dirsOf(path string, paths []string) []string {
	seen := map[string]bool{}
	var dirs []string
	for _, p := range append([]string{path}, paths...) {
		d := filepath.Dir(p)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
}
