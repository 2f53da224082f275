package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/camstream/camstream/services/edge/internal/catalog"
	"github.com/camstream/camstream/services/edge/internal/viewer"
	"github.com/camstream/camstream/services/edge/mjpeg"
)

// maxStreamCameras caps the cameras of one multiplexed stream.
const maxStreamCameras = 64

// cameraStream serves /cameras/:id/stream.mjpeg[?fps=N].
func (s *Server) cameraStream(c *gin.Context) {
	s.streamCamera(c, func() (string, bool) { return c.Param("id"), true })
}

// seedStream serves the seed's /video_feed[?no=N]: the stream of the N-th
// camera (1-based, default 1).
func (s *Server) seedStream(c *gin.Context) {
	s.streamCamera(c, func() (string, bool) { return s.seedCamera(c) })
}

// seedPage serves the seed's /cam[?no=N], which showed the N-th camera: a
// redirect to that camera's page, the token carried on.
func (s *Server) seedPage(c *gin.Context) {
	id, ok := s.seedCamera(c)
	if !ok {
		return
	}
	// Under the base path: http.Redirect would resolve a relative one
	// against the path the edge got, which a proxy may have shortened.
	c.Redirect(http.StatusFound, s.newPage(c, "").Link("/cameras/"+url.PathEscape(id)))
}

// seedCamera is the camera ?no=N names: the N-th (1-based, default 1). It
// answers the request itself when there is none.
func (s *Server) seedCamera(c *gin.Context) (string, bool) {
	n := 1
	if v, set := c.GetQuery("no"); set {
		var err error
		n, err = strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(c, http.StatusBadRequest, fmt.Sprintf("no=%q is not a camera number: use 1 for the first camera.", v))
			return "", false
		}
	}
	cams, err := s.cameras(c)
	if err != nil {
		s.failCamera(c, "", err)
		return "", false
	}
	if n > len(cams) {
		s.fail(c, http.StatusNotFound, fmt.Sprintf("There is no camera number %d: this camstream has %d.", n, len(cams)))
		return "", false
	}
	return cams[n-1].GetId(), true
}

// streamCamera streams the camera that pick names (pick answers the
// request itself when it names none), after checking ?fps and that the
// camera's capture answers.
func (s *Server) streamCamera(c *gin.Context, pick func() (string, bool)) {
	fps, ok := s.fpsParam(c)
	if !ok {
		return
	}
	width, ok := s.widthParam(c)
	if !ok {
		return
	}
	id, ok := pick()
	if !ok || s.hidden(c, id) {
		return
	}
	if _, err := s.catalog.Camera(c.Request.Context(), id); err != nil {
		s.failCamera(c, id, err)
		return
	}
	s.serveStream(c, s.feedKeys([]string{id}, width), fps)
}

// multiStream serves /streams.mjpeg?cameras=a,b,c[&fps=N]: one stream with
// the frames of several cameras, each part naming its camera in
// X-Camera-Id. The pages use it so that any number of live tiles need one
// connection, not one each (browsers open at most six per host).
func (s *Server) multiStream(c *gin.Context) {
	fps, ok := s.fpsParam(c)
	if !ok {
		return
	}
	width, ok := s.widthParam(c)
	if !ok {
		return
	}
	var ids []string
	if v := c.Query("cameras"); v != "" {
		ids = strings.Split(v, ",")
	} else {
		cams, err := s.cameras(c)
		if err != nil {
			s.failCamera(c, "", err)
			return
		}
		for _, cam := range cams {
			ids = append(ids, cam.GetId())
		}
	}
	if len(ids) == 0 || len(ids) > maxStreamCameras {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("A stream carries 1 to %d cameras, not %d.", maxStreamCameras, len(ids)))
		return
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			s.fail(c, http.StatusBadRequest, fmt.Sprintf("Camera %q is listed twice.", id))
			return
		}
		seen[id] = true
		if s.hidden(c, id) {
			return
		}
		if _, err := s.catalog.Camera(c.Request.Context(), id); err != nil && !errors.Is(err, catalog.ErrUnavailable) {
			s.failCamera(c, id, err)
			return
		}
	}
	s.serveStream(c, s.feedKeys(ids, width), fps)
}

// fpsParam parses ?fps=N, writing a 400 page when it is bad. 0 means no cap.
func (s *Server) fpsParam(c *gin.Context) (float64, bool) {
	v, set := c.GetQuery("fps")
	if !set {
		return 0, true
	}
	fps, err := strconv.ParseFloat(v, 64)
	if err != nil || fps <= 0 || math.IsInf(fps, 0) || math.IsNaN(fps) {
		s.fail(c, http.StatusBadRequest, fmt.Sprintf("fps=%q is not a frame rate: use a number above 0, like fps=5.", v))
		return 0, false
	}
	return fps, true
}

// serveStream streams the frames of the feeds keys (cameras at a size) to
// the client until it leaves, a write times out, or the server drains.
func (s *Server) serveStream(c *gin.Context, keys []string, fps float64) {
	if !s.beginStream() {
		s.fail(c, http.StatusServiceUnavailable, "This edge is shutting down; reconnect to reach another.")
		return
	}
	defer s.streams.Done()
	if n := s.viewers.Add(1); s.cfg.MaxViewers > 0 && n > int64(s.cfg.MaxViewers) {
		s.viewers.Add(-1)
		s.fail(c, http.StatusServiceUnavailable, fmt.Sprintf("This edge already serves its maximum of %d viewers; try again later.", s.cfg.MaxViewers))
		return
	}
	defer s.viewers.Add(-1)

	session, err := viewer.Subscribe(s.hub, s.metrics, keys, fps)
	if err != nil {
		s.fail(c, http.StatusServiceUnavailable, "This edge is shutting down; reconnect to reach another.")
		return
	}
	defer session.Close()
	c.Status(http.StatusOK) // for the access log; the stream writes the response
	out, err := mjpeg.Open(s.streamCtx, c.Writer, c.Request, s.cfg.WriteTimeout)
	if err != nil {
		s.log.Debug("open stream", "path", c.Request.URL.Path, "err", err)
		return
	}
	defer out.Close()
	err = session.Serve(out)
	s.log.Debug("stream ended", "path", c.Request.URL.Path, "err", err)
}
