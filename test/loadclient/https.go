package loadclient

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/camstream/camstream/services/edge/mjpeg"
)

// openTLS opens the stream over HTTPS on a connection of its own, HTTP/2
// when the server offers it.
func (v *viewer) openTLS(ctx context.Context, d *net.Dialer) (io.ReadCloser, error) {
	// A copy each: the transport adds its protocols to the config.
	tr := &http.Transport{DialContext: d.DialContext, TLSClientConfig: v.cfg.TLS.Clone(), ForceAttemptHTTP2: true, DisableCompression: true}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.u.String(), nil)
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
