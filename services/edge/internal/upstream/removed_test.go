package upstream

import (
	"context"
	"testing"
	"time"

	"github.com/camstream/camstream/services/edge/internal/capturetest"
)

// runStream runs p.Stream for a camera until the test ends, and closes the
// returned channel if it returns by itself before.
func runStream(t *testing.T, p *Pool, id string) (*frameSink, <-chan struct{}) {
	t.Helper()
	sink := &frameSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Stream(ctx, id, sink.publish)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return sink, done
}

// A camera removed from its capture's camera file: its stream returns (so
// the hub ends its viewers' streams), without the pool's own poll; the
// other camera's stream goes on. A capture that is merely away keeps its
// cameras' streams waiting.
func TestStreamEndsWhenCameraRemoved(t *testing.T) {
	n := capturetest.NewNetwork()
	c := capturetest.Start(t, n, "capture", capturetest.Options{Cameras: []string{"kept", "gone"}})
	p := newPool(t, n, Config{Targets: []string{capturetest.Target("capture")}})
	p.Refresh(context.Background())

	kept, keptDone := runStream(t, p, "kept")
	gone, goneDone := runStream(t, p, "gone")
	capturetest.WaitFor(t, "frames of both cameras", func() bool { return kept.count() >= 3 && gone.count() >= 3 })

	c.SetCameras([]string{"kept"})
	select {
	case <-goneDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the removed camera's stream did not end")
	}
	if got := ids(t, p); got != "kept" {
		t.Errorf("cameras after the removal = %s, want kept", got)
	}
	before := kept.count()
	capturetest.WaitFor(t, "more frames of the kept camera", func() bool { return kept.count() >= before+3 })
	select {
	case <-keptDone:
		t.Fatal("the kept camera's stream ended")
	default:
	}

	c.Stop()
	time.Sleep(1500 * time.Millisecond) // past refreshIfOld's second
	p.Refresh(context.Background())
	select {
	case <-keptDone:
		t.Fatal("a stream ended while its capture was away, want it to wait")
	default:
	}
}

// streamOf runs p.Stream for a camera until the test ends.
func streamOf(t *testing.T, p *Pool, id string) *frameSink {
	t.Helper()
	sink, _ := runStream(t, p, id)
	return sink
}
