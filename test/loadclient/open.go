package loadclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/camstream/camstream/services/edge/mjpeg"
)

// How a viewer's stream is opened and read: HTTP/1.1 on a raw TCP
// connection of its own, or HTTPS through net/http (HTTP/2 when offered),
// and a slow link's reader.

// openPlain sends the request on a TCP connection of its own, reads the
// response head and returns the connection, positioned at the stream.
func openPlain(ctx context.Context, d *net.Dialer, u *url.URL) (io.ReadCloser, error) {
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: camstream-load\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		conn.Close()
		return nil, err
	}
	// A small buffer: the caller's reader, larger, reads through it
	// straight from the connection once the head is read.
	r := bufio.NewReaderSize(conn, 16)
	if err := checkHead(r); err != nil {
		conn.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, conn}, nil
}

// checkHead reads the response head from r and checks it is a stream.
func checkHead(r *bufio.Reader) error {
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	return mjpeg.CheckResponse(resp)
}

// openTLS opens the stream over HTTPS on a connection of its own, HTTP/2
// when the server offers it.
func openTLS(ctx context.Context, d *net.Dialer, u *url.URL, cfg *tls.Config) (io.ReadCloser, error) {
	// A copy each: the transport adds its protocols to the config.
	tr := &http.Transport{DialContext: d.DialContext, TLSClientConfig: cfg.Clone(), ForceAttemptHTTP2: true, DisableCompression: true}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := mjpeg.CheckResponse(resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{resp.Body, closerFunc(func() error { err := resp.Body.Close(); tr.CloseIdleConnections(); return err })}, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// linkReader reads at most rate bytes per second, chunk bytes at a time:
// a slow link. The connection's close (at the end of the run) ends a read.
type linkReader struct {
	r     io.Reader
	rate  float64
	chunk int
	start time.Time
	n     int64
}

func (l *linkReader) Read(p []byte) (int, error) {
	if len(p) > l.chunk {
		p = p[:l.chunk]
	}
	if d := time.Until(l.start.Add(time.Duration(float64(l.n) / l.rate * float64(time.Second)))); d > 0 {
		time.Sleep(d)
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}
