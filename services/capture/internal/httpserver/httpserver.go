// Package httpserver serves capture's operational HTTP endpoints:
// /metrics (Prometheus), /healthz (liveness) and /readyz (readiness).
package httpserver

import (
	"net/http"
	"time"
)

// New returns the HTTP server for addr. ready reports whether capture is
// serving gRPC; /readyz answers 503 while it is not (at start and during
// shutdown). A camera that is down does not make capture unready: the edge
// still needs to reach capture to learn that camera's state.
func New(addr string, metrics http.Handler, ready func() bool) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			text(w, http.StatusServiceUnavailable, "not ready")
			return
		}
		text(w, http.StatusOK, "ready")
	})
	return &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

func text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body + "\n"))
}
