package camera

import (
	"context"
	"sync"

	"github.com/camstream/camstream/services/capture/internal/config"
)

// Set is the cameras of one capture process, in configuration order.
type Set struct {
	cams []*Camera
	byID map[string]*Camera

	mu        sync.Mutex
	listeners []func(id string, s State)
}

// NewSet returns the cameras of cfgs, their loops not yet started.
func NewSet(cfgs []config.Camera, opts Options) *Set {
	s := &Set{byID: make(map[string]*Camera, len(cfgs))}
	for _, cfg := range cfgs {
		c := New(cfg, opts)
		c.onState = s.notify
		s.cams = append(s.cams, c)
		s.byID[cfg.ID] = c
	}
	return s
}

// Get returns the camera with id.
func (s *Set) Get(id string) (*Camera, bool) {
	c, ok := s.byID[id]
	return c, ok
}

// List returns every camera in configuration order.
func (s *Set) List() []*Camera { return s.cams }

// Statuses returns a snapshot of every camera.
func (s *Set) Statuses() []Status {
	out := make([]Status, len(s.cams))
	for i, c := range s.cams {
		out[i] = c.Status()
	}
	return out
}

// OnStateChange calls fn (from the camera's loop, so it must be quick)
// whenever a camera changes state.
func (s *Set) OnStateChange(fn func(id string, st State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, fn)
}

func (s *Set) notify(id string, st State) {
	s.mu.Lock()
	listeners := s.listeners
	s.mu.Unlock()
	for _, fn := range listeners {
		fn(id, st)
	}
}

// Run runs every camera's loop, each in its own goroutine, and returns when
// ctx ends and all of them have closed their sources.
func (s *Set) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range s.cams {
		wg.Go(func() { c.Run(ctx) })
	}
	wg.Wait()
}
