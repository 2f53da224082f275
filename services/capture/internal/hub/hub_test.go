package hub

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPublishNumbersFrames(t *testing.T) {
	h := New()
	if f := h.Latest(); f != nil {
		t.Fatalf("Latest before any frame = %+v, want nil", f)
	}
	for want := uint64(1); want <= 3; want++ {
		f := &Frame{}
		h.Publish(f)
		if f.Seq != want || h.Latest() != f {
			t.Errorf("after publish %d: seq %d, latest %p; want seq %d, latest %p", want, f.Seq, h.Latest(), want, f)
		}
	}
}

func TestNextReturnsNewestWithoutWaitingWhenBehind(t *testing.T) {
	h := New()
	for range 5 {
		h.Publish(&Frame{})
	}
	f, err := h.Next(context.Background(), 1)
	if err != nil || f.Seq != 5 {
		t.Fatalf("Next(after 1) = %v, %v; want frame 5 (newest, skipping 2..4)", f, err)
	}
}

func TestNextEndsWithContext(t *testing.T) {
	h := New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := h.Next(ctx, 0)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after its context was cancelled")
	}
}

// Many subscribers read every frame they can; one is slow and must skip
// frames instead of queueing them; one leaves in the middle. The publisher
// is never held up by any of them.
func TestFanOut(t *testing.T) {
	const (
		frames = 300
		fast   = 50
	)
	h := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type result struct {
		got       int
		last      uint64
		inOrder   bool
		leftEarly bool
	}
	results := make([]result, fast+2)
	var wg sync.WaitGroup
	var ready sync.WaitGroup
	subscribe := func(i int, work time.Duration, leaveAfter int) {
		defer wg.Done()
		ready.Done()
		r := result{inOrder: true}
		subCtx, leave := context.WithCancel(ctx)
		defer leave()
		for {
			f, err := h.Next(subCtx, r.last)
			if err != nil {
				break
			}
			if f.Seq <= r.last {
				r.inOrder = false
			}
			r.last = f.Seq
			r.got++
			if f.Seq == frames {
				break
			}
			if r.got == leaveAfter {
				leave() // mid-stream: the next Next must return at once
				r.leftEarly = true
			}
			time.Sleep(work)
		}
		results[i] = r
	}
	wg.Add(fast + 2)
	ready.Add(fast + 2)
	for i := range fast {
		go subscribe(i, 0, -1)
	}
	go subscribe(fast, 20*time.Millisecond, -1) // slow
	go subscribe(fast+1, 0, 10)                 // leaves after 10 frames
	ready.Wait()

	start := time.Now()
	for range frames {
		h.Publish(&Frame{JPEG: []byte{0xff, 0xd8}})
		time.Sleep(time.Millisecond)
	}
	publishTime := time.Since(start)
	wg.Wait()

	for i, r := range results[:fast] {
		if !r.inOrder || r.last != frames {
			t.Errorf("subscriber %d: in order %v, last seq %d; want in order, last %d", i, r.inOrder, r.last, frames)
		}
	}
	slow := results[fast]
	if slow.last != frames || !slow.inOrder {
		t.Errorf("slow subscriber: last seq %d, in order %v; want %d, true", slow.last, slow.inOrder, frames)
	}
	if slow.got >= frames {
		t.Errorf("slow subscriber got %d of %d frames, want it to skip some", slow.got, frames)
	}
	leaver := results[fast+1]
	if !leaver.leftEarly || leaver.got != 10 {
		t.Errorf("leaving subscriber got %d frames (left %v), want exactly 10", leaver.got, leaver.leftEarly)
	}
	// Generous: the slow subscriber alone would need frames*20ms = 6 s if it
	// could hold the publisher up.
	if publishTime > 5*time.Second {
		t.Errorf("publishing %d frames took %v: subscribers are slowing the publisher", frames, publishTime)
	}
}

// BenchmarkFanOut publishes frames to many waiting subscribers and waits
// until every one has taken each frame: the cost per frame of waking and
// handing it to all of them (allocs/op are per frame, for all subscribers).
func BenchmarkFanOut(b *testing.B) {
	for _, subs := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			h := New()
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var received atomic.Int64
			for range subs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var last uint64
					for {
						f, err := h.Next(ctx, last)
						if err != nil {
							return
						}
						last = f.Seq
						received.Add(1)
					}
				}()
			}
			jpeg := make([]byte, 100<<10)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				h.Publish(&Frame{JPEG: jpeg})
				for received.Load() < int64(subs)*int64(i+1) {
					runtime.Gosched()
				}
			}
			b.StopTimer()
			cancel()
			wg.Wait()
		})
	}
}
