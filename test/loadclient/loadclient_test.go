package loadclient

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// mjpegServer streams parts of size n at fps, with X-Timestamp set to
// lag before the write, like an edge would.
func mjpegServer(t *testing.T, fps int, n int, lag time.Duration) *httptest.Server {
	body := strings.Repeat("x", n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\nConnection: close\r\n\r\n--frame\r\n")
		tick := time.NewTicker(time.Second / time.Duration(fps))
		defer tick.Stop()
		for seq := 1; ; seq++ {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
			ts := time.Now().Add(-lag)
			fmt.Fprintf(buf, "Content-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %d.%06d\r\nX-Frame-Seq: %d\r\n\r\n%s\r\n--frame\r\n",
				n, ts.Unix(), ts.Nanosecond()/1000, seq, body)
			if buf.Flush() != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRunMeasuresFramesAndLatency(t *testing.T) {
	srv := mjpegServer(t, 20, 5000, 30*time.Millisecond)
	res, err := Run(context.Background(), Config{
		URL: srv.URL + "/stream.mjpeg", Viewers: 10, SlowFraction: 0.2, SlowRate: 10_000,
		SlowReadBuffer: 4096, SlowChunk: 512, Warmup: 300 * time.Millisecond, Duration: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Failed != 0 {
		t.Fatalf("failed viewers = %d (%v), want 0", res.Failed, res.Errors)
	}
	if res.Slow != 2 {
		t.Errorf("slow viewers = %d, want 2", res.Slow)
	}
	// 20 fps sent; a loaded machine may lose some ticks, never gain any.
	if res.FPSMedian < 10 || res.FPSMedian > 21 {
		t.Errorf("fps median = %.1f, want about 20", res.FPSMedian)
	}
	if res.SlowFPSMedian > 3 {
		t.Errorf("slow fps median = %.1f, want at most 2 (10 000 B/s over 5 KB parts)", res.SlowFPSMedian)
	}
	// A 5 KB part crosses a 10 000 B/s link in about 500 ms.
	if res.SlowTransferP50 < 300*time.Millisecond {
		t.Errorf("slow transfer p50 = %v, want about 500ms", res.SlowTransferP50)
	}
	if res.SlowWaitP50 > res.SlowAgeP50 {
		t.Errorf("slow wait p50 = %v, want at most the age p50 %v", res.SlowWaitP50, res.SlowAgeP50)
	}
	if res.LatencyP50 < 30*time.Millisecond {
		t.Errorf("latency p50 = %v, want ≥ the 30ms the server backdated", res.LatencyP50)
	}
	if res.BytesPerSec <= 0 {
		t.Errorf("bytes/s = %v, want > 0", res.BytesPerSec)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "rtsp://x/y", Viewers: 1, Duration: time.Second},
		{URL: "http://127.0.0.1:1/x", Viewers: 0, Duration: time.Second},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v) = nil error, want one", cfg)
		}
	}
}

func TestRunCountsRefusedViewers(t *testing.T) {
	res, err := Run(context.Background(), Config{URL: "http://127.0.0.1:1/x", Viewers: 3, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 3 {
		t.Errorf("failed = %d, want 3", res.Failed)
	}
}

func TestFirstFrame(t *testing.T) {
	srv := mjpegServer(t, 20, 5000, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := FirstFrame(ctx, srv.URL+"/stream.mjpeg")
	if err != nil {
		t.Fatal(err)
	}
	// The server's first part goes out at its first tick, 50 ms in.
	if d < 40*time.Millisecond {
		t.Errorf("first frame after %v, want at least the server's 50ms tick", d)
	}
	if _, err := FirstFrame(ctx, "http://127.0.0.1:1/x"); err == nil {
		t.Error("FirstFrame of a closed port: nil error, want one")
	}
}
