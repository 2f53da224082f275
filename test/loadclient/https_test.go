package loadclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Over HTTPS each viewer gets its stream over HTTP/2 and is measured as
// over plain HTTP.
func TestRunOverHTTP2(t *testing.T) {
	const fps = 20
	var h2 atomic.Int32
	body := strings.Repeat("x", 1000)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		fmt.Fprint(w, "--frame\r\n")
		tick := time.NewTicker(time.Second / fps)
		defer tick.Stop()
		for seq := 1; ; seq++ {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
			ts := time.Now()
			fmt.Fprintf(w, "Content-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %d.%06d\r\nX-Frame-Seq: %d\r\n\r\n%s\r\n--frame\r\n",
				len(body), ts.Unix(), ts.Nanosecond()/1000, seq, body)
			if http.NewResponseController(w).Flush() != nil {
				return
			}
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	res, err := Run(context.Background(), Config{URL: srv.URL + "/stream", Viewers: 4, Duration: 2 * time.Second,
		Warmup: 300 * time.Millisecond, TLS: &tls.Config{RootCAs: roots}})
	if err != nil {
		t.Fatal(err)
	}
	// Every viewer must read frames; their rate on a busy machine is
	// a benchmark's business, not this test's.
	if res.Failed != 0 || res.FPSMin < 1 {
		t.Errorf("over HTTPS: %s, want 4 viewers each reading frames", res)
	}
	if got := h2.Load(); got != 4 {
		t.Errorf("%d of 4 streams came over HTTP/2", got)
	}
}
