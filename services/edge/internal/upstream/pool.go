// Package upstream connects the edge to its capture services.
//
// The edge is given every capture target. A target is a gRPC address, or
// dns:///name:port, which is re-resolved periodically and gets one client per
// address, because each capture shard owns different cameras. ListCameras is
// polled on every client; a camera is routed to the capture that lists it.
package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/catalog"
	"github.com/camstream/camstream/services/edge/internal/metrics"
)

var _ catalog.Catalog = (*Pool)(nil)

// Resolver looks up the addresses of a host name.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Config configures a Pool.
type Config struct {
	// Targets are gRPC targets: host:port, any gRPC target URI, or
	// dns:///name:port for one client per address the name resolves to.
	Targets []string
	// PollInterval is how often ListCameras is polled; 0 means 2 s.
	PollInterval time.Duration
	// ResolveInterval is how often dns:/// targets are re-resolved; 0 means 10 s.
	ResolveInterval time.Duration
	// Resolver resolves dns:/// targets; nil means net.DefaultResolver.
	Resolver Resolver
	// TLS, when set, secures the connections to the captures; nil means
	// plaintext. Clients of a dns:/// target, which dial addresses, check
	// the certificate against the target's name unless ServerName is set.
	TLS *tls.Config
	// DialOptions are added to the defaults (for tests).
	DialOptions []grpc.DialOption
	Metrics     *metrics.Metrics
}

// Pool holds one gRPC client per capture address and the cameras each owns.
type Pool struct {
	log     *slog.Logger
	cfg     Config
	targets []target

	refreshMu   sync.Mutex // one refresh at a time
	lastRefresh time.Time

	mu       sync.RWMutex
	clients  []*client // by target, then address
	owners   map[string]*client
	cameras  []*camstreamv1.Camera
	answered bool // some client answered the last poll
	closed   bool
}

type target struct {
	raw  string
	dns  bool   // expand to every address of host
	host string // for dns targets
	port string
}

type client struct {
	target int
	addr   string
	conn   *grpc.ClientConn
	api    camstreamv1.CaptureServiceClient

	// Guarded by Pool.mu.
	cameras   []*camstreamv1.Camera
	reachable bool
	polled    bool
}

// New checks the targets and creates the clients of the fixed ones; clients
// connect lazily. Run resolves dns:/// targets and polls.
func New(log *slog.Logger, cfg Config) (*Pool, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.ResolveInterval <= 0 {
		cfg.ResolveInterval = 10 * time.Second
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	p := &Pool{log: log, cfg: cfg, owners: make(map[string]*client)}
	for i, raw := range cfg.Targets {
		t, err := parseTarget(raw)
		if err != nil {
			return nil, err
		}
		p.targets = append(p.targets, t)
		if !t.dns {
			c, err := p.newClient(i, t.raw, t.raw, "")
			if err != nil {
				p.Close()
				return nil, err
			}
			p.clients = append(p.clients, c)
		}
	}
	if len(p.targets) == 0 {
		return nil, errors.New("no capture target given")
	}
	return p, nil
}

// Run resolves and polls until ctx ends.
func (p *Pool) Run(ctx context.Context) {
	p.resolve(ctx)
	p.Refresh(ctx)
	poll := time.NewTicker(p.cfg.PollInterval)
	defer poll.Stop()
	resolve := time.NewTicker(p.cfg.ResolveInterval)
	defer resolve.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-resolve.C:
			p.resolve(ctx)
		case <-poll.C:
			p.Refresh(ctx)
		}
	}
}

// Captures returns every capture address in target order, with whether
// it answered the last poll and how many cameras it lists.
func (p *Pool) Captures() []catalog.Capture {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]catalog.Capture, 0, len(p.clients))
	for _, c := range p.clients {
		out = append(out, catalog.Capture{Address: c.addr, Up: c.reachable, Polled: c.polled, Cameras: len(c.cameras)})
	}
	return out
}

// Ready reports whether a capture answered the last poll.
func (p *Pool) Ready() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.answered
}

// Cameras returns every known camera, in target order and each capture's
// order. A camera whose capture does not answer has state UNSPECIFIED and
// says so in its last error. The cameras must not be modified.
func (p *Pool) Cameras() ([]*camstreamv1.Camera, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.answered && len(p.cameras) == 0 {
		return nil, catalog.ErrUnavailable
	}
	return p.cameras, nil
}

// Camera returns one camera: catalog.ErrNotFound when no capture lists it,
// catalog.ErrUnavailable when its capture (or every capture) does not answer.
func (p *Pool) Camera(ctx context.Context, id string) (*camstreamv1.Camera, error) {
	cam, c := p.lookup(id)
	if c == nil {
		p.refreshIfOld(ctx)
		cam, c = p.lookup(id)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	switch {
	case c == nil && !p.answered:
		return nil, catalog.ErrUnavailable
	case c == nil:
		return nil, fmt.Errorf("camera %q: %w", id, catalog.ErrNotFound)
	case !c.reachable:
		return cam, fmt.Errorf("camera %q: %w", id, catalog.ErrUnavailable)
	}
	return cam, nil
}

// removed reports whether the captures answer and none lists the camera.
// A camera of a capture that does not answer stays listed (see rebuild).
func (p *Pool) removed(id string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.answered && p.owners[id] == nil
}

func (p *Pool) lookup(id string) (*camstreamv1.Camera, *client) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c := p.owners[id]
	if c == nil {
		return nil, nil
	}
	for _, cam := range p.cameras {
		if cam.GetId() == id {
			return cam, c
		}
	}
	return nil, nil
}

// Close closes every client.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.clients {
		_ = c.conn.Close()
	}
}
