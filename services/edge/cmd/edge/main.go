// Command edge serves camera streams from capture services to browsers:
// MJPEG streams, the camera pages, a JSON API, health and metrics.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
	"github.com/camstream/camstream/services/edge/internal/upstream"
	"github.com/camstream/camstream/services/edge/internal/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

// config is the validated command line.
type config struct {
	listen     string
	targets    []string
	authToken  string
	maxViewers int
	logLevel   slog.Level
	grace      time.Duration
	// TLS to capture: on, the CA of the captures' certificates, and the
	// edge's client certificate and key for mutual TLS.
	captureTLS                         bool
	captureCA, captureCert, captureKey string
}

// parseFlags reads the flags, each with an environment twin; a flag given on
// the command line wins over its variable. errHelp means --help was asked.
func parseFlags(args []string, getenv func(string) string, stdout, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8080", "HTTP address [$EDGE_LISTEN]")
	capture := fs.String("capture", "localhost:50051", "comma-separated capture gRPC targets; dns:///name:port expands to every address of name [$EDGE_CAPTURE]")
	authToken := fs.String("auth-token", "", "when set, viewing needs this token as Bearer token, Basic password or ?token= [$EDGE_AUTH_TOKEN]")
	maxViewers := fs.Int("max-viewers", 0, "most open streams; beyond it new viewers get 503 (0: no limit) [$EDGE_MAX_VIEWERS]")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error [$EDGE_LOG_LEVEL]")
	grace := fs.Duration("upstream-grace", 5*time.Second, "how long a camera's upstream stays open after its last viewer leaves [$EDGE_UPSTREAM_GRACE]")
	captureTLSOn := fs.Bool("capture-tls", false, "connect to capture over TLS (implied by the --capture-ca, --capture-cert and --capture-key flags) [$EDGE_CAPTURE_TLS]")
	captureCA := fs.String("capture-ca", "", "PEM CA certificates that sign capture's certificate; empty: the system's [$EDGE_CAPTURE_CA]")
	captureCert := fs.String("capture-cert", "", "PEM client certificate presented to capture, for mutual TLS [$EDGE_CAPTURE_CERT]")
	captureKey := fs.String("capture-key", "", "PEM private key of --capture-cert [$EDGE_CAPTURE_KEY]")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: edge [flags]\n\nServes camera streams from capture services to browsers.\n\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q: edge takes only flags", fs.Args())
	}
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := envName(f.Usage)
		if given[f.Name] || env == "" || err != nil {
			return
		}
		if v := getenv(env); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("$%s=%q: %w", env, v, serr)
			}
		}
	})
	if err != nil {
		return config{}, err
	}

	cfg := config{listen: *listen, authToken: *authToken, maxViewers: *maxViewers, grace: *grace,
		captureTLS: *captureTLSOn, captureCA: *captureCA, captureCert: *captureCert, captureKey: *captureKey}
	for _, t := range strings.Split(*capture, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.targets = append(cfg.targets, t)
		}
	}
	if len(cfg.targets) == 0 {
		return config{}, errors.New("--capture is empty: give at least one capture target, like localhost:50051")
	}
	if cfg.maxViewers < 0 {
		return config{}, fmt.Errorf("--max-viewers=%d: use 0 for no limit or a positive number", cfg.maxViewers)
	}
	if cfg.grace < 0 {
		return config{}, fmt.Errorf("--upstream-grace=%v: must not be negative", cfg.grace)
	}
	if err := cfg.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return config{}, fmt.Errorf("--log-level=%q: use debug, info, warn or error", *logLevel)
	}
	return cfg, nil
}

// envName is the variable named at the end of a flag's usage: "[$NAME]".
func envName(usage string) string {
	i := strings.LastIndex(usage, "[$")
	if i < 0 || !strings.HasSuffix(usage, "]") {
		return ""
	}
	return usage[i+2 : len(usage)-1]
}

// run serves until ctx ends, then shuts down gracefully: readiness off,
// streams ended, in-flight requests finished.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))

	tlsConfig, err := captureTLS(cfg.captureTLS, cfg.captureCA, cfg.captureCert, cfg.captureKey)
	if err != nil {
		return err
	}
	m := metrics.New()
	pool, err := upstream.New(log.With("component", "upstream"), upstream.Config{Targets: cfg.targets, TLS: tlsConfig, Metrics: m})
	if err != nil {
		return err
	}
	defer pool.Close()
	frames := hub.New(log.With("component", "hub"), pool.Stream, cfg.grace)
	defer frames.Close()
	srv, err := web.New(log.With("component", "web"), web.Config{AuthToken: cfg.authToken, MaxViewers: cfg.maxViewers}, pool, frames, m)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	httpServer := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Request line and headers: plenty for a browser, and a bound for
		// anyone sending more (431). The query alone is capped lower.
		MaxHeaderBytes: 16 << 10,
		IdleTimeout:    2 * time.Minute,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// No WriteTimeout: streams are long; each write has its own deadline.
	}

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var wg sync.WaitGroup
	wg.Go(func() { pool.Run(runCtx) })
	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- httpServer.Serve(ln) })
	log.Info("edge listening", "addr", ln.Addr().String(), "url", "http://"+displayAddr(ln.Addr()), "capture", cfg.targets,
		"capture_tls", tlsConfig != nil, "capture_mutual_tls", cfg.captureCert != "", "auth", cfg.authToken != "")

	select {
	case <-ctx.Done():
		err = nil
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	}
	log.Info("edge shutting down")
	srv.Drain()
	// Streams end at once on Drain; other requests get a few seconds, so
	// the edge exits well within a pod's 5 s of grace.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if serr := httpServer.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("shutdown: %w", serr)
	}
	srv.Wait()
	stopRun()
	wg.Wait()
	log.Info("edge stopped")
	return err
}

// displayAddr makes a listening address something to paste in a browser.
func displayAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		port := ""
		if ok {
			port = strconv.Itoa(tcp.Port)
		}
		return "localhost:" + port
	}
	return tcp.String()
}
