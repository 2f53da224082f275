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
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
	"github.com/camstream/camstream/services/edge/internal/mjpeg"
)

var (
	// ErrNotFound means no capture lists the camera.
	ErrNotFound = errors.New("camera not found")
	// ErrUnavailable means the capture owning the camera, or every capture,
	// does not answer.
	ErrUnavailable = errors.New("capture unreachable")
)

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

func parseTarget(raw string) (target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return target{}, errors.New("empty capture target")
	}
	rest, ok := strings.CutPrefix(raw, "dns:")
	if !ok {
		return target{raw: raw}, nil
	}
	// dns:///host:port or dns://authority/host:port: the authority (a DNS
	// server) is not supported; the system resolver is used.
	rest = strings.TrimPrefix(rest, "//")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if i > 0 {
			return target{}, fmt.Errorf("capture target %q: a DNS server in the target is not supported, use dns:///name:port", raw)
		}
		rest = rest[i+1:]
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil || host == "" || port == "" {
		return target{}, fmt.Errorf("capture target %q: want dns:///name:port", raw)
	}
	return target{raw: raw, dns: true, host: host, port: port}, nil
}

// upstreamWindow is the HTTP/2 flow-control window of a capture connection
// and of each of its streams: 1 MiB, about 20 frames of 720p at quality 70.
// It also bounds what can queue between capture and a CPU-starved edge.
const upstreamWindow = 1 << 20

func (p *Pool) newClient(targetIndex int, addr, grpcTarget, serverName string) (*client, error) {
	creds := insecure.NewCredentials()
	if p.cfg.TLS != nil {
		cfg := p.cfg.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = serverName
		}
		creds = credentials.NewTLS(cfg)
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		// Notice a silently dead capture (killed node, black-holed
		// network): a ping after 10 s without a word from it, unanswered
		// for 5 s, ends the connection and its calls within 15 s. The
		// capture allows pings every 5 s, with or without calls.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
		// Reconnect to a restarted capture within about a second: one
		// connection attempt per second to a capture that is away is cheap.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(32 << 20)),
		// Fixed flow-control windows of several frames: the capture sends
		// without waiting for window updates, and no bandwidth-delay
		// probing pings ride along with every frame.
		grpc.WithInitialWindowSize(upstreamWindow),
		grpc.WithInitialConnWindowSize(upstreamWindow),
	}, p.cfg.DialOptions...)
	conn, err := grpc.NewClient(grpcTarget, opts...)
	if err != nil {
		return nil, fmt.Errorf("capture target %q: %w", grpcTarget, err)
	}
	return &client{target: targetIndex, addr: addr, conn: conn, api: camstreamv1.NewCaptureServiceClient(conn)}, nil
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

// resolve updates the clients of the dns:/// targets: one per address.
func (p *Pool) resolve(ctx context.Context) {
	for i, t := range p.targets {
		if !t.dns {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ips, err := p.cfg.Resolver.LookupHost(lctx, t.host)
		cancel()
		if err != nil {
			// Keep the known addresses: a failed lookup is no news.
			p.log.Warn("resolve capture target", "target", t.raw, "err", err)
			continue
		}
		want := make(map[string]bool)
		for _, ip := range ips {
			want[net.JoinHostPort(ip, t.port)] = true
		}
		p.setTargetAddrs(i, want)
	}
}

func (p *Pool) setTargetAddrs(targetIndex int, want map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	kept := p.clients[:0:0]
	for _, c := range p.clients {
		if c.target == targetIndex && !want[c.addr] {
			p.log.Info("capture address gone", "capture", c.addr)
			_ = c.conn.Close()
			continue
		}
		kept = append(kept, c)
		if c.target == targetIndex {
			delete(want, c.addr)
		}
	}
	for addr := range want {
		c, err := p.newClient(targetIndex, addr, "passthrough:///"+addr, p.targets[targetIndex].host)
		if err != nil {
			p.log.Warn("capture client", "capture", addr, "err", err)
			continue
		}
		p.log.Info("capture address added", "capture", addr)
		kept = append(kept, c)
	}
	slices.SortStableFunc(kept, func(a, b *client) int {
		if a.target != b.target {
			return a.target - b.target
		}
		return strings.Compare(a.addr, b.addr)
	})
	p.clients = kept
	p.rebuild()
}

// Refresh polls ListCameras on every client and updates the routes.
func (p *Pool) Refresh(ctx context.Context) {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	p.refresh(ctx)
}

// refreshIfOld refreshes unless the last refresh is younger than a second,
// so lookups of unknown cameras cannot flood the captures.
func (p *Pool) refreshIfOld(ctx context.Context) {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	if time.Since(p.lastRefresh) >= time.Second {
		p.refresh(ctx)
	}
}

func (p *Pool) refresh(ctx context.Context) {
	p.lastRefresh = time.Now()
	p.mu.RLock()
	clients := slices.Clone(p.clients)
	p.mu.RUnlock()

	type result struct {
		cameras []*camstreamv1.Camera
		err     error
	}
	results := make([]result, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			resp, err := c.api.ListCameras(cctx, &camstreamv1.ListCamerasRequest{})
			results[i] = result{resp.GetCameras(), err}
		})
	}
	wg.Wait()

	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range clients {
		r := results[i]
		switch {
		case r.err == nil:
			if !c.reachable && c.polled {
				p.log.Info("capture reachable again", "capture", c.addr)
			}
			c.cameras, c.reachable = r.cameras, true
		case ctx.Err() != nil:
			continue // shutting down: no news
		default:
			if c.reachable || !c.polled {
				p.log.Warn("capture unreachable", "capture", c.addr, "err", status.Convert(r.err).Message())
			}
			c.reachable = false
		}
		c.polled = true
	}
	p.rebuild()
}

// rebuild recomputes the routes and the merged camera list; p.mu is held.
// Cameras of a capture that stopped answering stay listed (without state)
// so their viewers wait for it, unless a reachable capture lists them.
func (p *Pool) rebuild() {
	owners := make(map[string]*client)
	p.answered = false
	for _, c := range p.clients {
		if !c.reachable {
			continue
		}
		p.answered = true
		for _, cam := range c.cameras {
			if _, dup := owners[cam.GetId()]; !dup {
				owners[cam.GetId()] = c
			}
		}
	}
	for _, c := range p.clients {
		if c.reachable {
			continue
		}
		for _, cam := range c.cameras {
			if _, dup := owners[cam.GetId()]; !dup {
				owners[cam.GetId()] = c
			}
		}
	}
	var cameras []*camstreamv1.Camera
	for _, c := range p.clients {
		for _, cam := range c.cameras {
			if owners[cam.GetId()] != c {
				continue
			}
			if !c.reachable {
				cam = &camstreamv1.Camera{Id: cam.GetId(), Name: cam.GetName(), OnDemand: cam.GetOnDemand(), LastError: "capture " + c.addr + " unreachable"}
			}
			cameras = append(cameras, cam)
		}
	}
	p.owners, p.cameras = owners, cameras
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
		return nil, ErrUnavailable
	}
	return p.cameras, nil
}

// Camera returns one camera: ErrNotFound when no capture lists it,
// ErrUnavailable when its capture (or every capture) does not answer.
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
		return nil, ErrUnavailable
	case c == nil:
		return nil, fmt.Errorf("camera %q: %w", id, ErrNotFound)
	case !c.reachable:
		return cam, fmt.Errorf("camera %q: %w", id, ErrUnavailable)
	}
	return cam, nil
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

// Snapshot returns the camera's newest frame from its capture.
func (p *Pool) Snapshot(ctx context.Context, id string) (*camstreamv1.Frame, error) {
	if _, err := p.Camera(ctx, id); err != nil {
		return nil, err
	}
	_, c := p.lookup(id)
	if c == nil {
		return nil, fmt.Errorf("camera %q: %w", id, ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.api.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: id})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return nil, fmt.Errorf("camera %q: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("snapshot of %q from %s: %w: %s", id, c.addr, ErrUnavailable, status.Convert(err).Message())
	}
	return resp.GetFrame(), nil
}

// Stream is the hub's source: it keeps one StreamFrames call open to the
// camera's capture and publishes every frame until ctx ends. When the call
// ends or the capture goes away it reconnects with backoff and jitter,
// following the camera if it moves to another capture.
func (p *Pool) Stream(ctx context.Context, cameraID string, publish func(*hub.Frame)) {
	log := p.log.With("camera", cameraID)
	delay := retryDelay{min: 100 * time.Millisecond, max: 3 * time.Second}
	down := false // a call ended: log the retries quietly until frames flow again
	for {
		_, c := p.lookup(cameraID)
		if c != nil {
			first := func() {
				if down {
					log.Info("upstream resumed", "capture", c.addr)
				}
			}
			frames, err := p.streamOnce(ctx, c, cameraID, publish, first)
			if ctx.Err() != nil {
				return
			}
			msg := status.Convert(err).Message()
			switch {
			case frames > 0 || !down:
				log.Warn("upstream ended, reconnecting", "capture", c.addr, "frames", frames, "err", msg)
			default:
				log.Debug("upstream still down", "capture", c.addr, "err", msg)
			}
			if frames > 0 {
				delay.reset()
			}
			down = true
			if status.Code(err) == codes.NotFound {
				p.refreshIfOld(ctx)
			}
		} else {
			p.refreshIfOld(ctx)
		}
		wait := delay.next()
		if c != nil && reconnected(ctx, c.conn, 5*time.Second) {
			// The capture is back: its viewers resume at once, spread
			// over a moment so many cameras do not ask in the same instant.
			wait = rand.N(100 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// reconnected reports whether conn was down and came back within limit:
// it waits while the connection is down (gRPC redials it about every
// second), so a call is retried as soon as its capture returns rather than
// after a backoff delay.
func reconnected(ctx context.Context, conn *grpc.ClientConn, limit time.Duration) bool {
	s := conn.GetState()
	if s == connectivity.Ready || s == connectivity.Shutdown {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for s != connectivity.Ready {
		if s == connectivity.Shutdown {
			return false
		}
		if s == connectivity.Idle {
			conn.Connect()
		}
		if !conn.WaitForStateChange(ctx, s) {
			return false
		}
		s = conn.GetState()
	}
	return true
}

// streamOnce runs one StreamFrames call, calling first at its first frame.
func (p *Pool) streamOnce(ctx context.Context, c *client, cameraID string, publish func(*hub.Frame), first func()) (frames int, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: cameraID})
	if err != nil {
		return 0, err
	}
	upstreams := p.cfg.Metrics.Upstreams.WithLabelValues(cameraID)
	upstreams.Inc()
	defer upstreams.Dec()
	for {
		resp, err := stream.Recv()
		if err != nil {
			return frames, err
		}
		f := resp.GetFrame()
		publish(hub.NewFrame(mjpeg.Frame{
			CameraID:   cameraID,
			Seq:        f.GetSeq(),
			CapturedAt: f.GetCapturedAt().AsTime(),
			JPEG:       f.GetJpeg(),
		}, int(f.GetWidth()), int(f.GetHeight())))
		if frames == 0 {
			first()
		}
		frames++
	}
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

// retryDelay is exponential backoff with jitter.
type retryDelay struct {
	min, max time.Duration
	cur      time.Duration
}

func (d *retryDelay) next() time.Duration {
	switch {
	case d.cur == 0:
		d.cur = d.min
	case d.cur < d.max:
		d.cur = min(2*d.cur, d.max)
	}
	// Between half and all of the current delay, so viewers of many
	// cameras do not reconnect in lockstep.
	return d.cur/2 + rand.N(d.cur/2+1)
}

func (d *retryDelay) reset() { d.cur = 0 }
