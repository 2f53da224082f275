package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/encoding/protojson"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/catalog"
	"github.com/camstream/camstream/services/edge/internal/size"
	"github.com/camstream/camstream/services/edge/mjpeg"
)

func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template)
	for _, name := range []string{"list", "grid", "camera", "status", "error"} {
		t, err := template.ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the active navigation entry: "list", "grid" or "status"
	token   string
	version string
	base    string // the base path, prepended to absolute links

	Cameras []cameraView
	Camera  cameraView
	// Stream is the multiplexed stream feeding the page's live tiles.
	Stream string
	// API is the camera list the page polls for states.
	API string

	Status  int
	Message string
}

// Link is path under the base path (when absolute), with the auth token
// carried on when the page got it as ?token=, so the images and links of
// the page work too.
func (p page) Link(path string) string {
	if strings.HasPrefix(path, "/") {
		path = p.base + path
	}
	if p.token == "" {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "token=" + url.QueryEscape(p.token)
}

// Asset is the URL of a static file, versioned so browsers can cache it.
func (p page) Asset(name string) string { return p.base + "/static/" + name + "?v=" + p.version }

// cameraView is a camera as the pages show it.
type cameraView struct {
	ID, Name  string
	State     string // streaming, starting, reconnecting, failed, idle, offline
	FPS       string
	Size      string
	LastError string
	Sub       string // the sub-stream's state and size, empty without one
	Viewers   int32
	Path      string // /cameras/ID
	// PassThrough: the frames are the camera's own JPEG, not re-encoded.
	PassThrough bool
}

func viewOf(c *camstreamv1.Camera) cameraView {
	v := cameraView{
		ID:          c.GetId(),
		Name:        c.GetName(),
		State:       stateName(c.GetState()),
		LastError:   c.GetLastError(),
		Sub:         subText(c.GetSubStream()),
		Viewers:     c.GetSubscribers(),
		PassThrough: c.GetPassthrough(),
		Path:        "/cameras/" + url.PathEscape(c.GetId()),
	}
	if v.Name == "" {
		v.Name = v.ID
	}
	if c.GetState() == camstreamv1.CameraState_CAMERA_STATE_STREAMING {
		v.FPS = strconv.FormatFloat(c.GetFps(), 'f', 1, 64) + " fps"
	}
	if c.GetWidth() > 0 {
		v.Size = fmt.Sprintf("%d×%d", c.GetWidth(), c.GetHeight())
	}
	return v
}

// subText is a camera's sub-stream as the pages show it ("sub-stream
// streaming 640×360"), empty when the camera has none. live.js writes
// the same text when it polls.
func subText(sub *camstreamv1.SubStream) string {
	if sub == nil {
		return ""
	}
	t := "sub-stream " + stateName(sub.GetState())
	if sub.GetWidth() > 0 {
		t += fmt.Sprintf(" %d×%d", sub.GetWidth(), sub.GetHeight())
	}
	return t
}

// stateName is the lower-case state; a camera whose capture does not
// answer has no state and is shown as offline.
func stateName(s camstreamv1.CameraState) string {
	if s == camstreamv1.CameraState_CAMERA_STATE_UNSPECIFIED {
		return "offline"
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "CAMERA_STATE_"))
}

func (s *Server) newPage(c *gin.Context, title string) page {
	p := page{Title: title, version: s.version, base: s.cfg.BasePath}
	if s.authOn() {
		p.token = c.Query("token")
	}
	return p
}

func (s *Server) render(c *gin.Context, status int, name string, p page) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		c.String(http.StatusInternalServerError, "Something went wrong on our side.\n")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// streamURL is the multiplexed stream of cams at fps (0: every frame).
func streamURL(p page, cams []cameraView, fps float64) string {
	ids := make([]string, len(cams))
	for i, c := range cams {
		ids[i] = url.QueryEscape(c.ID)
	}
	u := "/streams.mjpeg?cameras=" + strings.Join(ids, ",")
	if fps > 0 {
		u += "&fps=" + strconv.FormatFloat(fps, 'f', -1, 64)
	}
	return p.Link(u)
}

// livePage renders a page of every camera with live pictures at fps, all
// on one multiplexed stream (of the first maxStreamCameras cameras).
func (s *Server) livePage(c *gin.Context, name, title string, fps float64) {
	cams, err := s.cameras(c)
	if err != nil {
		s.failCamera(c, "", err)
		return
	}
	p := s.newPage(c, title)
	p.Nav = name
	p.API = p.Link("/api/cameras")
	for _, cam := range cams {
		p.Cameras = append(p.Cameras, viewOf(cam))
	}
	if live := p.Cameras[:min(len(p.Cameras), maxStreamCameras)]; len(live) > 0 {
		p.Stream = streamURL(p, live, fps)
	}
	s.render(c, http.StatusOK, name, p)
}

func (s *Server) listPage(c *gin.Context) {
	s.livePage(c, "list", "Cameras", s.cfg.ListFPS)
}

func (s *Server) gridPage(c *gin.Context) {
	fps, ok := s.fpsParam(c)
	if !ok {
		return
	}
	if fps == 0 {
		fps = s.cfg.GridFPS
	}
	s.livePage(c, "grid", "All cameras", fps)
}

func (s *Server) cameraPage(c *gin.Context) {
	id := c.Param("id")
	if s.hidden(c, id) {
		return
	}
	cam, err := s.catalog.Camera(c.Request.Context(), id)
	if cam == nil {
		s.failCamera(c, id, err)
		return
	}
	// A camera whose capture is away still gets its page: its state says
	// so and the stream resumes when the capture is back.
	v := viewOf(cam)
	p := s.newPage(c, v.Name)
	p.API = p.Link("/api/cameras")
	p.Camera = v
	// Through the page's script, like the tiles: it reconnects by itself
	// and shows when frames stop. Without scripts, the plain stream.
	p.Stream = streamURL(p, []cameraView{v}, 0)
	s.render(c, http.StatusOK, "camera", p)
}

func (s *Server) apiCameras(c *gin.Context) {
	cams, err := s.cameras(c)
	if err != nil {
		s.failCamera(c, "", err)
		return
	}
	b, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(&camstreamv1.ListCamerasResponse{Cameras: cams})
	s.sendJSON(c, "cameras", b, err)
}

// sendJSON answers an API request with the JSON b, never cached, or with
// a 500 when marshalling what it names failed.
func (s *Server) sendJSON(c *gin.Context, what string, b []byte, err error) {
	if err != nil {
		s.log.Error("marshal "+what, "err", err)
		s.fail(c, http.StatusInternalServerError, "Something went wrong on our side.")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json", b)
}

// snapshot serves the newest frame: the one this edge already has when the
// camera has viewers here, otherwise one from the capture.
func (s *Server) snapshot(c *gin.Context) {
	id := c.Param("id")
	if s.hidden(c, id) {
		return
	}
	width, ok := s.widthParam(c)
	if !ok {
		return
	}
	key := s.feedKeys([]string{id}, width)[0]
	if fr := s.hub.Latest(key); fr != nil {
		writeJPEG(c, fr.JPEG, fr.Seq, mjpeg.AppendTimestamp(nil, fr.CapturedAt))
		return
	}
	_, w := size.SplitKey(key)
	f, err := s.catalog.Snapshot(c.Request.Context(), id, w)
	if err != nil {
		s.failCamera(c, id, err)
		return
	}
	writeJPEG(c, f.GetJpeg(), f.GetSeq(), mjpeg.AppendTimestamp(nil, f.GetCapturedAt().AsTime()))
}

func writeJPEG(c *gin.Context, jpeg []byte, seq uint64, timestamp []byte) {
	c.Header("Cache-Control", "no-store")
	c.Header("X-Timestamp", string(timestamp))
	c.Header("X-Frame-Seq", strconv.FormatUint(seq, 10))
	c.Data(http.StatusOK, "image/jpeg", jpeg)
}

// failCamera answers a catalog error: 404 for an unknown camera, 503 when
// its capture does not answer or it has no picture (saying why).
func (s *Server) failCamera(c *gin.Context, id string, err error) {
	var noFrame *catalog.NoFrameError
	switch {
	case errors.As(err, &noFrame):
		msg := fmt.Sprintf("Camera %q has no picture right now: it is %s.", id, stateName(noFrame.State))
		if noFrame.LastError != "" {
			msg += " Last error: " + noFrame.LastError + "."
		}
		s.fail(c, http.StatusServiceUnavailable, msg+" Try again in a moment.")
	case errors.Is(err, catalog.ErrNotFound):
		s.fail(c, http.StatusNotFound, fmt.Sprintf("There is no camera %q.", id))
	case errors.Is(err, catalog.ErrUnavailable) && id == "":
		s.fail(c, http.StatusServiceUnavailable, "No capture service is answering right now. This page works again as soon as one does.")
	case errors.Is(err, catalog.ErrUnavailable):
		s.fail(c, http.StatusServiceUnavailable, fmt.Sprintf("The capture service of camera %q is not answering right now. Try again in a moment.", id))
	default:
		s.log.Error("camera lookup", "camera", id, "err", err)
		s.fail(c, http.StatusInternalServerError, "Something went wrong on our side.")
	}
}

// fail answers an error: JSON under /api/, a readable page elsewhere.
func (s *Server) fail(c *gin.Context, status int, message string) {
	c.Abort()
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		c.JSON(status, gin.H{"error": message})
		return
	}
	p := s.newPage(c, http.StatusText(status))
	if status == http.StatusUnauthorized {
		p.token = "" // a wrong token is not carried on
	}
	p.Status = status
	p.Message = message
	s.render(c, status, "error", p)
}
