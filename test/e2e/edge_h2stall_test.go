package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camstream/camstream/services/edge/mjpeg"
	"github.com/camstream/camstream/test/harness"
)

// h2Stream is a stream opened on a shared HTTP/2 connection.
type h2Stream struct {
	body  io.ReadCloser
	parts *mjpeg.Reader
	local string // the client end of the connection it came on
}

func openH2Stream(t *testing.T, ctx context.Context, client *http.Client, url string) *h2Stream {
	t.Helper()
	var local string
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { local = i.Conn.LocalAddr().String() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if err := mjpeg.CheckResponse(resp); err != nil || resp.ProtoMajor != 2 {
		t.Fatalf("GET %s: %s %v", url, resp.Proto, err)
	}
	return &h2Stream{body: resp.Body, parts: mjpeg.NewReader(resp.Body), local: local}
}

// seqLog records the frame numbers one reader got.
type seqLog struct {
	mu   sync.Mutex
	seqs []uint64
}

func (l *seqLog) add(seq uint64) {
	l.mu.Lock()
	l.seqs = append(l.seqs, seq)
	l.mu.Unlock()
}

// since is how many frames came from the mark on and the span of their
// numbers (first to last, inclusive).
func (l *seqLog) since(mark int) (got int, span uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.seqs[min(mark, len(l.seqs)):]
	if len(s) == 0 {
		return 0, 0
	}
	return len(s), s[len(s)-1] - s[0] + 1
}

func (l *seqLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seqs)
}

// Over one HTTP/2 connection: a stream that is never read stalls on its
// own flow-control window, and meanwhile 20 streams beside it get every
// frame of the camera and a slow reader gets the newest frames, skipping
// the rest; the stalled stream is dropped after the write timeout.
func TestEdgeHTTP2StalledStreamDelaysNoOther(t *testing.T) {
	const readers = 20
	c := edgeStartCapture(t, edgeTestCameras("h2", 1))
	e := edgeStartHTTPS(t, []string{c.grpcAddr}, "--write-timeout", "8s")
	// A small window per stream, so the unread stream stalls within a few
	// frames; the connection's window is far larger than the stall holds.
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.roots()}, ForceAttemptHTTP2: true, MaxConnsPerHost: 1,
		HTTP2: &http.HTTP2Config{MaxReceiveBufferPerStream: 32 << 10, MaxReceiveBufferPerConnection: 3 << 20},
	}}
	ctx := harness.Context(t)
	url := e.url + "/cameras/h2-1/stream.mjpeg"

	stalled := openH2Stream(t, ctx, client, url)
	logs := make([]*seqLog, readers+1) // the last one reads slowly
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	for i := range logs {
		s := openH2Stream(t, ctx, client, url)
		if s.local != stalled.local {
			t.Fatalf("stream %d came on connection %s, the first on %s: want one connection", i, s.local, stalled.local)
		}
		logs[i] = &seqLog{}
		wg.Go(func() {
			for {
				p, err := s.parts.Next()
				if err != nil {
					return
				}
				logs[i].add(p.Seq)
				if i == readers {
					time.Sleep(300 * time.Millisecond)
				}
			}
		})
	}

	// While the unread stream is stalled (its window fills within a few
	// frames, long before the write timeout), over 30 frames of the
	// camera, every reader keeps up.
	harness.WaitFor(t, 30*time.Second, "15 frames to the first reader", func() bool { return logs[0].len() >= 15 })
	marks := make([]int, len(logs))
	for i, l := range logs {
		marks[i] = l.len()
	}
	harness.WaitFor(t, 60*time.Second, "30 frames to every reader", func() bool {
		_, span := logs[0].since(marks[0])
		return span >= 30
	})
	_, m := e.get(t, "/metrics")
	stalledOpen := strings.Contains(m, `camstream_edge_viewers{camera="h2-1"} `+strconv.Itoa(readers+2))
	t.Logf("the unread stream still open at the end of the measurement: %v", stalledOpen)
	for i, l := range logs[:readers] {
		got, span := l.since(marks[i])
		if float64(got) < 0.9*float64(span) {
			t.Errorf("reader %d got %d of %d frames while another stream on its connection stalled", i, got, span)
		}
	}

	// The unread stream is dropped: the camera's viewers fall to the others.
	want := `camstream_edge_viewers{camera="h2-1"} ` + strconv.Itoa(readers+1)
	harness.WaitFor(t, 30*time.Second, "the stalled stream dropped ("+want+")", func() bool {
		_, m := e.get(t, "/metrics")
		return strings.Contains(m, want)
	})
	if err := drainWithin(stalled.body, 10*time.Second); err == nil {
		t.Errorf("the stalled stream, read after its drop, ended cleanly or kept going; want it reset")
	}
	got, span := logs[readers].since(marks[readers])
	if got == 0 || uint64(got) >= span {
		t.Errorf("slow reader got %d frames spanning %d: want newer frames, skipping the rest", got, span)
	}
}

// drainWithin reads body to its end and returns how it ended; an error
// too when it is still going after timeout.
func drainWithin(body io.ReadCloser, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, body)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		body.Close()
		<-done
		return nil
	}
}
