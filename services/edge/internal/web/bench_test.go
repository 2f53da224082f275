package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/catalog"
	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
	"github.com/camstream/camstream/services/edge/mjpeg"
)

// oneCamera is a Catalog with one camera, for benchmarks without gRPC.
type oneCamera struct{}

func (oneCamera) Cameras() ([]*camstreamv1.Camera, error) {
	return []*camstreamv1.Camera{{Id: "cam", State: camstreamv1.CameraState_CAMERA_STATE_STREAMING}}, nil
}

func (oneCamera) Camera(context.Context, string) (*camstreamv1.Camera, error) {
	return &camstreamv1.Camera{Id: "cam"}, nil
}

func (oneCamera) Snapshot(context.Context, string, int) (*camstreamv1.Frame, error) { return nil, nil }
func (oneCamera) Ready() bool                                                       { return true }
func (oneCamera) Captures() []catalog.Capture                                       { return nil }

// BenchmarkStreamFanOut writes each 50 KB frame (a 720p JPEG at quality 70)
// to n viewers over real loopback TCP connections, and waits until every
// viewer has read it. ns/op is the cost of one frame to all n viewers, the
// clients' reading included; allocs/op must not grow with n.
func BenchmarkStreamFanOut(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			benchmarkStreamFanOut(b, n)
		})
	}
}

func benchmarkStreamFanOut(b *testing.B, n int) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	publishc := make(chan func(*hub.Frame), 1)
	frames := hub.New(log, func(ctx context.Context, _ string, publish func(*hub.Frame)) {
		publishc <- publish
		<-ctx.Done()
	}, time.Minute)
	srv, err := New(log, Config{}, oneCamera{}, frames, metrics.New())
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer func() {
		srv.Drain()
		ts.Close()
		srv.Wait()
		frames.Close()
	}()

	jpeg := make([]byte, 50<<10)
	newFrame := func(seq uint64) *hub.Frame {
		return hub.NewFrame(mjpeg.Frame{CameraID: "cam", Seq: seq, CapturedAt: time.Now(), JPEG: jpeg}, 1280, 720)
	}
	partLen := int64(len(newFrame(1).Part))

	// Viewers count the bytes they read; the benchmark waits for them all.
	var received atomic.Int64
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	var wg sync.WaitGroup
	var conns []net.Conn
	for range n {
		conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, conn)
		fmt.Fprintf(conn, "GET /cameras/cam/stream.mjpeg HTTP/1.1\r\nHost: bench\r\n\r\n")
		r := bufio.NewReaderSize(conn, 64<<10)
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("open stream: %v %v", resp, err)
		}
		if _, err := r.Discard(len(mjpeg.Preamble)); err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for {
				k, err := r.Read(buf)
				if k > 0 {
					received.Add(int64(k))
					mu.Lock()
					cond.Broadcast()
					mu.Unlock()
				}
				if err != nil {
					return
				}
			}
		})
	}
	publish := <-publishc
	var want int64
	deliver := func(seq uint64) {
		publish(newFrame(seq))
		want += int64(n) * partLen
		mu.Lock()
		for received.Load() < want {
			cond.Wait()
		}
		mu.Unlock()
	}
	deliver(0) // every viewer is attached

	b.SetBytes(partLen * int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for i := uint64(1); b.Loop(); i++ {
		deliver(i)
	}
	b.StopTimer()
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
}
