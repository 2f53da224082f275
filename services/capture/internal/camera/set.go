package camera

import (
	"context"
	"sync"

	"github.com/camstream/camstream/services/capture/internal/config"
)

// Set is the cameras of one capture process, in configuration order. Apply
// changes them while they run.
type Set struct {
	opts Options

	mu     sync.RWMutex
	cams   []*Camera // replaced, never modified, by Apply
	byID   map[string]*Camera
	runCtx context.Context // while Run runs: the parent of every loop
	loops  sync.WaitGroup

	// notifyMu orders state changes and removals for the listeners, so
	// that a late state change of a removed camera is never reported
	// after its removal.
	notifyMu  sync.Mutex
	listeners []func(id string, s State)
	removals  []func(id string)
}

// Changes is what Apply did, by camera id.
type Changes struct {
	Added, Changed, Removed []string
}

// Empty reports whether Apply changed nothing.
func (ch Changes) Empty() bool {
	return len(ch.Added)+len(ch.Changed)+len(ch.Removed) == 0
}

// NewSet returns the cameras of cfgs, their loops not yet started.
func NewSet(cfgs []config.Camera, opts Options) *Set {
	s := &Set{opts: opts, byID: make(map[string]*Camera, len(cfgs))}
	for _, cfg := range cfgs {
		c := s.newCamera(cfg)
		s.cams = append(s.cams, c)
		s.byID[cfg.ID] = c
	}
	return s
}

func (s *Set) newCamera(cfg config.Camera) *Camera {
	c := New(cfg, s.opts)
	c.onState = s.notify
	return c
}

// Get returns the camera with id.
func (s *Set) Get(id string) (*Camera, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byID[id]
	return c, ok
}

// List returns every camera in configuration order. The slice must not be
// modified.
func (s *Set) List() []*Camera {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cams
}

// Statuses returns a snapshot of every camera.
func (s *Set) Statuses() []Status {
	cams := s.List()
	out := make([]Status, len(cams))
	for i, c := range cams {
		out[i] = c.Status()
	}
	return out
}

// OnStateChange calls fn (from the camera's loop, so it must be quick)
// whenever a camera changes state, and with the state of each camera that
// Apply adds.
func (s *Set) OnStateChange(fn func(id string, st State)) {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	s.listeners = append(s.listeners, fn)
}

// OnRemove calls fn (it must be quick) for each camera Apply removes.
func (s *Set) OnRemove(fn func(id string)) {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	s.removals = append(s.removals, fn)
}

// notify reports a state change of c, unless c has left the set.
func (s *Set) notify(c *Camera, st State) {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if cur, ok := s.Get(c.ID()); !ok || cur != c {
		return
	}
	for _, fn := range s.listeners {
		fn(c.ID(), st)
	}
}

// Run runs every camera's loop, each in its own goroutine, and those of
// cameras Apply adds, and returns when ctx ends and all of them (removed
// cameras' too) have closed their sources.
func (s *Set) Run(ctx context.Context) {
	s.mu.Lock()
	s.runCtx = ctx
	for _, c := range s.cams {
		s.start(c)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.runCtx = nil // no loop starts from here on
	s.mu.Unlock()
	s.loops.Wait()
}

// start runs c's loop while the set runs; s.mu is held.
func (s *Set) start(c *Camera) {
	if s.runCtx == nil {
		return
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	c.stopLoop = cancel
	s.loops.Go(func() {
		defer cancel()
		c.Run(ctx)
	})
}

// Apply makes cfgs (valid, with unique ids) the set's cameras, in their
// order, comparing by id: a camera whose settings are Equal keeps running
// untouched (same loop, same subscribers); a changed one restarts its loop
// with the new settings and keeps its subscribers; a removed one stops, its
// subscribers' Life ends, and the OnRemove listeners are told; an added
// one starts (idle if on demand) and is listed, and reported to the
// OnStateChange listeners, before Apply returns.
func (s *Set) Apply(cfgs []config.Camera) Changes {
	var ch Changes
	s.mu.Lock()
	cams := make([]*Camera, 0, len(cfgs))
	byID := make(map[string]*Camera, len(cfgs))
	var added []*Camera
	for _, cfg := range cfgs {
		c, ok := s.byID[cfg.ID]
		switch {
		case !ok:
			c = s.newCamera(cfg)
			added = append(added, c)
			ch.Added = append(ch.Added, cfg.ID)
		case !c.Config().Equal(cfg):
			c.Reconfigure(cfg)
			ch.Changed = append(ch.Changed, cfg.ID)
		}
		cams = append(cams, c)
		byID[cfg.ID] = c
	}
	var removed []*Camera
	for _, c := range s.cams {
		if byID[c.ID()] != c {
			removed = append(removed, c)
			ch.Removed = append(ch.Removed, c.ID())
		}
	}
	s.cams, s.byID = cams, byID
	for _, c := range removed {
		c.remove()
		if c.stopLoop != nil {
			c.stopLoop()
		}
		c.log.Info("camera removed")
	}
	for _, c := range added {
		s.start(c)
		c.log.Info("camera added", "source", c.Config().Source, "sub_source", c.Config().SubSource)
	}
	s.mu.Unlock()

	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	for _, c := range removed {
		for _, fn := range s.removals {
			fn(c.ID())
		}
	}
	for _, c := range added {
		for _, fn := range s.listeners {
			fn(c.ID(), c.State())
		}
	}
	return ch
}
