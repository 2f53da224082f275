package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/grpcserver"
	"github.com/camstream/camstream/services/capture/internal/httpserver"
	"github.com/camstream/camstream/services/capture/internal/metrics"
)

// servers are capture's gRPC server, its optional plaintext health
// server and its HTTP server, over one set of cameras.
type servers struct {
	capture *grpcserver.Server
	grpc    *grpc.Server
	health  *grpc.Server
	http    *http.Server
	ready   atomic.Bool
}

func newServers(opts options, creds credentials.TransportCredentials, set *camera.Set, m *metrics.Metrics, log *slog.Logger) *servers {
	s := &servers{capture: grpcserver.New(set, log)}
	var serverOpts []grpc.ServerOption
	if creds != nil {
		serverOpts = append(serverOpts, grpc.Creds(creds))
	}
	s.grpc = s.capture.NewGRPCServer(serverOpts...)
	s.health = s.capture.NewHealthServer()
	s.http = httpserver.New(opts.httpListen, m.Handler(), s.ready.Load)
	s.http.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	return s
}

// serve serves each server on its listener in wg and turns readiness on;
// the channel gets the first server's failure.
func (s *servers) serve(wg *sync.WaitGroup, lns listeners) <-chan error {
	serveErr := make(chan error, 3)
	wg.Go(func() { serveErr <- serveGRPC(s.grpc, lns.grpc) })
	if lns.health != nil {
		wg.Go(func() { serveErr <- serveGRPC(s.health, lns.health) })
	}
	wg.Go(func() { serveErr <- serveHTTP(s.http, lns.http) })
	s.ready.Store(true)
	return serveErr
}

// shutdown turns readiness off, ends open streams and stops the servers,
// letting calls and requests in flight finish for shutdownTimeout.
func (s *servers) shutdown() error {
	s.ready.Store(false)
	s.capture.Shutdown(s.grpc, shutdownTimeout)
	s.health.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown HTTP: %w", err)
	}
	return nil
}

func serveGRPC(s interface{ Serve(net.Listener) error }, ln net.Listener) error {
	if err := s.Serve(ln); err != nil {
		return fmt.Errorf("serve gRPC: %w", err)
	}
	return nil
}

func serveHTTP(s *http.Server, ln net.Listener) error {
	if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve HTTP: %w", err)
	}
	return nil
}
