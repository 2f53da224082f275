package camera

import (
	"context"
	"image"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/source"
)

// openers gives each camera id its own scripted opener.
type openers struct {
	mu sync.Mutex
	by map[string]*opener
}

func (o *openers) open(ctx context.Context, src config.Source, opts source.Options) (source.Source, error) {
	o.mu.Lock()
	op := o.by[opts.Name]
	o.mu.Unlock()
	return op.open(ctx, src, opts)
}

func (o *openers) of(id string) *opener {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.by[id] == nil {
		o.by[id] = &opener{make: func() *fake { return &fake{interval: 5 * time.Millisecond} }}
	}
	return o.by[id]
}

// runSet runs s until the test ends.
func runSet(t *testing.T, s *Set) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(wait):
			t.Error("the set's loops did not stop after its context ended")
		}
	})
}

// A reload by camera id: the unchanged camera keeps its source open and
// its frame sequence; the changed one reopens with its new settings while
// its subscriber keeps waiting on the same camera and gets the new size;
// the removed one closes its source and ends its Life; the added one
// streams and is reported at once.
func TestSetApply(t *testing.T) {
	srcs := &openers{by: make(map[string]*opener)}
	for _, id := range []string{"same", "resized", "gone", "new"} {
		srcs.of(id)
	}
	srcs.of("resized").make = func() *fake { return &fake{interval: 5 * time.Millisecond, size: image.Pt(160, 120)} }
	opts := quietOptions()
	opts.Open = srcs.open
	cfgs := []config.Camera{testCamera(t, "same", "test://"), testCamera(t, "resized", "test://"), testCamera(t, "gone", "test://")}
	s := NewSet(cfgs, opts)
	var mu sync.Mutex
	var events []string
	s.OnStateChange(func(id string, st State) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, id+"="+st.String())
	})
	s.OnRemove(func(id string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, id+" removed")
	})
	runSet(t, s)
	same, _ := s.Get("same")
	resized, _ := s.Get("resized")
	gone, _ := s.Get("gone")
	for _, c := range []*Camera{same, resized, gone} {
		waitState(t, c, StateStreaming)
	}
	before := frames(t, same, 2)
	release := resized.Subscribe()
	defer release()

	bigger := testCamera(t, "resized", "test://")
	bigger.Width = 320
	ch := s.Apply([]config.Camera{testCamera(t, "new", "test://"), cfgs[0], bigger})

	want := Changes{Added: []string{"new"}, Changed: []string{"resized"}, Removed: []string{"gone"}}
	if !slices.Equal(ch.Added, want.Added) || !slices.Equal(ch.Changed, want.Changed) || !slices.Equal(ch.Removed, want.Removed) {
		t.Errorf("Apply = %+v, want %+v", ch, want)
	}
	var ids []string
	for _, c := range s.List() {
		ids = append(ids, c.ID())
	}
	if !slices.Equal(ids, []string{"new", "same", "resized"}) {
		t.Errorf("cameras after Apply = %v, want new, same, resized in the file's order", ids)
	}
	if _, ok := s.Get("gone"); ok {
		t.Error("the removed camera is still in the set")
	}
	if !gone.Removed() || gone.Life().Err() == nil {
		t.Error("the removed camera's Life did not end")
	}
	mu.Lock()
	if !slices.Contains(events, "gone removed") || !slices.Contains(events, "new=starting") {
		t.Errorf("listeners heard %v, want gone removed and new=starting at once", events)
	}
	mu.Unlock()

	// The changed camera: same Camera, its waiting subscriber gets frames
	// of the new size, its sequence going on.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var last uint64
	for {
		f, err := resized.Next(ctx, last)
		if err != nil {
			t.Fatalf("the changed camera's subscriber: %v", err)
		}
		if f.Width == 320 {
			break
		}
		last = f.Seq
	}
	if got, ok := s.Get("resized"); !ok || got != resized {
		t.Error("the changed camera was replaced, want the same Camera (same hub, same subscribers)")
	}
	if n := srcs.of("resized").count(); n != 2 {
		t.Errorf("the changed camera opened its source %d times, want 2 (once per settings)", n)
	}
	if !srcs.of("gone").lastSource().closed.Load() {
		waitFor(t, "the removed camera's source closed", func() bool { return srcs.of("gone").lastSource().closed.Load() })
	}
	added, _ := s.Get("new")
	frames(t, added, 3)

	// The unchanged camera was not touched: one open, source never
	// closed, its frame numbers going on from before.
	after := frames(t, same, 2)
	if n := srcs.of("same").count(); n != 1 || srcs.of("same").lastSource().closed.Load() {
		t.Errorf("the unchanged camera opened its source %d times (closed: %v), want once and still open",
			n, srcs.of("same").lastSource().closed.Load())
	}
	if after[0].seq <= before[1].seq {
		t.Errorf("the unchanged camera's frames went from seq %d to %d, want them to go on", before[1].seq, after[0].seq)
	}

	// Applying the same cameras again changes nothing.
	if ch := s.Apply([]config.Camera{testCamera(t, "new", "test://"), cfgs[0], bigger}); !ch.Empty() {
		t.Errorf("a second Apply of the same cameras = %+v, want no changes", ch)
	}
}

// A state change that a removed camera's loop reports on its way out
// never reaches the listeners after its removal.
func TestSetNoStateAfterRemoval(t *testing.T) {
	opts := quietOptions()
	s := NewSet([]config.Camera{testCamera(t, "a", "test://")}, opts)
	var mu sync.Mutex
	var events []string
	s.OnStateChange(func(id string, st State) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, id+"="+st.String())
	})
	s.OnRemove(func(id string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, id+" removed")
	})
	a, _ := s.Get("a")
	s.Apply(nil)
	a.setState(StateFailed, "late")
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, []string{"a removed"}) {
		t.Errorf("listeners heard %v, want only the removal", events)
	}
}

// A camera added before Run starts with it; one added after Run ended
// never starts.
func TestSetApplyOutsideRun(t *testing.T) {
	srcs := &openers{by: make(map[string]*opener)}
	opts := quietOptions()
	opts.Open = srcs.open
	srcs.of("early")
	srcs.of("late")
	s := NewSet(nil, opts)
	s.Apply([]config.Camera{testCamera(t, "early", "test://")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	early, _ := s.Get("early")
	frames(t, early, 2)
	cancel()
	<-done
	s.Apply([]config.Camera{testCamera(t, "early", "test://"), testCamera(t, "late", "test://")})
	time.Sleep(50 * time.Millisecond)
	if n := srcs.of("late").count(); n != 0 {
		t.Errorf("a camera added after Run ended opened %d times, want 0", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
