package web

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/status"
)

// statusJSON is /api/status: this edge, its captures and every camera,
// each with the last minutes at one-second resolution.
type statusJSON struct {
	Time     time.Time      `json:"time"`
	Edge     edgeJSON       `json:"edge"`
	Captures []captureJSON  `json:"captures"`
	Cameras  []cameraStatus `json:"cameras"`
}

type edgeJSON struct {
	Viewers    int64 `json:"viewers"`
	MaxViewers int   `json:"max_viewers"`
}

type captureJSON struct {
	Address string `json:"address"`
	State   string `json:"state"` // up, down, or unknown before the first poll
	Cameras int    `json:"cameras"`
}

type cameraStatus struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	State          string `json:"state"`
	FPS            num    `json:"fps"`
	Width          int32  `json:"width"`
	Height         int32  `json:"height"`
	Viewers        num    `json:"viewers"`
	BytesPerSecond num    `json:"bytes_per_second"`
	LatencyP50MS   num    `json:"latency_p50_ms"`
	LatencyP99MS   num    `json:"latency_p99_ms"`
	Reconnects     uint64 `json:"reconnects"`
	LastError      string `json:"last_error"`
	OnDemand       bool   `json:"on_demand"`
	// PassThrough: the frames are the camera's own JPEG bytes, which
	// capture forwards undecoded.
	PassThrough bool `json:"passthrough"`
	// Sizes are the smaller sizes capture encodes now besides the full
	// one, narrowest first (see ?width=).
	Sizes []sizeJSON `json:"sizes"`
	// SubStream is the camera's sub_source stream, null without one.
	SubStream *subStreamJSON `json:"sub_stream"`
	History   *historyJSON   `json:"history,omitempty"`
}

type subStreamJSON struct {
	State     string `json:"state"`
	Width     int32  `json:"width"`
	Height    int32  `json:"height"`
	LastError string `json:"last_error"`
}

type sizeJSON struct {
	Width       int32 `json:"width"`
	Height      int32 `json:"height"`
	Subscribers int32 `json:"subscribers"`
}

// historyJSON is a camera's samples as columns, oldest first, the shape
// the page's charts take.
type historyJSON struct {
	Time           []int64 `json:"t"`
	FPS            []num   `json:"fps"`
	Viewers        []num   `json:"viewers"`
	BytesPerSecond []num   `json:"bytes_per_second"`
	LatencyP50MS   []num   `json:"latency_p50_ms"`
	LatencyP99MS   []num   `json:"latency_p99_ms"`
}

// num is a figure in JSON: two decimals, null when unknown (NaN).
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, math.Round(f*100)/100, 'f', -1, 64), nil
}

func (s *Server) statusPage(c *gin.Context) {
	p := s.newPage(c, "Status")
	p.Nav = "status"
	p.API = p.Link("/api/status")
	s.render(c, http.StatusOK, "status", p)
}

// apiStatus answers /api/status; ?history=0 leaves the samples out.
func (s *Server) apiStatus(c *gin.Context) {
	cams, err := s.cameras(c)
	if err != nil {
		s.failCamera(c, "", err)
		return
	}
	withHistory := c.Query("history") != "0"
	out := statusJSON{
		Time:     time.Now().UTC(),
		Edge:     edgeJSON{Viewers: s.viewers.Load(), MaxViewers: s.cfg.MaxViewers},
		Captures: []captureJSON{},
		Cameras:  make([]cameraStatus, 0, len(cams)),
	}
	// The captures (their addresses and camera counts) only to a token
	// that sees every camera.
	for _, cp := range s.captures(c) {
		state := "unknown"
		switch {
		case cp.Up:
			state = "up"
		case cp.Polled:
			state = "down"
		}
		out.Captures = append(out.Captures, captureJSON{Address: cp.Address, State: state, Cameras: cp.Cameras})
	}
	for _, cam := range cams {
		out.Cameras = append(out.Cameras, s.cameraStatus(cam, withHistory))
	}
	b, err := json.Marshal(out)
	s.sendJSON(c, "status", b, err)
}

func (s *Server) cameraStatus(cam *camstreamv1.Camera, withHistory bool) cameraStatus {
	v := viewOf(cam)
	cs := cameraStatus{
		ID: v.ID, Name: v.Name, State: v.State, FPS: num(cam.GetFps()),
		Width: cam.GetWidth(), Height: cam.GetHeight(),
		Reconnects: cam.GetReconnects(), LastError: v.LastError, OnDemand: cam.GetOnDemand(),
		PassThrough:  cam.GetPassthrough(),
		LatencyP50MS: num(math.NaN()), LatencyP99MS: num(math.NaN()),
		Sizes: []sizeJSON{},
	}
	if sub := cam.GetSubStream(); sub != nil {
		cs.SubStream = &subStreamJSON{State: stateName(sub.GetState()), Width: sub.GetWidth(),
			Height: sub.GetHeight(), LastError: sub.GetLastError()}
	}
	for _, sz := range cam.GetSizes() {
		cs.Sizes = append(cs.Sizes, sizeJSON{Width: sz.GetWidth(), Height: sz.GetHeight(), Subscribers: sz.GetSubscribers()})
	}
	if s.cfg.Status == nil {
		return cs
	}
	hist := s.cfg.Status.History(cam.GetId())
	if n := len(hist); n > 0 {
		last := hist[n-1]
		cs.Viewers, cs.BytesPerSecond = num(last.Viewers), num(last.BytesPerSec)
		cs.LatencyP50MS, cs.LatencyP99MS = num(last.P50), num(last.P99)
	}
	if withHistory {
		cs.History = columns(hist)
	}
	return cs
}

func columns(hist []status.Sample) *historyJSON {
	h := &historyJSON{
		Time: make([]int64, len(hist)), FPS: make([]num, len(hist)), Viewers: make([]num, len(hist)),
		BytesPerSecond: make([]num, len(hist)), LatencyP50MS: make([]num, len(hist)), LatencyP99MS: make([]num, len(hist)),
	}
	for i, x := range hist {
		h.Time[i] = x.Time.Unix()
		h.FPS[i], h.Viewers[i], h.BytesPerSecond[i] = num(x.FPS), num(x.Viewers), num(x.BytesPerSec)
		h.LatencyP50MS[i], h.LatencyP99MS[i] = num(x.P50), num(x.P99)
	}
	return h
}
