package reload

import (
	"context"
	"errors"
	"os"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run watches the files and reloads on changes and on every value from
// hup, until ctx ends. Without a working file watcher (inotify limits) it
// logs why and reloads on hup only.
func (r *Reloader) Run(ctx context.Context, hup <-chan os.Signal) {
	w, events, errs := r.watcher()
	if w != nil {
		defer w.Close()
	}
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	// Watch, then read, then watch what the files named, then read again
	// (a no-op unless something changed meanwhile): no change is missed.
	reload := func(why string, forced, baseline bool) {
		r.check(why, forced, baseline)
		if r.sync(w) {
			quiet.Reset(r.opts.Debounce)
		}
	}
	r.sync(w)
	reload("start", false, true)
	var first time.Time // of the events not yet acted on; zero when none
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload("SIGHUP", true, false)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			quiet.Reset(min(r.opts.Debounce, first.Add(maxWait).Sub(now)))
		case <-quiet.C:
			first = time.Time{}
			reload("file changed", false, false)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflow lost events: read the files, in case.
			r.log.Warn("camera file watcher", "error", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				quiet.Reset(r.opts.Debounce)
			}
		}
	}
}

// sync makes w watch the directories of the last attempt (or, before
// any, the camera file's) and reports whether it added one. A directory
// that cannot be watched (it does not exist yet) is tried again after the
// next reload; one that was deleted lost its watch with it and is added
// again once it is back.
func (r *Reloader) sync(w *fsnotify.Watcher) (added bool) {
	if w == nil {
		return false
	}
	want := r.dirs
	if len(want) == 0 {
		want = dirsOf(r.opts.Path, nil)
	}
	have := w.WatchList()
	for _, d := range have {
		if !slices.Contains(want, d) {
			_ = w.Remove(d) // may be gone already, with its watch
		}
	}
	for _, d := range want {
		if slices.Contains(have, d) {
			continue
		}
		if err := w.Add(d); err != nil {
			r.log.Debug("directory not watched", "dir", d, "error", err)
			continue
		}
		added = true
	}
	return added
}

// watcher starts watching for file events. Without one (the system
// refuses), it returns nil channels: reloads come only with SIGHUP.
func (r *Reloader) watcher() (*fsnotify.Watcher, <-chan fsnotify.Event, <-chan error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		r.log.Warn("camera file not watched: reload it with SIGHUP", "error", err)
		return nil, nil, nil
	}
	return w, w.Events, w.Errors
}
